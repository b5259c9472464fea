"""A durable local journal of catalog writes, replayed when the catalog is back.

Every document of a run is appended to ``<data_dir>/journal/<uid>.jsonl``
(one JSON object ``{"name": ..., "doc": ...}`` a line, flushed as written,
fsynced at the stop) before it is sent to the catalog. A run the catalog
took whole (its stop written) loses its journal; a run whose catalog write
failed keeps it, and so does a file record (``{"name": "usaxs_file", ...}``)
that could not reach the catalog. :func:`replay_journal` sends what was kept
to the catalog and removes each journal it completed. A journal is locked
(``flock``) while its run is live, so replay never touches a run in progress.

With an :class:`~usaxs_bluesky.callbacks.ordered.OrderedWorker`, only the
journal is written in the caller's thread (the RunEngine's): the catalog
writes, the journal's removal, the replay of kept journals and the file
records (their SHA-256) run in the worker, in document order. Nothing is
lost if the process dies meanwhile: the journal has every document, and a
run the catalog did not take whole is replayed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from event_model import RunRouter

from ..callbacks.ordered import OrderedWorker
from .files import FileRecord, describe_file, record_files

logger = logging.getLogger(__name__)

JOURNAL_DIR = "journal"
JOURNAL_SUFFIX = ".jsonl"
FILE_ENTRY = "usaxs_file"
PROBE_TIMEOUT_S = 2.0
#: names of the two parts in failure reports (:meth:`.IsolatedCallbacks.report`)
CATALOG_MEMBER = "catalog"
RECORDER_MEMBER = "file_recorder"

WriterFactory = Callable[[Any], Callable[[str, dict], None]]


def journal_dir(data_dir: str | Path) -> Path:
    """Return the journal folder of a data directory."""
    return Path(data_dir) / JOURNAL_DIR


def _journal_path(folder: Path, uid: str) -> Path:
    if not uid or "/" in uid or uid.startswith("."):
        raise ValueError(f"not a run uid: {uid!r}")
    return folder / f"{uid}{JOURNAL_SUFFIX}"


def _default_writer(catalog: Any) -> Callable[[str, dict], None]:
    """Return a TiledWriter on ``catalog`` keeping event pages as pages (:mod:`.normalizer`)."""
    from bluesky_tiled_plugins import TiledWriter

    from .normalizer import PageNormalizer

    return TiledWriter(catalog, normalizer=PageNormalizer)


def reachable(catalog: Any, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when the catalog's server answers within ``timeout`` (no retries)."""
    try:
        response = catalog.context.http_client.get(catalog.context.api_uri, timeout=timeout)
    except Exception:  # noqa: BLE001 - any transport error means "not now"
        return False
    return response.status_code < 500


def _append(stream: IO[str], name: str, doc: dict) -> None:
    stream.write(json.dumps({"name": name, "doc": doc}, default=str) + "\n")
    stream.flush()


