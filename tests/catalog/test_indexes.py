"""The search keys are indexed, and the SQL that Tiled runs for them uses those indexes."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from tiled.queries import Comparison, Eq, In

from usaxs_bluesky.catalog.indexes import (
    INDEX_PREFIX,
    INDEXED_KEYS,
    ensure_indexes,
    json_path,
    stale_statistics,
)
from usaxs_bluesky.catalog.store import embedded_paths

from .conftest import NOW, RUNS


def _usaxs_indexes(db) -> set[str]:
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT name FROM sqlite_master WHERE type='index'").fetchall()
    return {name for (name,) in rows if name.startswith(INDEX_PREFIX)}


def test_indexes_made_once(filled):
    db = embedded_paths(filled.data_dir)["catalog"]
    expected = {INDEX_PREFIX + name for name in INDEXED_KEYS.values()}
    assert _usaxs_indexes(db) == expected
    ensure_indexes(db)  # idempotent
    assert _usaxs_indexes(db) == expected


def test_only_indexed_keys_written_literally():
    with pytest.raises(KeyError):
        json_path("start.title') OR 1=1 --")


def without_statistics(db, tmp_path):
    """A copy of catalog ``db`` without planner statistics (which make a tiny table a scan)."""
    copy = tmp_path / "catalog.db"
    shutil.copyfile(db, copy)
    with sqlite3.connect(copy) as con:
        con.execute("DELETE FROM sqlite_stat1")
    return copy


@pytest.fixture
def statements():
    """The SQL statements (text, parameters) run while the test runs."""
    seen: list[tuple[str, tuple]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, tuple(parameters or ())))

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


@pytest.mark.parametrize(
    "query, index, hits",
    [
        (Eq("start.user_name", "alice"), "user", 2),
        (Eq("start.plan_name", "Flyscan"), "plan", 2),
        (Eq("start.proposal_id", "2002"), "proposal", 2),
        (Comparison("ge", "start.time", NOW - 50 * 86400), "time", 2),
        (Eq("start.title", "water_blank"), "title", 1),
        (In("start.user_name", ["bob", "carol"]), "user", 3),
    ],
)
def test_tiled_search_uses_the_index(filled, statements, tmp_path, query, index, hits):
    assert len(filled.catalog.search(query)) == hits
    db = without_statistics(embedded_paths(filled.data_dir)["catalog"], tmp_path)
    searches = [(s, p) for s, p in statements if "json_extract(nodes.metadata, '$." in s]
    assert searches, "no statement with a literal JSON path was run"
    with sqlite3.connect(db) as con:
        for sql, params in searches:
            plan = " ".join(
                str(row[-1]) for row in con.execute("EXPLAIN QUERY PLAN " + sql, params)
            )
            assert f"USING INDEX {INDEX_PREFIX}{index}" in plan, (sql, plan)


def test_other_keys_keep_tiled_translation(filled, statements):
    assert len(filled.catalog.search(Eq("start.technique", "USAXS"))) == 2
    assert not any("'$.start.technique'" in s for s, _ in statements)
    assert len(RUNS) == len(filled.catalog)


def test_statistics_renewed_when_the_catalog_grew(filled):
    db = embedded_paths(filled.data_dir)["catalog"]
    ensure_indexes(db)
    with sqlite3.connect(db) as con:
        assert not stale_statistics(con)
        con.execute(
            "UPDATE sqlite_stat1 SET stat = '1 1 1' WHERE idx = ?", (INDEX_PREFIX + "user",)
        )
        con.commit()
        assert not stale_statistics(con)  # a small catalog within the slack
        con.execute("DELETE FROM sqlite_stat1")
        con.commit()
        assert stale_statistics(con)
    ensure_indexes(db)
    with sqlite3.connect(db) as con:
        assert not stale_statistics(con)
        stat = con.execute("SELECT stat FROM sqlite_stat1 WHERE idx = ?", (INDEX_PREFIX + "user",))
        assert (
            int(stat.fetchone()[0].split()[0])
            == con.execute("SELECT count(*) FROM nodes").fetchone()[0]
        )
