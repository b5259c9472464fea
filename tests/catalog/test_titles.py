"""The trigram table of sample names: kept by the catalog's own writes, and never drops a match."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from usaxs_bluesky.catalog import direct
from usaxs_bluesky.catalog.files import FileRecorder
from usaxs_bluesky.catalog.indexes import (
    TITLE_TABLE,
    ensure_indexes,
    pattern_fragments,
    title_match,
)
from usaxs_bluesky.catalog.search import Criteria, sample_regex, search_page
from usaxs_bluesky.catalog.store import embedded_paths

from .conftest import replay, write_nexus

# names whose case variants fold differently in FTS5 and Python's re, and other scripts
HOSTILE = [
    "İstanbul sample", "ısparta", "Maſs spectrum", "5 \u212aelvin", "GRÖẞE", "Größe",
    "ÉCHANTILLON 7", "ΝΕΡΟΣ", "νερος", "ﬁlm", "quote \" and ' in it", "50%_done",
    "SILICA gel", "x" * 300, "",
]  # fmt: skip
PATTERNS = [
    "istanbul", "ISPARTA", "mass", "kelvin", "größe", "GRÖSSE", "échantillon", "νερος",
    "film", "quote \"", "' in", "50%", "_done", "silica", "gel", "xxx", "sil*gel", "*ika*",
    "g?l", "?", "*", "échantillon ?", "KELVIN*",
]  # fmt: skip


def _titles(db_path) -> tuple[dict, dict]:
    """``({node id: title} of the nodes, {rowid: title} of the trigram table)``."""
    with closing(sqlite3.connect(db_path)) as db:
        nodes = dict(
            db.execute(
                "SELECT id, json_extract(metadata, '$.start.title') FROM nodes "
                "WHERE json_extract(metadata, '$.start.title') IS NOT NULL"
            ).fetchall()
        )
        table = dict(db.execute(f"SELECT rowid, title FROM {TITLE_TABLE}").fetchall())
    return nodes, table


@pytest.fixture(scope="module")
def hostile(filled):
    """The shared runs and :data:`HOSTILE` titles."""
    for i, title in enumerate(HOSTILE):
        replay(filled.catalog, user="zed", title=title, plan="SAXS", technique="",
               age_days=1 + i / 10, proposal="9")  # fmt: skip
    return filled


@pytest.mark.parametrize("sample", PATTERNS)
def test_prefilter_drops_no_match(hostile, sample):
    """With the trigram prefilter, the same runs as with the regular expression alone."""
    criteria = Criteria(sample=sample)
    with closing(direct.connect(hostile.data_dir)) as db:
        found = {}
        for titles in (False, True):
            where, params = direct.where_clause(criteria, titles=titles)
            found[titles] = db.execute(f"SELECT key FROM nodes WHERE {where}", params).fetchall()
    assert found[True] == found[False]
    assert search_page(hostile.catalog, criteria, limit=100).total == len(found[False])


def test_hostile_names_found(hostile):
    def total(sample: str) -> int:
        return direct.page(hostile.data_dir, Criteria(sample=sample), limit=50).total

    assert total("istanbul") == 1 and total("mass") == 1 and total("KELVIN") == 1
    assert total("νερος") == 2 and total("GRÖSSE") == 0 and total("größe") == 2


def test_table_follows_every_write(fresh, tmp_path):
    """Created, updated (files recorded) and deleted runs: the table equals the nodes' titles."""
    db_path = embedded_paths(fresh.data_dir)["catalog"]
    nodes, table = _titles(db_path)
    assert nodes == table and len(table) == len(fresh.uids)
    start, _ = replay(fresh.catalog, user="new", title="Fresh Title", plan="SAXS",
                      technique="", age_days=0, proposal="1")  # fmt: skip
    path = write_nexus(tmp_path / "f.h5", start, None)
    FileRecorder(fresh.catalog)(start["uid"], path, "raw")
    fresh.catalog[start["uid"]].update_metadata({"start": {**start, "title": "Renamed"}})
    fresh.catalog.delete_contents(fresh.uids[0], recursive=True, external_only=False)
    nodes, table = _titles(db_path)
    assert nodes == table
    assert "Renamed" in table.values() and "Fresh Title" not in table.values()
    assert direct.page(fresh.data_dir, Criteria(sample="renamed"), limit=5).total == 1


def test_made_for_an_old_catalog(fresh):
    """A catalog made before the table existed gets it, filled, when it is opened."""
    db_path = embedded_paths(fresh.data_dir)["catalog"]
    with closing(sqlite3.connect(db_path)) as db, db:
        for name in ("ai", "ad", "au"):
            db.execute(f"DROP TRIGGER {TITLE_TABLE}_{name}")
        db.execute(f"DROP TABLE {TITLE_TABLE}")
    assert direct.page(fresh.data_dir, Criteria(sample="spheres"), limit=5).total == 2
    ensure_indexes(db_path)
    nodes, table = _titles(db_path)
    assert nodes == table and len(table) == len(fresh.uids)


@pytest.mark.parametrize(
    "pattern, fragments",
    [
        (sample_regex("Glassy C"), ["Glassy C"]),
        (sample_regex("gl*ss?y"), ["gl", "ss", "y"]),
        ("(?s)^(a|b)$", None),
        ("(?i)glassy", None),
        ("(?s)^a+$", None),
    ],
)
def test_fragments(pattern, fragments):
    assert pattern_fragments(pattern) == fragments


@pytest.mark.parametrize(
    "sample, match",
    [
        ("Glassy Carbon", '"glassy" "carbon"'),
        ("silica", None),  # no run of 3 without "i"
        ("ÉCHANTILLON", '"chant" "llon"'),
        ("a'b\"cd", None),
        ("x'; DROP TABLE nodes; --", '"drop" "table" "nodes"'),
    ],
)
def test_match_text(sample, match):
    assert title_match(sample_regex(sample)) == match


@pytest.mark.parametrize(
    "criteria, prefiltered",
    [
        (Criteria(sample="glassy"), True),
        (Criteria(sample="glassy", user="u"), False),
        (Criteria(sample="glassy", plan="SAXS"), False),
        (Criteria(sample="glassy", since=0.0), False),  # epoch 0 is a bound too
        (Criteria(sample="glassy", until=5.0), False),
    ],
)
def test_prefilter_for_a_sample_alone(criteria, prefiltered):
    """With other criteria their b-trees narrow first; the trigram set would lead instead."""
    where, _ = direct.where_clause(criteria, titles=True)
    assert (TITLE_TABLE in where) is prefiltered
