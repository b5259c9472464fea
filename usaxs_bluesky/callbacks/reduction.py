"""Live reduction: reduce each raw file once it is committed, in a background thread.

The NeXus writer calls ``on_file(uid, path, "raw")`` after it commits a run's
file; chain a :class:`LiveReducer` there. It picks the blank, reduces in a
worker thread (the RunEngine is never blocked; errors are logged, never
raised into it), writes ``reduced/<stem>.nxcansas.h5`` and ``<stem>.png``
beside the raw file and reports them through its own ``on_file``::

    reducer = LiveReducer(catalog=session.catalog, on_file=catalog_recorder)
    writer = NexusWriter(..., on_file=reducer)       # the writer's hook
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..contract.names import IS_BLANK, NEXUS_SUFFIXES, TITLE
from ..reduction import ReductionError, detect_kind
from ..reduction.areadetector import read_area_frame
from ..reduction.merge import merge_files, merged_name
from ..reduction.pipeline import reduce_file
from ..reduction.usaxs_raw import read_usaxs

__all__ = [
    "BLANK_WORDS",
    "MERGED_TECHNIQUES",
    "FileInfo",
    "LiveReducer",
    "file_info",
    "is_blank_name",
    "pick_blank",
    "reduced_partners",
]

log = logging.getLogger(__name__)

#: a sample name containing one of these (case-insensitive) marks a blank
BLANK_WORDS = ("blank", "air", "empty")
#: raw files looked at when a data folder is scanned for blanks
#: blank and sample wavelengths must agree to this relative tolerance
WAVELENGTH_TOLERANCE = 1e-3

#: a sample is merged once its reduced curves of all these techniques exist
MERGED_TECHNIQUES = ("USAXS", "SAXS", "WAXS")

OnFile = Callable[[str, Path, str], Any]


_OTHER_WORDS = [w for w in BLANK_WORDS if w != "blank"]
#: "blank" anywhere, as the facility's tools match titles ((?i)blank); "air" and "empty"
#: at a word start (any case) or as a capitalised CamelCase part ("HeaterAir")
_BLANK_RE = re.compile(
    r"(?i:blank)|(?<![A-Za-z])(?i:"
    + "|".join(_OTHER_WORDS)
    + ")|"
    + "|".join(f"{w.capitalize()}|{w.upper()}" for w in _OTHER_WORDS)
)


def is_blank_name(name: str) -> bool:
    """True when ``name`` marks a blank: "blank" anywhere (any case), "air"/"empty" not in a word.

    "Air_1", "AirBlank", "HeaterBlank_0060", "empty_cell", "my blank", "HeaterAir" are
    blanks; "hair", "repair", "FY1_1HF_1" are not.
    """
    return _BLANK_RE.search(name) is not None


@dataclass(frozen=True)
class FileInfo:
    """What blank selection needs to know about a raw file."""

    path: Path
    technique: str  # "usaxs", "saxs" or "waxs"
    sample_name: str
    wavelength: float  # angstrom
    measured: float  # file modification time (s since the epoch)
    is_blank: bool


def file_info(path: str | Path, start: Mapping[str, Any] | None = None) -> FileInfo:
    """Technique, sample name, wavelength and blank flag of a raw file.

    ``start`` (the run's start document, if known) can mark a blank with
    ``is_blank`` and supplies the title. Raises ReductionError for files
    that cannot be reduced.
    """
    path = Path(path)
    kind = detect_kind(path)
    technique = kind.split("-")[0]
    if technique == "usaxs":
        raw = read_usaxs(path)
        name, wavelength = raw.sample_name, raw.wavelength
    else:
        frame = read_area_frame(path)
        name, wavelength = frame.sample_name, frame.wavelength
    start = start or {}
    name = str(start.get(TITLE) or name)
    flag = bool(start.get(IS_BLANK, False)) or is_blank_name(name)
    return FileInfo(path, technique, name, float(wavelength), path.stat().st_mtime, flag)


def _technique_of(reduced: Path) -> str:
    import json

    import h5py

    with h5py.File(reduced, "r") as f:
        raw = f["sasentry01/sasprocess/sasnote/data"][()]
    return str(json.loads(raw.decode() if isinstance(raw, bytes) else raw).get("technique", ""))


def reduced_partners(raw: Path) -> dict[str, Path]:
    """Reduced NXcanSAS files of the same sample (same ``<name>_<NNNN>`` stem), by technique.

    Looked for in ``reduced/`` of the raw file's folder and of its sibling
    folders (the facility's ``MM_DD_user_usaxs`` / ``_saxs`` / ``_waxs``).
    """
    folder = raw.parent
    folders = [folder] + sorted(p for p in folder.parent.iterdir() if p.is_dir() and p != folder)
    found: dict[str, Path] = {}
    for d in folders:
        candidate = d / "reduced" / f"{raw.stem}.nxcansas.h5"
        if candidate.is_file():
            try:
                found.setdefault(_technique_of(candidate), candidate)
            except (OSError, KeyError, ValueError):
                continue
    return found


def pick_blank(info: FileInfo, blanks: list[FileInfo]) -> tuple[Path, str]:
    """The latest of ``blanks`` of the same technique and energy measured before ``info``.

    Returns (path, how it was chosen); ReductionError if none fits.
    """
    me = info.path.resolve()
    candidates = [
        b
        for b in blanks
        if b.path.resolve() != me
        and b.technique == info.technique
        and b.measured <= info.measured
        and abs(b.wavelength - info.wavelength) / info.wavelength <= WAVELENGTH_TOLERANCE
    ]
    if not candidates:
        raise ReductionError(
            f"{info.path}: no {info.technique} blank measured before it at "
            f"{info.wavelength:.5f} A (name with 'blank', 'air' or 'empty', or is_blank)"
        )
    best = max(candidates, key=lambda b: b.measured)
    return best.path, "latest blank of the same technique and energy measured before"


class LiveReducer:
    """Reduce committed raw files in a worker thread; call as ``reducer(uid, path, kind)``.

    Parameters
    ----------
    catalog
        Run catalog (Tiled client) to read a run's start document by uid
        (``title``, ``is_blank``); optional.
    blank
        Blank named for the session, per technique: ``{"usaxs": path,
        "saxs": path, "waxs": path}``; it wins over the automatic choice.
    on_file
        Called ``(uid, path, "reduced")`` for each NXcanSAS file and
        ``(uid, png, "plot")`` for each quick-look PNG written.
    data_dir
        Folder scanned (recursively) for blanks when the reducer starts;
        folders of notified files are scanned the first time they are seen.

    Blank choice (automatic): the latest raw file of the same technique whose
    sample name contains "blank", "air" or "empty" (or whose run has
    ``is_blank``), measured (file time) before the sample and at the same
    wavelength (0.1 %). Blank runs themselves are reduced without a blank
    (uncalibrated: USAXS R/R_peak, SAXS/WAXS I/I0) and join the blank index.
    A sample with no usable blank is not reduced; the reason is logged and
    kept in :attr:`errors`.
    """

    def __init__(
        self,
        catalog: Any = None,
        blank: Mapping[str, str | Path] | None = None,
        on_file: OnFile | None = None,
        *,
        data_dir: str | Path | None = None,
    ) -> None:
        self.catalog = catalog
        self.named_blanks = {k.lower(): Path(v) for k, v in (blank or {}).items()}
        self.on_file = on_file
        self.blanks: dict[Path, FileInfo] = {}
        self.errors: list[tuple[str, Path, str]] = []
        self._scanned: set[Path] = set()
        self._queue: queue.Queue[tuple[str, Path] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        if data_dir is not None:
            self.scan(data_dir)

    # ------------------------------------------------------------ blank index
    def scan(self, folder: str | Path) -> int:
        """Add every blank raw file under ``folder`` to the index; returns how many."""
        folder = Path(folder).resolve()
        self._scanned.add(folder)
        found = 0
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() not in NEXUS_SUFFIXES or "reduced" in path.parts:
                continue
            try:
                info = file_info(path)
            except (ReductionError, OSError):
                continue  # not a raw file we can reduce
            if info.is_blank:
                with self._lock:
                    self.blanks[info.path.resolve()] = info
                found += 1
        return found

    def choose_blank(self, info: FileInfo) -> tuple[Path, str]:
        """Blank file for ``info`` and how it was chosen; ReductionError if none fits."""
        named = self.named_blanks.get(info.technique)
        if named is not None:
            return named, f"named for the session ({info.technique})"
        with self._lock:
            blanks = list(self.blanks.values())
        return pick_blank(info, blanks)

    # ----------------------------------------------------------- the callback
    def __call__(self, uid: str, path: str | Path, kind: str) -> None:
        """Queue a committed raw file (``kind == "raw"``); other kinds are ignored."""
        if kind != "raw":
            return
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="LiveReducer", daemon=True)
            self._worker.start()
        self._queue.put((uid, Path(path)))

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued file is done; False if ``timeout`` (s) passed first."""
        done = self._queue.all_tasks_done
        with done:
            return done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout)

    def close(self) -> None:
        """Finish the queued files and stop the worker thread."""
        if self._worker is not None and self._worker.is_alive():
            self._queue.put(None)
            self._worker.join()
        self._worker = None

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self.reduce(*item)
            except ReductionError as exc:  # e.g. no blank yet: one line, no traceback
                uid, path = item
                log.error("live reduction of %s not done: %s", path.name, exc)
                self.errors.append((uid, path, str(exc)))
            except Exception as exc:  # noqa: BLE001 - never raise into the RunEngine
                uid, path = item
                log.exception("live reduction of %s (run %s) failed", path, uid)
                self.errors.append((uid, path, str(exc)))
            finally:
                self._queue.task_done()

    def _start_document(self, uid: str) -> Mapping[str, Any]:
        if self.catalog is None:
            return {}
        try:
            return self.catalog[uid].metadata.get("start", {})
        except KeyError:
            return {}

    def reduce(self, uid: str, path: Path) -> list[Path]:
        """Reduce one raw file now (in the calling thread); returns the files written."""
        folder = path.parent.resolve()
        if folder not in self._scanned:
            self.scan(folder)
        info = file_info(path, self._start_document(uid))
        if info.is_blank:
            with self._lock:
                self.blanks[info.path.resolve()] = info
            notes = {"blank_choice": "this run is a blank: reduced without a blank, uncalibrated"}
            written = reduce_file(path, require_blank=False, extra_notes=notes)
        else:
            blank, how = self.choose_blank(info)
            notes = {"blank_file": str(blank), "blank_choice": how, "run_uid": uid}
            written = reduce_file(path, blank, extra_notes=notes)
        log.info("reduced %s -> %s", path, [str(p) for p in written])
        self._report(uid, written)
        if not info.is_blank:
            written += self._merge(uid, path)
        return written

    def _merge(self, uid: str, path: Path) -> list[Path]:
        """Merge the sample of ``path`` once all MERGED_TECHNIQUES are reduced; files written."""
        partners = reduced_partners(path)
        if not all(t in partners for t in MERGED_TECHNIQUES):
            return []
        files = [partners[t] for t in MERGED_TECHNIQUES]
        if (files[0].parent / f"{merged_name(files[0])}.nxcansas.h5").exists():
            return []
        try:
            merged = merge_files(files)
        except ReductionError as exc:
            log.error("merging %s failed: %s", path.stem, exc)
            self.errors.append((uid, path, f"merge: {exc}"))
            return []
        log.info("merged %s -> %s", [str(p) for p in files], merged[0])
        self._report(uid, merged)
        return merged

    def _report(self, uid: str, paths: list[Path]) -> None:
        if self.on_file is not None:
            for out in paths:
                self.on_file(uid, out, "plot" if out.suffix == ".png" else "reduced")
