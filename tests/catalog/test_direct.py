"""The read-only SQL search finds the same runs, in the same order, as the search through Tiled."""

from __future__ import annotations

import datetime
import sqlite3
import subprocess
import sys

import pytest

from usaxs_bluesky.catalog import direct
from usaxs_bluesky.catalog.search import Criteria, search_page, search_runs
from usaxs_bluesky.catalog.store import embedded_paths
from usaxs_bluesky.cli import main

from .conftest import DAY, NOW, fill, replay

# user, title, plan, age (days): names in other scripts and cases
EXTRA = [
    ("dora", "Ämulsion Öl", "SAXS", 5),
    ("dora", "ämulsion öl 2", "WAXS", 6),
    ("dora", "Σφαίρες ΝΕΡΟ", "SAXS", 7),
    ("émile", "Straße 1", "Flyscan", 8),
    ("émile", "line\nbreak", "Flyscan", 9),
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, empty_catalog):
    """The shared test runs and :data:`EXTRA`."""
    filled = fill(tmp_path_factory.mktemp("catalog_direct"), empty_catalog)
    for user, title, plan, age in EXTRA:
        replay(
            filled.catalog,
            user=user,
            title=title,
            plan=plan,
            technique="",
            age_days=age,
            proposal="4004",
        )
    return filled


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
    {"sample": "ÄMULSION"},  # case-insensitive beyond ASCII
    {"sample": "σφαίρες"},
    {"sample": "νερο"},
    {"sample": "STRASSE"},  # no full case folding: ß is not ss
    {"sample": "line*break"},  # * crosses a newline
    {"sample": "ä*ö?"},
    {"user": "dora", "sample": "öl", "plan": "WAXS"},
    {"user": "bob", "sample": "50%", "since": _day(150)},
    {"user": "dora", "since": _day(6.5), "until": _day(5.5)},
    {"user": "alice", "sample": "spheres"},
]


@pytest.mark.parametrize("criteria", CRITERIA, ids=repr)
def test_same_runs_as_tiled(mixed, criteria):
    wanted = Criteria.parse(**criteria)
    through_tiled = search_page(mixed.catalog, wanted, limit=1000)
    plain = direct.page(mixed.data_dir, wanted, limit=1000)
    assert plain == through_tiled
    oldest_first = search_runs(mixed.catalog, wanted)
    assert [r.uid for r in reversed(oldest_first)] == [r.uid for r in plain.runs]
    assert plain.total == len(plain.runs)
    assert all(wanted.sample_matches(r.sample) for r in plain.runs)


def test_non_ascii_and_case(mixed):
    titles = {
        r.sample for r in direct.page(mixed.data_dir, Criteria(sample="ämulsion"), limit=9).runs
    }
    assert titles == {"Ämulsion Öl", "ämulsion öl 2"}
    assert direct.page(mixed.data_dir, Criteria(sample="STRASSE"), limit=9).total == 0
    assert direct.page(mixed.data_dir, Criteria(sample="straße"), limit=9).total == 1


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_pages_cover_every_run_once(mixed, limit):
    everything = direct.page(mixed.data_dir, Criteria(), limit=1000)
    assert everything.total == 10
    for search in (
        lambda o: direct.page(mixed.data_dir, Criteria(), limit=limit, offset=o),
        lambda o: search_page(mixed.catalog, Criteria(), limit=limit, offset=o),
    ):
        pages = [search(offset) for offset in range(0, 12, limit)]
        assert all(p.total == 10 for p in pages)
        assert [r.uid for p in pages for r in p.runs] == [r.uid for r in everything.runs]
        assert all(len(p.runs) <= limit for p in pages)
    times = [r.time for r in everything.runs]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize("limit, offset", [(0, 0), (-1, 0), (5, -1)])
def test_bad_page_refused(mixed, limit, offset):
    with pytest.raises(ValueError, match="a page needs limit >= 1 and offset >= 0"):
        direct.page(mixed.data_dir, Criteria(), limit=limit, offset=offset)
    with pytest.raises(ValueError, match="a page needs limit >= 1 and offset >= 0"):
        search_page(mixed.catalog, Criteria(), limit=limit, offset=offset)


def test_read_only(mixed):
    with direct.connect(mixed.data_dir) as connection:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            connection.execute("DELETE FROM nodes")


def test_no_catalog(tmp_path):
    with pytest.raises(FileNotFoundError, match="no catalog at"):
        direct.page(tmp_path, Criteria(), limit=5)


def test_cli_pages(mixed, capsys):
    args = ["find", "--data-dir", str(mixed.data_dir), "--user", "dora", "--limit", "2"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1].split()[3] == "Ämulsion"  # newest first
    assert len(captured.out.splitlines()) == 3
    assert "runs 1-2 of 3, newest first; --page 2 for more" in captured.err
    assert main([*args, "--page", "2"]) == 0
    captured = capsys.readouterr()
    assert "Σφαίρες" in captured.out and "runs 3-3 of 3, newest first" in captured.err
    assert main([*args, "--page", "3"]) == 1
    assert "page 3 is past the last of 3 runs" in capsys.readouterr().err


def test_indexes_in_the_plan(mixed, tmp_path):
    """The plain query of user + dates walks an index, not every node."""
    from .test_indexes import without_statistics

    where, params = direct.where_clause(Criteria(user="dora", since=NOW - 9 * DAY))
    db = without_statistics(embedded_paths(mixed.data_dir)["catalog"], tmp_path)
    with sqlite3.connect(db) as connection:
        plan = connection.execute(
            f"EXPLAIN QUERY PLAN SELECT count(*) FROM nodes WHERE {where}", params
        ).fetchall()
    assert "USING INDEX ix_usaxs_" in " ".join(str(row[-1]) for row in plan)


def test_cli_imports_no_tiled(mixed):
    """``usaxs find`` on the embedded catalog answers without importing Tiled (or dask)."""
    code = (
        "import sys\n"
        "from usaxs_bluesky.cli import main\n"
        f"status = main(['find', '--data-dir', {str(mixed.data_dir)!r}, '--user', 'dora'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tiled', 'dask', 'httpx'))\n"
        "print(status, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "0 []"


def test_tiled_page_larger_than_a_server_page(mixed, monkeypatch):
    """A page longer than the server's page limit is fetched in several requests, in order."""
    from usaxs_bluesky.catalog import search

    monkeypatch.setattr(search, "MAX_SERVER_PAGE", 2)
    through_tiled = search_page(mixed.catalog, Criteria(), limit=7, offset=1)
    assert through_tiled == direct.page(mixed.data_dir, Criteria(), limit=7, offset=1)
    assert len(through_tiled.runs) == 7 and through_tiled.total == 10
