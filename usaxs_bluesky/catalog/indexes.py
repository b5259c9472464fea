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

A sample substring cannot use a b-tree. :data:`TITLE_TABLE` is an FTS5
table with the trigram tokenizer (case folded) of every node's
``start.title``, kept by triggers on ``nodes`` in the writer's own
transaction (so it never disagrees with the catalog) and filled when it is
first made. :func:`title_match` turns a sample pattern into a ``MATCH``
that every matching title satisfies; the exact ``REGEXP`` then checks the
few candidates.

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


TITLE_TABLE = "usaxs_titles"
_TITLE = "json_extract(new.metadata, '$.start.title')"
# Characters a trigram prefilter may require: their case variants fold alike in FTS5 and in
# Python's re (not "i": re matches it to U+0130 and U+0131, which FTS5 does not fold to "i").
TRIGRAM_SAFE = frozenset("abcdefghjklmnopqrstuvwxyz0123456789")
MIN_TRIGRAM = 3


def title_table_statements() -> list[str]:
    """Return the statements making :data:`TITLE_TABLE` and the triggers that keep it."""
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {TITLE_TABLE} USING fts5(title, "
        "tokenize='trigram case_sensitive 0')",
        f"CREATE TRIGGER IF NOT EXISTS {TITLE_TABLE}_ai AFTER INSERT ON nodes "
        f"WHEN {_TITLE} IS NOT NULL BEGIN "
        f"INSERT INTO {TITLE_TABLE}(rowid, title) VALUES (new.id, {_TITLE}); END",
        f"CREATE TRIGGER IF NOT EXISTS {TITLE_TABLE}_ad AFTER DELETE ON nodes BEGIN "
        f"DELETE FROM {TITLE_TABLE} WHERE rowid = old.id; END",
        f"CREATE TRIGGER IF NOT EXISTS {TITLE_TABLE}_au AFTER UPDATE OF metadata ON nodes BEGIN "
        f"DELETE FROM {TITLE_TABLE} WHERE rowid = old.id; "
        f"INSERT INTO {TITLE_TABLE}(rowid, title) SELECT new.id, {_TITLE} "
        f"WHERE {_TITLE} IS NOT NULL; END",
    ]


def fill_title_table(connection: sqlite3.Connection) -> None:
    """(Re)fill :data:`TITLE_TABLE` from the nodes' titles."""
    connection.execute(f"DELETE FROM {TITLE_TABLE}")
    connection.execute(
        f"INSERT INTO {TITLE_TABLE}(rowid, title) SELECT id, {_TITLE.replace('new.', '')} "
        f"FROM nodes WHERE {_TITLE.replace('new.', '')} IS NOT NULL"
    )


def pattern_fragments(pattern: str) -> list[str] | None:
    """Return the literal runs of a regex made by :func:`~.search.sample_regex`, None for any
    other regex: ``(?s)^.*Glassy\\ C.*$`` -> ``["Glassy C"]``."""
    body = pattern.removeprefix("(?s)^")
    if body == pattern or not body.endswith("$"):
        return None
    body, fragments, current, i = body[:-1], [], "", 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            current, i = current + body[i + 1], i + 2
            continue
        if c == ".":
            fragments.append(current)
            current, i = "", i + (2 if body[i + 1 : i + 2] == "*" else 1)
            continue
        if c in "|()[]{}+*?^$":
            return None
        current, i = current + c, i + 1
    return [f for f in [*fragments, current] if f]


def title_match(pattern: str) -> str | None:
    """The FTS5 ``MATCH`` every title matching ``pattern`` (case-insensitively) satisfies:
    its runs of :data:`TRIGRAM_SAFE` characters of 3 or more, as phrases; None when none."""
    fragments = pattern_fragments(pattern)
    if fragments is None:
        return None
    runs: list[str] = []
    for fragment in fragments:
        run = ""
        for c in fragment.lower() + " ":
            if c in TRIGRAM_SAFE:
                run += c
                continue
            if len(run) >= MIN_TRIGRAM:
                runs.append(run)
            run = ""
    return " ".join(f'"{run}"' for run in runs) or None


def title_condition(pattern: str, id_column: str = "nodes.id") -> str | None:
    """SQL text ``<id> IN (SELECT rowid FROM usaxs_titles WHERE ... MATCH '...')``, or None.

    The match text holds only :data:`TRIGRAM_SAFE` characters, spaces and quotes, so it is
    written literally (safe, and the same text on both search paths).
    """
    match = title_match(pattern)
    if match is None:
        return None
    return f"{id_column} IN (SELECT rowid FROM {TITLE_TABLE} WHERE {TITLE_TABLE} MATCH '{match}')"


def has_title_table(connection: sqlite3.Connection) -> bool:
    """True when the catalog has :data:`TITLE_TABLE`."""
    query = "SELECT 1 FROM sqlite_master WHERE name = ?"
    return connection.execute(query, (TITLE_TABLE,)).fetchone() is not None


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
    """Create the expression indexes and the title table (filled) in the SQLite catalog at
    ``catalog_db`` (when absent); renew the planner's statistics (``ANALYZE``) when
    :func:`stale_statistics`."""
    connection = sqlite3.connect(str(catalog_db), timeout=30)
    try:
        with connection:
            for statement in index_statements():
                connection.execute(statement)
            if not has_title_table(connection):
                for statement in title_table_statements():
                    connection.execute(statement)
                fill_title_table(connection)
            if stale_statistics(connection):
                connection.execute("ANALYZE")
    finally:
        connection.close()
