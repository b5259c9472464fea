"""The catalog on a real PostgreSQL server finds what the embedded SQLite catalog finds.

The same documents go through TiledWriter into a PostgreSQL catalog and an
embedded one; every criterion of ``usaxs find`` and the server's queries
(proposal, scan id, file name) alone and combined, paging, and a served
query must give the same runs in the same order on both.
"""

from __future__ import annotations

import copy
import datetime
import warnings
from pathlib import Path

import httpx
import pytest
from bluesky_tiled_plugins import TiledWriter
from bluesky_tiled_plugins.queries import PartialUID, ScanID, ScanIDRange
from event_model import compose_run
from tiled.queries import Comparison, Eq, In, Like, Regex

from usaxs_bluesky.catalog import direct
from usaxs_bluesky.catalog.export import export_runs, verify_export
from usaxs_bluesky.catalog.integrity import reindex
from usaxs_bluesky.catalog.pg import TRIGRAM_INDEX, catalog_uri_of, is_postgresql, tables_uri_of
from usaxs_bluesky.catalog.retention import prune, prune_candidates, retention_report
from usaxs_bluesky.catalog.search import Criteria, search_page, search_runs
from usaxs_bluesky.catalog.store import open_catalog

from .conftest import DAY, NOW, copy_empty_catalog, write_nexus
from .served import KEYS_YAML, headers, usaxs_serve

# user, title, plan, proposal, scan id, age (days)
RUNS = [
    ("alice", "Glassy Carbon 1", "Flyscan", "1001", 11, 10),
    ("alice", "water_blank", "SAXS", "1001", 12, 40),
    ("bob", "Spheres 50%_a", "WAXS", "2002", 21, 100),
    ("bob", "spheres 50x_b", "Flyscan", "2002", 22, 200),
    ("carol", "GC?x", "count", "3003", 31, 400),
    ("dora", "Größe 3 échantillon", "SAXS", "4004", 41, 5),
    ("dora", "ÉCHANTILLON größe", "WAXS", "4004", 42, 6),
    ("dora", "Σφαίρες ΝΕΡΟ", "SAXS", "4004", 43, 7),
    ("émile", "Straße 1", "Flyscan", "5005", 51, 8),
    ("émile", "line\nbreak", "Flyscan", "5005", 52, 9),
]


def _documents() -> list[list[tuple[str, dict]]]:
    """The documents of :data:`RUNS`, each run with a primary stream of 3 events."""
    runs = []
    for user, title, plan, proposal, scan_id, age in RUNS:
        t0 = NOW - age * DAY
        md = {"user_name": user, "title": title, "plan_name": plan, "proposal_id": proposal,
              "scan_id": scan_id, "hdf5_file": f"{title[:5]}_{scan_id:04d}.h5"}  # fmt: skip
        bundle = compose_run(time=t0, metadata=md)
        keys = {"I0": {"dtype": "number", "shape": [], "source": "PV:I0"}}
        desc = bundle.compose_descriptor(name="primary", data_keys=keys)
        docs = [("start", bundle.start_doc), ("descriptor", desc.descriptor_doc)]
        for i in range(3):
            event = desc.compose_event(data={"I0": scan_id + i / 10}, timestamps={"I0": t0 + i})
            docs.append(("event", event))
        docs.append(("stop", bundle.compose_stop(time=t0 + 10)))
        runs.append(docs)
    return runs


DOCUMENTS = _documents()


def _write(catalog) -> None:
    for docs in DOCUMENTS:
        writer = TiledWriter(catalog)
        for name, doc in docs:
            writer(name, copy.deepcopy(doc))


@pytest.fixture(scope="module")
def pg_uri(pg_server):
    """The URI of this module's own database on the session's server."""
    return pg_server.create_database("usaxs_test_find")


@pytest.fixture(scope="module")
def both(tmp_path_factory, empty_catalog, pg_uri):
    """``(sqlite catalog, postgresql catalog, data dir of the SQLite one)`` with :data:`RUNS`."""
    lite_dir = tmp_path_factory.mktemp("lite")
    lite = copy_empty_catalog(lite_dir, empty_catalog)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pg = open_catalog(tmp_path_factory.mktemp("pg"), catalog_uri=pg_uri, create=True)
    _write(lite)
    _write(pg)
    return lite, pg, lite_dir


def _day(age_days: float) -> str:
    return datetime.date.fromtimestamp(NOW - age_days * DAY).isoformat()


