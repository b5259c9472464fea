"""Read-only search of the embedded catalog in plain SQL, without importing Tiled's server.

Opening the embedded catalog through Tiled imports its server stack (seconds
of imports) before the first result. A search only reads the ``nodes``
table, so this module runs the criteria of :class:`~.search.Criteria` as one
SQL query on ``catalog.db`` (opened read-only) using the expression indexes
of :mod:`.indexes`: the same conditions as the Tiled translations in
:mod:`.queries`, the same ``regexp`` function SQLAlchemy gives SQLite, so
both paths return the same runs (``tests/catalog/test_direct.py``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from .indexes import has_title_table, sqlite_expression, title_condition
from .relocate import CATALOG_DIR, data_root, follow_move
from .search import (
    Criteria,
    Page,
    RunSummary,
    alone_checks,
    check_page,
    sample_regex,
    summary_of_metadata,
)

CATALOG_DB = "catalog.db"
TIME = sqlite_expression("start.time")


def _regexp(pattern: str, value: Any) -> bool | None:
    """SQLite ``REGEXP`` as SQLAlchemy registers it: ``re.search``, NULL for a NULL value."""
    return None if value is None else re.search(pattern, str(value)) is not None


def where_clause(criteria: Criteria, *, titles: bool = False) -> tuple[str, list[Any]]:
    """Return the SQL condition (on runs under the root) of ``criteria`` and its parameters.

    With ``titles`` (the catalog has the title table) a sample alone also has its trigram
    prefilter.
    """
    conditions = ["nodes.parent = (SELECT id FROM nodes WHERE parent IS NULL)"]
    params: list[Any] = []
    for key, value in (("start.user_name", criteria.user), ("start.plan_name", criteria.plan)):
        if value:
            conditions.append(f"{sqlite_expression(key)} = ?")
            params.append(value)
    if criteria.since is not None:
        conditions.append(f"{TIME} >= ?")
        params.append(float(criteria.since))
    if criteria.until is not None:
        conditions.append(f"{TIME} < ?")
        params.append(float(criteria.until))
    if criteria.sample:
        pattern = sample_regex(criteria.sample)
        alone = (
            not (criteria.user or criteria.plan)
            and criteria.since is None
            and criteria.until is None
        )
        # with other criteria their indexes narrow first; the trigram set would lead instead
        prefilter = title_condition(pattern) if titles and alone else None
        if prefilter:
            conditions.append(prefilter)
        conditions.append(f"{sqlite_expression('start.title')} REGEXP ?")
        params.append(f"(?i){pattern}")
    return " AND ".join(conditions), params


def order_by(criteria: Criteria) -> str:
    """Return the ORDER BY of a page: newest first (ties: last made first).

    With a user, SQLite would walk the time index to avoid sorting and filter
    all runs on the way; ``+`` keeps that index out, so it reads the user's
    runs from their index and sorts those.
    """
    return f"{'+' if criteria.user else ''}{TIME} DESC, nodes.id DESC"


def summary_of(uid: str, text: str) -> RunSummary:
    """Return the summary of the run ``uid`` whose metadata JSON is ``text``."""
    return summary_of_metadata(uid, json.loads(text))


def connect(data_dir: str | Path) -> sqlite3.Connection:
    """Return a read-only connection to the embedded catalog of ``data_dir``.

    A catalog last opened elsewhere is re-rooted first (as Tiled's path does).
    Raises ``FileNotFoundError`` when there is no catalog.
    """
    db = Path(data_root(data_dir)) / CATALOG_DIR / CATALOG_DB
    if not db.exists():
        raise FileNotFoundError(f"no catalog at {db}")
    follow_move(data_dir)
    connection = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=30)
    connection.create_function("regexp", 2, _regexp, deterministic=True)
    return connection


def count(connection: sqlite3.Connection, criteria: Criteria) -> int:
    """Return how many runs match ``criteria``."""
    where, params = where_clause(criteria, titles=has_title_table(connection))
    return connection.execute(f"SELECT count(*) FROM nodes WHERE {where}", params).fetchone()[0]


def page(data_dir: str | Path, criteria: Criteria, *, limit: int, offset: int = 0) -> Page:
    """Return ``limit`` runs matching ``criteria`` from ``offset``, newest first, with the total."""
    check_page(limit, offset)
    with closing(connect(data_dir)) as connection:
        where, params = where_clause(criteria, titles=has_title_table(connection))
        total = count(connection, criteria)
        rows = connection.execute(
            f"SELECT key, metadata FROM nodes WHERE {where} "
            f"ORDER BY {order_by(criteria)} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
    return Page(total, offset, [summary_of(uid, text) for uid, text in rows])


def explain_no_match(data_dir: str | Path, criteria: Criteria) -> str:
    """Return one line saying why nothing matches ``criteria`` (as the Tiled path does)."""
    with closing(connect(data_dir)) as connection:
        for alone, text in alone_checks(criteria):
            if count(connection, alone) == 0:
                return text
    return f"no run matches {criteria.describe()}"
