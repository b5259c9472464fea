"""NexusWriter: the document router that writes each run's raw NeXus file as the run goes.

Subscribe it to a RunEngine (``RE.subscribe(NexusWriter(on_file=...))``) or
replay stored documents into it. Runs whose start document has ``hdf5_path``
and ``hdf5_file`` are written by plan name: ``SAXS``/``WAXS`` -> NXsas,
``Flyscan`` -> the facility fly-scan layout, ``uascan`` -> the step-scan
layout (docs/files.md). Other runs are ignored.

The file is created exclusively under a hidden partial name in ``hdf5_path``
and appears under its final name when the stop document arrives (also for
failed or aborted runs, with ``/entry/exit_status``). If the planned name is
taken by then, the next free number is used and recorded in the file. If the
stop document never arrives (the process dies), the partial file stays,
holding every row flushed: the rows reach the disk (HDF5 flush) at least
every ``flush_rows`` rows or ``flush_seconds`` seconds. Documents out of order
(an event before its descriptor, anything after the stop) raise ValueError.

A run whose writing failed (OSError or h5py's RuntimeError, e.g. ``ENOSPC``:
disk full) raises once and then ignores its documents up to the stop, where
what was written is closed and kept visible as ``<name>.incomplete.h5``
(reported through ``on_file`` like a complete file), never under the final
name. So that HDF5 can still close a file on a full disk (and the process
does not crash at exit), each run reserves ``RESERVE_BYTES`` beside its file
(``.<name>.reserve``), released when the run ends or its writing fails.
"""

from __future__ import annotations

import gc
import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import h5py
from event_model import DocumentRouter, RunRouter

from ..contract.files import DATA_SUFFIXES, ExclusiveFile, open_next_data_file, safe_name
from ..contract.names import (
    HDF5_FILE,
    HDF5_PATH,
    PLAN_FLY,
    PLAN_NAME,
    PLAN_SAXS,
    PLAN_STEP,
    PLAN_WAXS,
    TITLE,
)
from ..contract.publish import publish
from .nexus_file import RunFile, to_json
from .nxsas_layout import NXsasFile, WAXSFile
from .usaxs_layout import FlyScanFile, StepScanFile

FileCallback = Callable[[str, Path, str], None]

#: plan name -> file layout
LAYOUTS: dict[str, type[RunFile]] = {
    PLAN_SAXS: NXsasFile,
    PLAN_WAXS: WAXSFile,
    PLAN_FLY: FlyScanFile,
    PLAN_STEP: StepScanFile,
}
INCOMPLETE = ".incomplete"
#: rows of a stream written at most this many rows / seconds before they reach the disk
FLUSH_ROWS = 16
FLUSH_SECONDS = 1.0
#: space held beside a file while it is written, freed for HDF5 to close it on a full disk
RESERVE_BYTES = 2 << 20
_NUMBERED = re.compile(
    rf"^(?P<stem>.+)_\d{{4,}}(?P<suffix>{'|'.join(re.escape(x) for x in DATA_SUFFIXES)})$"
)


def planned_path(start: Mapping[str, Any]) -> Path:
    """Return ``hdf5_path/hdf5_file`` of a start document; ValueError if it is not safe.

    The folder must be absolute without ``..``; the file a plain safe name
    ending ``.h5`` or ``.hdf`` (as ``contract.files`` makes them).
    """
    folder, name = Path(str(start[HDF5_PATH])), str(start[HDF5_FILE])
    if not folder.is_absolute() or ".." in folder.parts:
        raise ValueError(f"hdf5_path {str(folder)!r} must be an absolute path without '..'")
    ends = " or ".join(DATA_SUFFIXES)
    if not name.endswith(DATA_SUFFIXES) or len(name) > 255 or safe_name(name, len(name)) != name:
        raise ValueError(f"hdf5_file {name!r} is not a safe file name ending {ends}")
    return folder / name


