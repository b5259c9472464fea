"""Catalog integrity: check recorded files against the disk; rebuild runs from our NeXus files.

Contract with the NeXus writers: each file stores the run's start and stop
documents as JSON strings at ``/entry/instrument/bluesky/start_document``
and ``/entry/instrument/bluesky/stop_document``. ``reindex`` reads them,
creates the missing runs (replaying start, the event streams kept in the raw
file (:mod:`.rebuild`) and stop through ``bluesky_tiled_plugins.TiledWriter``)
and records the files with checksums.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import h5py
from bluesky_tiled_plugins import TiledWriter
from tiled.queries import KeysFilter
from tiled.structures.core import Spec

from ..contract.names import HDF5_FILE, HDF5_PATH, NEXUS_SUFFIXES
from .batch import NewRun, batchable, insert_runs, run_node
from .files import (
    FILES_KEY,
    FileRecord,
    describe_file,
    merge_records,
    record_files,
    run_files,
    sha256_file,
)
from .rebuild import stream_documents
from .relocate import RECORDED_KEY, start_where_found

logger = logging.getLogger(__name__)

START_PATH = "/entry/instrument/bluesky/start_document"
STOP_PATH = "/entry/instrument/bluesky/stop_document"


@dataclass(frozen=True)
class Problem:
    """A recorded file that is ``missing``, or differs in ``size`` or ``checksum``; or a
    finished run that planned a raw file (``hdf5_file``) and has ``no file`` recorded."""

    uid: str
    path: str
    reason: str


def verify_catalog(catalog: Any) -> tuple[int, list[Problem]]:
    """Return ``(files checked, problems)`` for every file recorded in every run."""
    checked, problems = 0, []
    for uid, node in catalog.items():
        records = run_files(node)
        metadata = node.metadata
        start = metadata.get("start") or {}
        if metadata.get("stop") and start.get(HDF5_FILE):
            if not any(record.kind == "raw" for record in records):
                planned = str(Path(str(start.get(HDF5_PATH, ""))) / str(start[HDF5_FILE]))
                problems.append(Problem(uid, planned, "no file"))
        for record in records:
            checked += 1
            path = Path(record.path)
            if not path.is_file():
                problems.append(Problem(uid, record.path, "missing"))
            elif path.stat().st_size != record.size:
                problems.append(Problem(uid, record.path, "size"))
            elif sha256_file(path) != record.sha256:
                problems.append(Problem(uid, record.path, "checksum"))
    return checked, problems


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_documents(path: Path) -> tuple[dict, dict | None, str] | None:
    """Return ``(start, stop, kind)`` of a NeXus file (kind raw or reduced); None without them."""
    with h5py.File(path, "r") as f:
        if START_PATH not in f:
            return None
        start = json.loads(_text(f[START_PATH][()]))
        stop = json.loads(_text(f[STOP_PATH][()])) if STOP_PATH in f else None
        kind = "reduced" if _is_cansas(f) else "raw"
    return start, stop, kind


def _is_cansas(f: h5py.File) -> bool:
    """True for a reduced NXcanSAS file (an entry with ``canSAS_class=SASentry``)."""
    return any(
        _text(group.attrs.get("canSAS_class", "")) == "SASentry"
        for group in f.values()
        if isinstance(group, h5py.Group)
    )


def nexus_files(folder: Path) -> Iterator[Path]:
    """Every HDF5/NeXus file under ``folder``, in name order (hidden partial files excluded)."""
    for path in sorted(Path(folder).rglob("*")):
        if (
            path.suffix.lower() in NEXUS_SUFFIXES
            and path.is_file()
            and not path.name.startswith(".")
        ):
            yield path


@dataclass
class ReindexResult:
    """What ``reindex`` did: runs created, runs already there, files recorded, files skipped."""

    created: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    recorded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: (uid, why) of each stream of a created run that its file could not rebuild
    streams_not_rebuilt: list[tuple[str, str]] = field(default_factory=list)


def reindex(catalog: Any, folder: Path, *, catalog_db: Path | None = None) -> ReindexResult:
    """Create catalog runs for the NeXus files under ``folder``; record the files (checksums).

    A created run gets the event streams its raw file keeps (descriptors and
    rows; see :mod:`.rebuild` for what is made up and what is left out).
    A raw file found elsewhere than its start document says (a moved data
    directory) gives its run start paths re-rooted there, the recorded values
    kept (:mod:`.relocate`). Runs already in the catalog (same uid) are not
    created again; their files are recorded (once each). Files without the start-document contract,
    unreadable, with a malformed start or stop document, or whose run the
    catalog refuses, are skipped with a warning and listed in the result; the
    others are indexed. With ``catalog_db`` (the embedded catalog's file) the new
    runs without streams are inserted many per transaction (:mod:`.batch`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"reindex: {folder} is not a folder")
    result = ReindexResult()
    by_uid: dict[str, list] = {}
    for path in nexus_files(folder):
        try:
            found = read_documents(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            found, reason = None, f"unreadable ({exc})"
        else:
            reason = f"no {START_PATH}"
        if found is None:
            logger.warning("reindex: skipping %s: %s", path, reason)
            result.skipped.append((str(path), reason))
            continue
        start, stop, kind = found
        problem = start_problem(start) or (stop_problem(stop, start) if stop is not None else "")
        if problem:
            logger.warning("reindex: skipping %s: %s", path, problem)
            result.skipped.append((str(path), problem))
            continue
        entry = by_uid.setdefault(start["uid"], [start, stop, []])
        entry[1] = entry[1] or stop
        entry[2].append((path, kind))
    present = present_uids(catalog, list(by_uid))
    batched: dict[str, NewRun] = {}
    for uid, (start, stop, files) in by_uid.items():
        try:
            records = [describe_file(path, kind) for path, kind in files]
            if uid in present:
                result.present.append(uid)
                if merge_records(present[uid], records) != present[uid]:
                    record_files(catalog, uid, records)
            else:
                raw_files = [path for path, kind in files if kind == "raw"]
                streams = _streams(uid, raw_files, result)
                start, recorded = (
                    start_where_found(start, raw_files[0]) if raw_files else (start, {})
                )
                moved = {RECORDED_KEY: recorded} if recorded else {}  # files moved since written
                if streams or not batchable(start):
                    _replay(catalog, start, streams, stop)
                    record_files(catalog, uid, records)
                    if moved:
                        catalog[uid].update_metadata(moved)
                else:
                    node = run_node(start, stop, {FILES_KEY: [asdict(r) for r in records], **moved})
                    node.rows()  # refuse here what JSON cannot hold
                    if catalog_db is not None:
                        batched[uid] = node
                        continue
                    create_run(catalog, node)
                result.created.append(uid)
        except Exception as exc:  # noqa: BLE001 - one bad run never stops the others
            _refused(result, uid, [path for path, _ in files], exc)
            continue
        result.recorded += len(files)
    if batched:
        _insert_batched(catalog, catalog_db, batched, by_uid, result)
    return result


def _refused(result: ReindexResult, uid: str, paths: list[Path], exc: Exception) -> None:
    reason = f"catalog refused run {uid}: {' '.join(str(exc).split())[:300]}"
    logger.warning("reindex: skipping %s: %s", paths[0], reason)
    result.skipped.extend((str(path), reason) for path in paths)


def _insert_batched(
    catalog: Any, catalog_db: Path, batched: dict[str, NewRun], by_uid: dict, result: ReindexResult
) -> None:
    """Insert the ``batched`` runs in SQL transactions; record files of any made meanwhile."""
    try:
        inserted, present = insert_runs(catalog_db, batched.values())
    except sqlite3.Error as exc:
        for uid in batched:
            _refused(result, uid, [path for path, _ in by_uid[uid][2]], exc)
        return
    result.created.extend(inserted)
    result.recorded += sum(len(by_uid[uid][2]) for uid in inserted)
    for uid in present:  # written by someone else since the presence check
        result.present.append(uid)
        records = [FileRecord.from_dict(item) for item in batched[uid].metadata[FILES_KEY]]
        record_files(catalog, uid, records)
        result.recorded += len(records)


PRESENCE_BATCH = 100  # uids looked up per search


def present_uids(catalog: Any, uids: list[str]) -> dict[str, list[FileRecord]]:
    """Return ``{uid: recorded files}`` of the ``uids`` that are runs of ``catalog``
    (one search per :data:`PRESENCE_BATCH`)."""
    found: dict[str, list[FileRecord]] = {}
    for first in range(0, len(uids), PRESENCE_BATCH):
        for uid, node in catalog.search(KeysFilter(uids[first : first + PRESENCE_BATCH])).items():
            found[uid] = run_files(node)
    return found


def _replay(catalog: Any, start: dict, streams: list[tuple[str, dict]], stop: dict | None) -> None:
    """Write a run through ``TiledWriter``: start, the stream documents, stop."""
    writer = TiledWriter(catalog)
    writer("start", start)
    for name, doc in streams:
        writer(name, doc)
    if stop is not None:
        writer("stop", stop)


def create_run(catalog: Any, node: NewRun) -> None:
    """Create the run ``node`` (no streams) in one request."""
    catalog.create_container(
        key=node.key, metadata=node.metadata, specs=[Spec(**spec) for spec in node.specs]
    )


def _streams(uid: str, raw_files: list[Path], result: ReindexResult) -> list[tuple[str, dict]]:
    """The stream documents of run ``uid`` from its first raw file that has any.

    What cannot be rebuilt is logged and listed in ``result.streams_not_rebuilt``.
    """
    for path in raw_files:
        try:
            documents, not_rebuilt = stream_documents(path, uid)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            documents, not_rebuilt = (
                [],
                [f"unreadable streams ({' '.join(str(exc).split())[:200]})"],
            )
        for why in not_rebuilt:
            logger.warning("reindex: %s: stream %s", path, why)
            result.streams_not_rebuilt.append((uid, f"{path}: {why}"))
        if documents:
            return documents
    return []


def start_problem(start: Any) -> str:
    """Return why ``start`` is not a usable start document ("" when it is)."""
    if not isinstance(start, dict):
        return f"malformed start document (a {type(start).__name__}, not an object)"
    uid, time = start.get("uid"), start.get("time")
    if not isinstance(uid, str) or not uid or "/" in uid:
        return "malformed start document (no valid uid)"
    if not isinstance(time, int | float) or isinstance(time, bool) or time != time:
        return "malformed start document (no valid time)"
    return ""


def stop_problem(stop: Any, start: dict) -> str:
    """Return why ``stop`` is not the stop document of ``start`` ("" when it is)."""
    if not isinstance(stop, dict) or stop.get("run_start") != start["uid"]:
        return "malformed stop document (not an object of this run)"
    if not isinstance(stop.get("time"), int | float) or not stop.get("uid"):
        return "malformed stop document (no valid time or uid)"
    return ""
