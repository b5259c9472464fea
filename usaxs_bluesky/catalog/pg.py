"""The run catalog on PostgreSQL: the Tiled adapter, and the indexes of the search keys.

A PostgreSQL catalog keeps run metadata (JSONB) and event tables in one
database, arrays in files under ``<data_dir>/catalog/storage``. Tiled's
own translations bind the JSON path as a parameter
(``metadata #> $1``), which PostgreSQL cannot match to an expression index
once it plans the statement generically; for the keys of
:data:`~.indexes.INDEXED_KEYS` :mod:`.queries` writes the path as a
literal, the same expression as these indexes:

- ``(parent, metadata #> '{start,<key>}')`` b-trees, for ``Eq`` and
  ``Comparison`` (a user, a date range, scan ids);
- a ``pg_trgm`` GIN index on ``metadata #>> '{start,title}'`` for the sample
  (``~*``: a case-insensitive substring or glob, any script).

``In`` (and ``Eq`` with a list or mapping) keeps Tiled's ``metadata @> {...}``,
which uses the catalog's own GIN index. :func:`ensure_pg_indexes` makes the
indexes (idempotent) and renews the planner's statistics.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from .indexes import INDEX_PREFIX, INDEXED_KEYS

ASYNC_DRIVER = "postgresql+asyncpg"
SAMPLE_KEY = "start.title"
TRIGRAM_INDEX = f"{INDEX_PREFIX}title_trgm"


def is_postgresql(uri: str | None) -> bool:
    """True when ``uri`` is a PostgreSQL database URI (with or without a driver)."""
    return bool(uri) and uri.split(":", 1)[0].split("+", 1)[0] == "postgresql"


def _with_scheme(uri: str, scheme: str) -> str:
    return scheme + uri[uri.index(":") :]


def catalog_uri_of(uri: str) -> str:
    """Return ``uri`` with the asyncpg driver Tiled's catalog needs (``postgresql+asyncpg://``)."""
    return _with_scheme(uri, ASYNC_DRIVER)


def tables_uri_of(uri: str) -> str:
    """Return the URI of event-table storage in the same database (``postgresql://``, ADBC)."""
    return _with_scheme(uri, "postgresql")


def jsonb_path(key: str) -> str:
    """Return the PostgreSQL path literal of an indexed ``key``: ``'{start,user_name}'``.

    Raises ``KeyError`` for a key outside :data:`~.indexes.INDEXED_KEYS`.
    """
    INDEXED_KEYS[key]
    return "'{" + ",".join(key.split(".")) + "}'"


def pg_expression(key: str, *, text: bool = False, table: str = "nodes") -> str:
    """Return ``<table>.metadata #> '{start,<key>}'`` (``#>>``, the text, with ``text``)."""
    return f"({table}.metadata {'#>>' if text else '#>'} {jsonb_path(key)})"


def index_statements() -> list[str]:
    """Return the statements making the search indexes of a PostgreSQL catalog (idempotent)."""
    statements = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]
    statements += [
        f"CREATE INDEX IF NOT EXISTS {INDEX_PREFIX}{name} "
        f"ON nodes (parent, (metadata #> {jsonb_path(key)}))"
        for key, name in INDEXED_KEYS.items()
    ]
    statements.append(
        f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON nodes "
        f"USING gin ((metadata #>> {jsonb_path(SAMPLE_KEY)}) gin_trgm_ops)"
    )
    statements.append("ANALYZE nodes")
    return statements


async def _execute_all(uri: str, statements: list[str]) -> None:
    import asyncpg

    connection = await asyncpg.connect(tables_uri_of(uri))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def ensure_pg_indexes(uri: str) -> None:
    """Create the search indexes of the PostgreSQL catalog at ``uri`` and ``ANALYZE`` it."""
    asyncio.run(_execute_all(uri, index_statements()))


def pg_adapter(uri: str, data_dir: str | Path, *, create: bool = False) -> Any:
    """Return the Tiled adapter of the PostgreSQL catalog at ``uri`` (made first if ``create``).

    Arrays are stored under ``<data_dir>/catalog/storage``, event tables in the
    same database; the search indexes are made when missing.
    """
    import warnings

    from .store import RUNS_SPECS, embedded_paths

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from tiled.catalog import from_uri as catalog_from_uri

    storage = embedded_paths(Path(data_dir))["storage"].absolute()
    storage.mkdir(parents=True, exist_ok=True)
    adapter = catalog_from_uri(
        catalog_uri_of(uri),
        writable_storage=[str(storage), tables_uri_of(uri)],
        init_if_not_exists=create,
        specs=RUNS_SPECS,
    )
    ensure_pg_indexes(uri)
    return adapter