CRITERIA = [
    {},
    {"user": "alice"},
    {"user": "émile"},
    {"user": "nobody"},
    {"plan": "Flyscan"},
    {"since": _day(50)},
    {"until": _day(100)},
    {"since": _day(250), "until": _day(100)},
    {"sample": "SPHERES"},
    {"sample": "50%"},
    {"sample": "_a"},
    {"sample": "sph*_?"},
    {"sample": "carbon*"},
    {"sample": "GRÖSSE"},  # no full case folding on either: ß is not ss
    {"sample": "größe"},
    {"sample": "GRÖßE"},
    {"sample": "ÉCHANTILLON"},
    {"sample": "échantillon"},
    {"sample": "σφαίρες"},
    {"sample": "νερο"},
    {"sample": "line*break"},  # * crosses a newline
    {"sample": "g?x"},
    {"sample": "é*n"},
    {"user": "dora", "sample": "échantillon", "plan": "WAXS"},
    {"user": "bob", "sample": "50%", "since": _day(150)},
    {"user": "dora", "since": _day(6.5), "until": _day(5.5)},
    {"user": "alice", "sample": "spheres"},
]


def _uids(page) -> list[str]:
    return [run.uid for run in page.runs]


@pytest.mark.parametrize("criteria", CRITERIA, ids=repr)
def test_same_runs_on_postgresql(both, criteria):
    lite, pg, lite_dir = both
    wanted = Criteria.parse(**criteria)
    on_pg = search_page(pg, wanted, limit=1000)
    assert on_pg == search_page(lite, wanted, limit=1000)
    assert on_pg == direct.page(lite_dir, wanted, limit=1000)
    assert all(wanted.sample_matches(run.sample) for run in on_pg.runs)
    assert on_pg.total == len(on_pg.runs)


def test_criteria_find_something(both):
    """The comparisons above are not all empty: each kind of criterion matches some runs."""
    _, pg, _ = both
    totals = {repr(c): search_page(pg, Criteria.parse(**c), limit=1).total for c in CRITERIA}
    assert totals["{}"] == len(RUNS)
    assert totals["{'sample': 'ÉCHANTILLON'}"] == 2
    assert totals["{'sample': 'GRÖßE'}"] == 2
    assert totals["{'sample': 'GRÖSSE'}"] == 0
    assert totals["{'sample': 'νερο'}"] == 1
    assert totals["{'user': 'dora', 'sample': 'échantillon', 'plan': 'WAXS'}"] == 1


QUERIES = [
    [Eq("start.proposal_id", "4004")],
    [Eq("start.proposal_id", "4004"), Eq("start.plan_name", "SAXS")],
    [Eq("start.scan_id", 22)],
    [Comparison("ge", "start.scan_id", 40)],
    [Comparison("lt", "start.scan_id", 22), Comparison("ge", "start.time", NOW - 50 * DAY)],
    [ScanID(43, duplicates="all")],
    [ScanIDRange(20, 42, duplicates="all")],
    [PartialUID(DOCUMENTS[2][0][1]["uid"][:8])],
    [Eq("start.hdf5_file", "Glass_0011.h5")],
    [Like("start.hdf5_file", "%_004_.h5")],
    [In("start.user_name", ["bob", "carol"])],
    [Eq("start.user_name", "bob"), Comparison("gt", "start.time", NOW - 150 * DAY)],
    [Regex("start.hdf5_file", r"^sph", case_sensitive=False)],
    [Eq("start.user_name", "dora"), Regex("start.title", "größe", case_sensitive=False)],
]


@pytest.mark.parametrize("queries", QUERIES, ids=repr)
def test_same_runs_for_server_queries(both, queries):
    lite, pg, _ = both

    def found(catalog) -> list[str]:
        for query in queries:
            catalog = catalog.search(query)
        return list(catalog.sort(("start.time", -1)).keys())

    on_pg = found(pg)
    assert on_pg == found(lite)
    assert on_pg, "each query matches some runs"


@pytest.mark.parametrize("limit", [1, 3, 4])
def test_pages_on_postgresql(both, limit):
    lite, pg, _ = both
    everything = search_page(pg, Criteria(), limit=1000)
    pages = [search_page(pg, Criteria(), limit=limit, offset=o) for o in range(0, 12, limit)]
    assert [uid for p in pages for uid in _uids(p)] == _uids(everything)
    assert all(p.total == len(RUNS) and len(p.runs) <= limit for p in pages)
    times = [run.time for run in everything.runs]
    assert times == sorted(times, reverse=True)
    assert search_page(lite, Criteria(), limit=limit, offset=limit) == pages[1]


def test_events_read_back_from_postgresql(both):
    """TiledWriter stored each run's event table in the database: the rows read back."""
    _, pg, _ = both
    start = DOCUMENTS[0][0][1]
    table = pg[start["uid"]]["primary"].read()
    assert list(table["I0"]) == pytest.approx([11.0, 11.1, 11.2])
    assert sorted(r.uid for r in search_runs(pg, Criteria(user="alice"))) == sorted(
        docs[0][1]["uid"] for docs in DOCUMENTS if docs[0][1]["user_name"] == "alice"
    )


