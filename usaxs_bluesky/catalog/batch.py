"""Batch ingest into the embedded catalog: many runs per SQL transaction.

Through Tiled, each created node is its own request and its own SQLite
commit (tens of ms each). A run without event streams is one row of
Tiled's ``nodes`` table (the catalog's triggers keep its closure and
full-text tables), so ``catalog reindex`` on the embedded catalog inserts
those rows directly, :data:`BATCH` per transaction, with the same columns
Tiled writes (``tests/catalog/test_batch.py`` compares the nodes).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BATCH = 500  # runs per transaction
CONTAINER = "container"


@dataclass(frozen=True)
class NewRun:
    """One run node to insert: key (the start uid), metadata, specs (``name``/``version``)."""

    key: str
    metadata: dict[str, Any]
    specs: list[dict[str, Any]]

    def rows(self) -> tuple[str, str, str]:
        """``(key, metadata JSON, specs JSON)``; ValueError for nan/inf (JSON cannot hold them)."""
        return self.key, _json(self.metadata), _json(self.specs)


def _json(value: Any) -> str:
    """Compact JSON as Tiled stores it."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def batchable(start: dict[str, Any]) -> bool:
    """False for a start document asking TiledWriter for access tags or extra specs."""
    return "tiled_access_tags" not in start and "tiled_specs" not in start


def run_node(start: dict[str, Any], stop: dict[str, Any] | None, extra: dict[str, Any]) -> NewRun:
    """The node ``TiledWriter`` makes of a :func:`batchable` ``start`` and ``stop`` (no
    streams), with ``extra`` metadata (e.g. the run's files)."""
    from bluesky_tiled_plugins.utils import truncate_json_overflow

    metadata: dict[str, Any] = {"start": truncate_json_overflow(dict(start))}
    if stop is not None:
        metadata["stop"] = stop
    metadata.update(extra)
    return NewRun(start["uid"], metadata, [dict(RUN_SPEC)])


RUN_SPEC = {"name": "BlueskyRun", "version": "3.0"}  # what TiledWriter gives a run


def insert_runs(catalog_db: str | Path, runs: Iterable[NewRun]) -> tuple[list[str], list[str]]:
    """Insert ``runs`` as children of the catalog root, :data:`BATCH` per transaction.

    Returns ``(inserted keys, keys already there)``; a key present is left as it is.
    Raises ``ValueError`` (before anything is written) for metadata JSON cannot hold.
    """
    rows = [run.rows() for run in runs]
    inserted: list[str] = []
    present: list[str] = []
    connection = sqlite3.connect(str(catalog_db), timeout=60)
    try:
        (root,) = connection.execute("SELECT id FROM nodes WHERE parent IS NULL").fetchone()
        for first in range(0, len(rows), BATCH):
            with connection:  # one transaction
                for key, metadata, specs in rows[first : first + BATCH]:
                    cursor = connection.execute(
                        "INSERT OR IGNORE INTO nodes (parent, key, structure_family, metadata, "
                        "specs) VALUES (?, ?, ?, ?, ?)",
                        (root, key, CONTAINER, metadata, specs),
                    )
                    (inserted if cursor.rowcount == 1 else present).append(key)
    finally:
        connection.close()
    return inserted, present
