"""Indexed search keys of the run catalog: expression indexes and the SQL that can use them.

Tiled's SQLite translation of ``Eq``/``Comparison``/``Like``/``In`` binds the
JSON path as a parameter (``JSON_EXTRACT(metadata, ?)``), which SQLite
cannot match to an expression index, so every search scans every node.
For the keys the tools search (:data:`INDEXED_KEYS`) this module writes the
path as a literal (``json_extract(metadata, '$.start.user_name')``), the
same expression as the index, and registers those translations with Tiled's
query registry on the catalog adapter; other keys and other databases keep
Tiled's own translation. :func:`ensure_indexes` creates the indexes
(idempotent) whenever the embedded catalog is opened or made.

This module imports only the standard library at module level, so the
read-only search path (:mod:`.direct`) stays light.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

# metadata path -> index name suffix; the keys ``usaxs find`` and the query registry search
INDEXED_KEYS = {
    "start.user_name": "user",
    "start.proposal_id": "proposal",
    "start.time": "time",
    "start.plan_name": "plan",
    "start.scan_id": "scan_id",
    "start.title": "title",
    "start.uid": "uid",
}
INDEX_PREFIX = "ix_usaxs_"


def json_path(key: str) -> str:
    """Return the SQLite JSON path of an indexed ``key`` (``start.time`` -> ``$.start.time``).

    Raises ``KeyError`` for a key outside :data:`INDEXED_KEYS` (only those are written literally).
    """
    INDEXED_KEYS[key]
    return "$." + key


def sqlite_expression(key: str, table: str = "nodes") -> str:
    """Return the SQL text ``json_extract(<table>.metadata, '$.<key>')`` of an indexed key."""
    return f"json_extract({table}.metadata, '{json_path(key)}')"


def index_statements() -> list[str]:
    """Return the ``CREATE INDEX IF NOT EXISTS`` statements of the embedded catalog.

    Each index is on ``(parent, <key>)``, so a search among the runs of one
    container (the catalog's runs are all children of its root) walks only
    the matching entries, already in key order.
    """
    return [
        f"CREATE INDEX IF NOT EXISTS {INDEX_PREFIX}{name} "
        f"ON nodes (parent, json_extract(metadata, '{json_path(key)}'))"
        for key, name in INDEXED_KEYS.items()
    ]


def stale_statistics(connection: sqlite3.Connection) -> bool:
    """True when the planner's statistics are missing or from a catalog under half its size.

    Without them SQLite guesses, and walks e.g. the time index for a user's runs.
    """
    if (
        connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
        is None
    ):
        return True
    row = connection.execute(
        "SELECT stat FROM sqlite_stat1 WHERE idx = ?", (f"{INDEX_PREFIX}user",)
    ).fetchone()
    (nodes,) = connection.execute("SELECT count(*) FROM nodes").fetchone()
    return row is None or nodes > 2 * int(row[0].split()[0]) + STATS_SLACK


STATS_SLACK = 100  # runs a small catalog may grow by before its statistics are renewed


def ensure_indexes(catalog_db: str | Path) -> None:
    """Create the expression indexes in the SQLite catalog at ``catalog_db`` (when absent)
    and renew the planner's statistics (``ANALYZE``) when :func:`stale_statistics`."""
    connection = sqlite3.connect(str(catalog_db), timeout=30)
    try:
        with connection:
            for statement in index_statements():
                connection.execute(statement)
            if stale_statistics(connection):
                connection.execute("ANALYZE")
    finally:
        connection.close()