def test_retention_report_same(both):
    lite, pg, _ = both
    assert retention_report(pg, now=NOW) == retention_report(lite, now=NOW)


def test_indexes_serve_the_search(both, pg_server):
    """The planner uses the expression and trigram indexes (sequential scans switched off,
    so only an index that matches the expression can serve the condition)."""
    from usaxs_bluesky.catalog.pg import pg_expression

    def plan(condition: str) -> str:
        sql = f"SET enable_seqscan = off; EXPLAIN SELECT id FROM nodes WHERE {condition}"
        return pg_server.psql("usaxs_test_find", sql)

    time_plan = plan(f"{pg_expression('start.time')} >= '1'::jsonb")
    assert "ix_usaxs_time" in time_plan
    user_plan = plan(f"{pg_expression('start.user_name')} = '\"dora\"'::jsonb")
    assert "ix_usaxs_user" in user_plan
    sample_plan = plan(f"{pg_expression('start.title', text=True)} ~* 'chant'")
    assert TRIGRAM_INDEX in sample_plan


def test_served_from_postgresql(both, pg_uri, tmp_path):
    """``usaxs serve --catalog-uri`` answers a user's search from the PostgreSQL catalog."""
    keys = tmp_path / "keys.yml"
    keys.write_text(KEYS_YAML)
    with usaxs_serve(tmp_path / "data", keys, "--catalog-uri", pg_uri) as url:
        answer = httpx.get(
            f"{url}/api/v1/search/usaxs",
            params={
                "filter[regex][condition][key]": "title",
                "filter[regex][condition][pattern]": "(?i)blank|carbon",
                "sort": "-time",
            },  # fmt: skip
            headers=headers("alice"),
            timeout=30,
        )
        by_scan_id = httpx.get(
            f"{url}/api/v1/search/usaxs",
            params={
                "filter[scan_id][condition][scan_ids]": "11,22,43",
                "filter[scan_id][condition][duplicates]": "all",
                "filter[scan_id_range][condition][start_id]": "20",
                "filter[scan_id_range][condition][end_id]": "50",
                "filter[scan_id_range][condition][duplicates]": "all",
                "sort": "-time",
            },  # fmt: skip
            headers=headers("staff"),
            timeout=30,
        )
    assert answer.status_code == 200, answer.text
    titles = [e["attributes"]["metadata"]["start"]["title"] for e in answer.json()["data"]]
    assert titles == ["Glassy Carbon 1", "water_blank"]
    assert by_scan_id.status_code == 200, by_scan_id.text
    scan_ids = [e["attributes"]["metadata"]["start"]["scan_id"] for e in by_scan_id.json()["data"]]
    assert scan_ids == [43, 22]


@pytest.mark.parametrize(
    "uri, catalog, tables",
    [
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db", "postgresql://u@h/db"),
        ("postgresql+asyncpg://u:p@h:5/db", "postgresql+asyncpg://u:p@h:5/db", "postgresql://u:p@h:5/db"),
    ],
)  # fmt: skip
def test_uris(uri, catalog, tables):
    assert is_postgresql(uri)
    assert catalog_uri_of(uri) == catalog and tables_uri_of(uri) == tables


@pytest.mark.parametrize("uri", [None, "", "sqlite:///x.db", "http://host/api", "postgres"])
def test_not_postgresql(uri):
    assert not is_postgresql(uri)


def test_reindex_export_prune_on_postgresql(pg_server, tmp_path):
    """Migration: ``reindex`` of an embedded catalog's files fills a PostgreSQL catalog;
    export and retention work on it."""
    data_dir = tmp_path / "data"
    folder = data_dir / "files"
    for docs in DOCUMENTS[:4]:
        start, stop = docs[0][1], docs[-1][1]
        write_nexus(folder / f"{start['uid'][:8]}.h5", start, stop)
    uri = pg_server.create_database("usaxs_test_reindex")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        catalog = open_catalog(data_dir, catalog_uri=uri, create=True)
    result = reindex(catalog, folder)
    assert len(result.created) == 4 and result.recorded == 4 and not result.skipped
    again = reindex(catalog, folder)
    assert not again.created and len(again.present) == 4
    bob = search_page(catalog, Criteria(user="bob"), limit=10)
    assert [run.sample for run in bob.runs] == ["Spheres 50%_a", "spheres 50x_b"]
    assert all(len(run.files) == 1 for run in bob.runs)
    exported = export_runs(bob.runs, tmp_path / "usb", data_dir=data_dir)
    assert exported.copied == 2 and verify_export(tmp_path / "usb") == []
    old = prune_candidates(catalog, 150, now=NOW)
    assert [run.sample for run in old] == ["spheres 50x_b"]
    prune(catalog, old, data_dir)
    assert not Path(old[0].files[0].path).exists()
    assert search_page(catalog, Criteria(user="bob"), limit=10).total == 1
