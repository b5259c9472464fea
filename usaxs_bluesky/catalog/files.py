"""The files of a run, as recorded in its catalog metadata (key ``usaxs_files``).

Each record names one file the run produced (``raw``, ``reduced`` or
``plot``) with its SHA-256 and size in bytes, so the file can be found,
exported and verified later from the catalog alone.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FILES_KEY = "usaxs_files"
KINDS = ("raw", "reduced", "plot")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileRecord:
    """One file of a run: absolute ``path``, ``kind``, ``sha256`` (hex) and ``size`` (bytes)."""

    path: str
    kind: str
    sha256: str
    size: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"file kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> FileRecord:
        """Return the record stored as ``item`` in the catalog."""
        return cls(
            path=str(item["path"]),
            kind=str(item["kind"]),
            sha256=str(item["sha256"]),
            size=int(item["size"]),
        )


def sha256_file(path: str | Path) -> str:
    """Return the hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe_file(path: str | Path, kind: str) -> FileRecord:
    """Return the record of the file at ``path`` (absolute path, checksum, size)."""
    path = Path(os.path.abspath(path))
    return FileRecord(str(path), kind, sha256_file(path), path.stat().st_size)


def run_files(node: Any) -> list[FileRecord]:
    """Return the files recorded in a run node's metadata (empty when none)."""
    return [FileRecord.from_dict(item) for item in node.metadata.get(FILES_KEY) or []]


def merge_records(old: Iterable[FileRecord], new: Iterable[FileRecord]) -> list[FileRecord]:
    """Return ``old`` with ``new`` appended; a new record replaces an old one with its path."""
    merged = {record.path: record for record in old}
    for record in new:
        merged.pop(record.path, None)
        merged[record.path] = record
    return list(merged.values())


def record_files(catalog: Any, uid: str, records: Iterable[FileRecord]) -> list[FileRecord]:
    """Append ``records`` to run ``uid``'s ``usaxs_files`` (one entry per path); return them all.

    Raises ``KeyError`` when the catalog has no run ``uid``.
    """
    node = catalog[uid]
    merged = merge_records(run_files(node), records)
    node.update_metadata({FILES_KEY: [asdict(record) for record in merged]})
    return merged


class FileRecorder:
    """Callable ``(uid, path, kind)`` that checksums a finished file and records it in the run.

    Writers call it once a file is complete under its final name.
    """

    def __init__(self, catalog: Any) -> None:
        self.catalog = catalog

    def __call__(self, uid: str, path: Path, kind: str) -> None:
        """Record ``path`` (of ``kind``) in run ``uid``."""
        record_files(self.catalog, uid, [describe_file(path, kind)])