class _JournaledRun:
    """One run: each document journaled, then sent to the catalog until a write fails."""

    def __init__(self, owner: JournaledCatalogWriter) -> None:
        self.owner = owner
        self.stream: IO[str] | None = None
        self.path: Path | None = None
        self.writer: Callable[[str, dict], None] | None = None
        self.error: BaseException | None = None
        self.uid = ""
        self.lock = threading.Lock()

    def append(self, name: str, doc: dict) -> None:
        """Add one entry to the journal (flushed); from any thread."""
        with self.lock:
            assert self.stream is not None
            _append(self.stream, name, doc)

    def __call__(self, name: str, doc: dict) -> None:
        if name == "start":
            self.uid = doc["uid"]
            self.path = _journal_path(self.owner.folder, self.uid)
            self.owner.folder.mkdir(parents=True, exist_ok=True)
            self.stream = open(self.path, "a", encoding="utf-8")
            fcntl.flock(self.stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.owner.live[self.uid] = self
        if self.stream is None:
            return
        self.append(name, doc)
        if name == "stop":
            with self.lock:
                os.fsync(self.stream.fileno())
        self.owner.later(name, self.uid, self._write, name, doc)
        if name == "stop":
            self.owner.later(name, self.uid, self._close)

    def _write(self, name: str, doc: dict) -> None:
        """Send one document to the catalog unless an earlier write of the run failed."""
        if self.error is not None:
            return
        try:
            if self.writer is None:
                self.writer = self.owner.writer_factory(self.owner.catalog)
            self.writer(name, doc)
        except Exception as exc:  # noqa: BLE001 - catalog down: the journal keeps the run
            self.error = exc
            logger.warning(
                "catalog write of run %s failed at its %s document (%s); journaled in %s,"
                " replayed when the catalog is back (usaxs catalog replay)",
                self.uid,
                name,
                exc,
                self.path,
            )

    def _close(self) -> None:
        """Remove the journal of a run the catalog took whole, else keep it; release its lock."""
        assert self.stream is not None and self.path is not None
        if self.error is None:
            self.path.unlink()
        else:
            self.owner.pending.append(self.path)
        with self.lock:
            self.stream.close()  # releases the lock
            self.stream = None
        self.owner.live.pop(self.uid, None)


class JournaledCatalogWriter:
    """Callable ``(name, doc)``: the catalog writer (TiledWriter) behind a durable journal.

    It never raises for a catalog failure: the run is kept in the journal and
    logged. At each new run, journals kept earlier are replayed first when
    the catalog answers a quick probe (they stay while it is away). A failing
    catalog call blocks for Tiled's retry period first (``TILED_RETRY_TIMEOUT``,
    45 s by default); later documents of that run go to the journal only.
    With a ``worker``, everything but the journal happens there, in order
    (an error there goes to the worker's ``on_error``).
    """

    def __init__(
        self,
        catalog: Any,
        folder: str | Path,
        writer_factory: WriterFactory = _default_writer,
        *,
        worker: OrderedWorker | None = None,
    ) -> None:
        self.catalog = catalog
        self.folder = Path(folder)
        self.writer_factory = writer_factory
        self.worker = worker
        self.pending: list[Path] = []
        self.live: dict[str, _JournaledRun] = {}
        self.router = RunRouter([self._factory])

    def later(self, document: str, uid: str, call: Callable[..., None], *args: Any) -> None:
        """Run ``call(*args)`` in the worker (now, without one); failures reported there."""
        if self.worker is None:
            call(*args)
        else:
            self.worker.submit((CATALOG_MEMBER, document, uid), call, *args)

    def _factory(self, name: str, start: dict) -> tuple[list, list]:
        self.later(name, start["uid"], self._replay_kept)
        return [_JournaledRun(self)], []

    def _replay_kept(self) -> None:
        """Replay the journals of runs no longer live, when the catalog answers."""
        kept = [p for p in self.folder.glob(f"*{JOURNAL_SUFFIX}") if p.stem not in self.live]
        if kept and reachable(self.catalog):
            try:
                replay_journal(self.catalog, self.folder, writer_factory=self.writer_factory)
            except Exception as exc:  # noqa: BLE001 - the catalog may still be away
                logger.info("journal replay deferred: %s", exc)

    def __call__(self, name: str, doc: dict) -> None:
        self.router(name, doc)


@contextmanager
def _locked(path: Path, *, blocking: bool) -> Iterator[IO[str] | None]:
    """Yield ``path`` open for appending under an exclusive lock; None if held elsewhere."""
    with open(path, "a+", encoding="utf-8") as stream:
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield None
            return
        yield stream


class JournaledFileRecorder:
    """Callable ``(uid, path, kind)``: record a file in its run, or journal the record.

    The record goes to the journal when the run itself waits there, or when
    the catalog refuses it; :func:`replay_journal` records it later. With the
    writer's worker, the checksum and the record are done there, after the
    documents of the run queued before.
    """

    def __init__(
        self, catalog: Any, folder: str | Path, writer: JournaledCatalogWriter | None = None
    ) -> None:
        self.catalog = catalog
        self.folder = Path(folder)
        self.writer = writer
        self.worker = writer.worker if writer is not None else None

    def __call__(self, uid: str, path: Path, kind: str) -> None:
        if self.worker is None:
            self.record(uid, Path(path), kind)
        else:
            self.worker.submit((RECORDER_MEMBER, f"{kind} file", uid), self.record, uid, path, kind)

    def record(self, uid: str, path: Path, kind: str) -> None:
        """Record the file now (in the calling thread)."""
        record = describe_file(path, kind)
        live = self.writer.live.get(uid) if self.writer is not None else None
        if live is not None:  # the run is not stopped in the catalog yet: its journal is open
            if live.error is None:
                try:
                    record_files(self.catalog, uid, [record])
                    return
                except Exception as exc:  # noqa: BLE001 - keep the journal at the stop
                    live.error = exc
            live.append(FILE_ENTRY, record.__dict__)
            return
        journal = _journal_path(self.folder, uid)
        if not journal.exists():
            try:
                record_files(self.catalog, uid, [record])
                return
            except Exception as exc:  # noqa: BLE001 - catalog down, or the run not in it
                logger.warning("file %s not recorded in run %s (%s); journaled", path, uid, exc)
        self.folder.mkdir(parents=True, exist_ok=True)
        with _locked(journal, blocking=True) as stream:
            assert stream is not None
            _append(stream, FILE_ENTRY, record.__dict__)
            os.fsync(stream.fileno())


@dataclass
class ReplayResult:
    """What a replay did: runs written, runs already complete, files recorded, journals left."""

    written: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    files: int = 0
    busy: list[str] = field(default_factory=list)


def _read(stream: IO[str]) -> tuple[list[tuple[str, dict]], list[FileRecord]]:
    stream.seek(0)
    docs, files = [], []
    for line in stream:
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash: the ones before it are complete
        if entry["name"] == FILE_ENTRY:
            files.append(FileRecord.from_dict(entry["doc"]))
        else:
            docs.append((entry["name"], entry["doc"]))
    return docs, files


def _replay_run(
    catalog: Any, uid: str, docs: list[tuple[str, dict]], writer_factory: WriterFactory
) -> bool:
    """Write the run's documents unless the catalog has it complete; return True if written."""
    if uid in catalog:
        if "stop" in (catalog[uid].metadata or {}) or not docs:
            return False
        catalog.delete_contents([uid], recursive=True, external_only=False)
    if not docs:
        return False
    writer = writer_factory(catalog)
    for name, doc in docs:
        writer(name, doc)
    return True


def replay_journal(
    catalog: Any, folder: str | Path, *, writer_factory: WriterFactory = _default_writer
) -> ReplayResult:
    """Send every journaled run and file record to ``catalog``; remove each journal done.

    A partial run in the catalog (no stop) is replaced by the journaled one;
    a complete one is kept and only gets the journaled file records. Journals
    of live runs (locked) are left. Raises the catalog's error, leaving the
    journal of the run it failed on.
    """
    result = ReplayResult()
    for path in sorted(Path(folder).glob(f"*{JOURNAL_SUFFIX}")):
        uid = path.name.removesuffix(JOURNAL_SUFFIX)
        with _locked(path, blocking=False) as stream:
            if stream is None:
                result.busy.append(uid)
                continue
            docs, files = _read(stream)
            written = _replay_run(catalog, uid, docs, writer_factory)
            (result.written if written else result.present).append(uid)
            if files:
                record_files(catalog, uid, files)
                result.files += len(files)
            path.unlink()
    return result