def free_name(path: Path) -> Path:
    """Return ``path``, or ``<stem>_2``, ``_3``... of it: the first name not taken."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}_{number}{path.suffix}")
    return candidate


def open_output(final: Path, start: Mapping[str, Any]) -> ExclusiveFile:
    """Open the partial file of ``final``, or of the next free number if it is taken."""
    output = ExclusiveFile(final)
    try:
        output.open()
    except FileExistsError:
        match = _NUMBERED.match(final.name)
        stem = match.group("stem") if match else str(start.get(TITLE) or final.stem)
        output = open_next_data_file(final.parent, stem, suffix=final.suffix)
    return output


class RunWriter(DocumentRouter):
    """Writes the documents of one run into a :class:`RunFile` of class ``layout``."""

    def __init__(
        self,
        layout: type[RunFile],
        on_file: FileCallback | None = None,
        *,
        flush_rows: int = FLUSH_ROWS,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        super().__init__()
        if not flush_rows >= 1 or not 0 < flush_seconds < float("inf"):
            raise ValueError(
                f"flush_rows must be >= 1 and flush_seconds finite > 0,"
                f" got {flush_rows!r}, {flush_seconds!r}"
            )
        self.layout = layout
        self.on_file = on_file
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.output: ExclusiveFile | None = None
        self.file: RunFile | None = None
        self.path: Path | None = None
        self.failed: BaseException | None = None
        self.reserve: Path | None = None
        self._unflushed = 0
        self._flushed_at = time.monotonic()

    def __call__(self, name: str, doc: dict, validate: bool = False) -> Any:
        """Route one document; after a failure only the stop is handled (to keep the data)."""
        if self.failed is not None:
            if name == "stop":
                self._keep_incomplete(doc)
            return None
        try:
            return super().__call__(name, doc, validate)
        except (OSError, RuntimeError) as exc:  # the disk failed (h5py raises either)
            self.failed = exc  # documents out of order (ValueError) only raise
            self._release_reserve()
            raise

    def _hold_reserve(self, final: Path) -> None:
        """Allocate :data:`RESERVE_BYTES` in ``.<name>.reserve`` beside ``final``."""
        self.reserve = final.with_name(f".{final.name}.reserve")
        fd = os.open(self.reserve, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        finally:
            os.close(fd)

    def _release_reserve(self) -> None:
        if self.reserve is not None:
            self.reserve.unlink(missing_ok=True)
            self.reserve = None

    def _rows_added(self, count: int) -> None:
        """Flush the streams to the disk when enough rows or time have gone by."""
        self._unflushed += count
        now = time.monotonic()
        if self._unflushed >= self.flush_rows or now - self._flushed_at >= self.flush_seconds:
            assert self.file is not None
            for stream in self.file.streams.values():
                stream.columns.flush()
            self.file.h5.flush()
            self._unflushed, self._flushed_at = 0, now

    def _keep_incomplete(self, stop: dict) -> None:
        """Close what was written after a failure; keep it as ``<name>.incomplete<suffix>``."""
        if self.file is None or self.output is None or self.output.temp_path is None:
            return
        try:
            if not self.file.closed:
                self.file.close(stop)
        except Exception as exc:  # noqa: BLE001 - the file is kept whatever its state
            close_error: BaseException | None = exc
        else:
            close_error = None
        # Release every HDF5 object of the failed file now, while the library is whole:
        # left to the garbage collection at exit they crash the process.
        self.file = None
        gc.collect()
        final = self.output.final_path
        kept = free_name(final.with_name(f"{final.stem}{INCOMPLETE}{final.suffix}"))
        try:
            publish(self.output.temp_path, kept)
        except OSError:  # even a name cannot be added: the partial name is the one recorded
            kept = self.output.temp_path
        self.output.state = "committed"
        self.path = kept
        if self.on_file is not None:
            self.on_file(stop["run_start"], kept, "raw")
        raise OSError(
            f"run {stop['run_start']} ended after a write failure ({self.failed});"
            f" what was written is kept in {kept}"
            + (f" (closing it failed too: {close_error})" if close_error else "")
        )

    def _open_file(self, name: str) -> RunFile:
        if self.file is None:
            raise ValueError(f"{name} document before the start document")
        if self.file.closed:
            raise ValueError(f"{name} document after the stop document")
        return self.file

    def start(self, doc: dict) -> None:
        if self.file is not None:
            raise ValueError("a second start document for one run writer")
        self.output = open_output(planned_path(doc), doc)
        assert self.output.temp_path is not None
        try:
            self._hold_reserve(self.output.final_path)
            # v108: 1.8 object headers and link storage (faster to write, read by HDF5 >= 1.8)
            h5 = h5py.File(self.output.temp_path, "w", libver="v108")
            self.file = self.layout(h5, doc, str(self.output.final_path))
        except Exception:
            self._release_reserve()
            self.output.discard()
            raise

    def descriptor(self, doc: dict) -> None:
        self._open_file("descriptor").add_stream(
            doc["uid"], doc["name"], doc["data_keys"], doc.get("configuration", {}), descriptor=doc
        )

    def event_page(self, doc: dict) -> None:
        self._open_file("event_page").add_rows(doc["descriptor"], doc["data"], doc["time"])
        self._rows_added(len(doc["time"]))

    def event(self, doc: dict) -> None:
        data = {key: [value] for key, value in doc["data"].items()}
        self._open_file("event").add_rows(doc["descriptor"], data, [doc["time"]])
        self._rows_added(1)

    def resource(self, doc: dict) -> None:
        path = os.path.join(doc.get("root", ""), doc["resource_path"])
        self._open_file("resource").add_resource(
            doc["uid"], doc["spec"], path, doc.get("resource_kwargs", {})
        )

    def datum(self, doc: dict) -> None:
        row = {"datum_id": doc["datum_id"], "datum_kwargs": to_json(doc.get("datum_kwargs", {}))}
        self._open_file("datum").add_datum(doc["resource"], row)

    def datum_page(self, doc: dict) -> None:
        for index, datum_id in enumerate(doc["datum_id"]):
            kwargs = {key: values[index] for key, values in doc["datum_kwargs"].items()}
            self.datum({"resource": doc["resource"], "datum_id": datum_id, "datum_kwargs": kwargs})

    def stream_resource(self, doc: dict) -> None:
        uri = str(doc["uri"])
        path = uri.removeprefix("file://localhost").removeprefix("file://")
        file = self._open_file("stream_resource")
        file.add_resource(doc["uid"], doc.get("mimetype", ""), path, doc.get("parameters", {}))
        file.bluesky["external"][doc["uid"]].attrs["data_key"] = doc.get("data_key", "")

    def stream_datum(self, doc: dict) -> None:
        row = {
            "uid": doc["uid"],
            "descriptor": doc["descriptor"],
            "seq_num_start": doc["seq_nums"]["start"],
            "seq_num_stop": doc["seq_nums"]["stop"],
            "index_start": doc["indices"]["start"],
            "index_stop": doc["indices"]["stop"],
        }
        self._open_file("stream_datum").add_datum(doc["stream_resource"], row)

    def stop(self, doc: dict) -> None:
        file = self._open_file("stop")
        assert self.output is not None
        file.close(doc)
        self._release_reserve()
        self.path = self.output.commit()
        if self.on_file is not None:
            self.on_file(doc["run_start"], self.path, "raw")


class _Unfilled(DocumentRouter):
    """The RunRouter's filler, filling nothing: external data are recorded as datum ids.

    (event_model's Filler would unpack and repack every event page.)
    """

    def __init__(self, handler_registry: Any, *, root_map: Any = None, inplace: bool = False):
        super().__init__()

    def event_page(self, doc: dict) -> dict:
        return doc


class NexusWriter:
    """Callable ``(name, doc)``: one :class:`RunWriter` per run with a data file.

    ``on_file(uid, path, kind)`` is called with ``kind="raw"`` after a file is
    committed under its final name (or kept as incomplete after a failure).
    ``layouts`` maps plan names to file layouts; ``flush_rows`` and
    ``flush_seconds`` bound what a crash can lose.
    """

    def __init__(
        self,
        on_file: FileCallback | None = None,
        layouts: Mapping[str, type[RunFile]] = LAYOUTS,
        *,
        flush_rows: int = FLUSH_ROWS,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self.on_file = on_file
        self.layouts = dict(layouts)
        self.flush = {"flush_rows": flush_rows, "flush_seconds": flush_seconds}
        self.router = RunRouter([self._factory], filler_class=_Unfilled)

    def _factory(self, name: str, start: dict) -> tuple[list[RunWriter], list]:
        layout = self.layouts.get(str(start.get(PLAN_NAME)))
        if layout is None or not start.get(HDF5_PATH) or not start.get(HDF5_FILE):
            return [], []
        return [RunWriter(layout, self.on_file, **self.flush)], []

    def __call__(self, name: str, doc: dict) -> None:
        self.router(name, doc)
