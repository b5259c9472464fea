"""Every query type a client can send, over HTTP (``usaxs serve``) and in process: the right runs,
or a 400 naming the query. Start keys answer at top level (``plan_name``), ``sort=-time``
is newest first."""

from __future__ import annotations

import pytest
from bluesky_tiled_plugins.queries import (
    Duplicates,
    PartialUID,
    ScanID,
    ScanIDRange,
    TimeRange,
    _ScanID,
)
from tiled.client.container import Container
from tiled.queries import Comparison, Eq, FullText, Like, Regex

from usaxs_bluesky.catalog.store import open_catalog

from .served import (
    FACILITY_RUNS,
    HOUR,
    KEYS,
    NOW,
    serve_with_keys,
    write_runs,
)

ALL = {s.scan_id for s in FACILITY_RUNS}
NEWEST_FIRST = [s.scan_id for s in sorted(FACILITY_RUNS, key=lambda s: s.hours_ago)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, empty_catalog):
    return write_runs(tmp_path_factory.mktemp("queries") / "data", empty_catalog)


@pytest.fixture(scope="module")
def server(runs, tmp_path_factory):
    yield from serve_with_keys(runs.data_dir, tmp_path_factory)


@pytest.fixture(scope="module", params=["http", "in_process"])
def catalog(request, runs):
    """The catalog of runs as a staff client over HTTP, or in process (no access control)."""
    if request.param == "http":
        return open_catalog(uri=request.getfixturevalue("server"), api_key=KEYS["staff"])
    return open_catalog(runs.data_dir, create=False)


def _scan_ids(results) -> set[int]:
    return {node.metadata["start"]["scan_id"] for node in results.values()}


def _raw(catalog, params: dict | list) -> tuple[int, object]:
    """GET the catalog's search link with ``params``; (status, scan ids in order or the error)."""
    r = catalog.context.http_client.get(catalog.item["links"]["search"], params=params)
    if r.status_code != 200:
        return r.status_code, r.json().get("detail")
    return 200, [item["attributes"]["metadata"]["start"]["scan_id"] for item in r.json()["data"]]


def test_a_catalog_of_runs(catalog):
    assert type(catalog).__name__ == "CatalogOfBlueskyRuns"
    assert _scan_ids(catalog) == ALL


CASES = [
    (Eq("plan_name", "SAXS"), {103, 104}),
    (Eq("start.plan_name", "SAXS"), {103, 104}),
    (Eq("title", "GC sample"), {102, 104, 105, 106}),
    (Eq("user_name", "bob"), {201}),
    (Like("title", "GC%"), {102, 104, 105, 106}),
    (Regex("title", "(?i)blank"), {90, 101, 103, 201}),
    (Regex("title", "blank"), {90, 101, 201}),
    (Regex("title", "^water", case_sensitive=False), {101, 103}),
    (Regex("hdf5_file", r"_010[1-3]\.h5$"), {101, 102, 103}),
    (Comparison("ge", "scan_id", 104), {104, 105, 106, 201}),
    (Comparison("lt", "time", NOW - 4.5 * HOUR), {90, 101}),
    (FullText("bob"), {201}),
    (TimeRange(timezone="UTC", since=NOW - 3.5 * HOUR, until=NOW - 1.5 * HOUR), {103, 104}),
    (TimeRange(timezone="UTC", since=NOW - 0.75 * HOUR), {106, 201}),
    (ScanID(101), {101}),
    (ScanIDRange(101, 104), {101, 102, 103}),
]


@pytest.mark.parametrize("query, expected", CASES, ids=lambda c: repr(c)[:60])
@pytest.mark.parametrize("encoding", ["catalog_of_runs", "sent_as_is"])
def test_queries_select_the_right_runs(catalog, query, expected, encoding):
    """Through bluesky-tiled-plugins' client and sent as is (the server runs it)."""
    assert expected != ALL  # every case narrows: an ignored filter would fail it
    if encoding == "sent_as_is" and isinstance(query, (_ScanID, ScanIDRange)):
        query.duplicates = Duplicates.all  # the server refuses "latest" (see test_raw_parameters)
    search = (
        catalog.search
        if encoding == "catalog_of_runs"
        else (lambda q: Container.search(catalog, q))
    )
    assert _scan_ids(search(query)) == expected


def test_partial_uid(catalog, runs):
    uid = runs.uid_of(102)
    assert _scan_ids(catalog.search(PartialUID(uid[:8]))) == {102}
    assert _scan_ids(Container.search(catalog, PartialUID(uid[:8], runs.uid_of(201)[:6]))) == {
        102,
        201,
    }
    assert catalog[uid[:8]].metadata["start"]["scan_id"] == 102


@pytest.mark.parametrize(
    "params, status, expected",
    [
        ({"sort": "-time"}, 200, NEWEST_FIRST),
        ({"sort": "time"}, 200, NEWEST_FIRST[::-1]),
        ({"sort": "-metadata.start.time"}, 200, NEWEST_FIRST),
        (
            {
                "filter[time_range][condition][since]": NOW - 3.5 * HOUR,
                "filter[time_range][condition][until]": NOW - 1.5 * HOUR,
                "filter[time_range][condition][timezone]": "US/Central",
                "sort": "-time",
            },
            200,
            [104, 103],
        ),
        (  # Matilda: a field name without a value asks for finished runs
            {"filter[contains][condition][exit_status]": "", "sort": "-time"},
            200,
            [s for s in NEWEST_FIRST if s != 106],
        ),
        (
            [
                ("filter[eq][condition][key]", "plan_name"),
                ("filter[eq][condition][value]", '"Flyscan"'),
                ("filter[eq][condition][key]", "title"),
                ("filter[eq][condition][value]", '"GC sample"'),
            ],
            200,
            [102, 105],
        ),
        (
            {
                "filter[scan_id][condition][scan_ids]": "101,104",
                "filter[scan_id][condition][duplicates]": "all",
            },
            200,
            [101, 104],
        ),  # fmt: skip
        ({"filter[partial_uid][condition][partial_uids]": "zz"}, 400, "partial_uid"),
        ({"filter[scan_id][condition][scan_ids]": "101"}, 400, "duplicates"),
        (
            {
                "filter[scan_id][condition][scan_ids]": "1x",
                "filter[scan_id][condition][duplicates]": "all",
            },
            400,
            "scan_id",
        ),  # fmt: skip
        (
            {
                "filter[scan_id_range][condition][start_id]": "a",
                "filter[scan_id_range][condition][end_id]": "3",
                "filter[scan_id_range][condition][duplicates]": "all",
            },
            400,
            "scan_id_range",
        ),  # fmt: skip
        ({"filter[time_range][condition][since]": "nan"}, 400, "time_range"),
        ({"filter[time_range][condition][since]": "inf"}, 400, "time_range"),
        ({"filter[time_range][condition][since]": "yesterday"}, 400, "time_range"),
        (
            {
                "filter[time_range][condition][since]": NOW,
                "filter[time_range][condition][until]": NOW - 1,
            },
            400,
            "time_range",
        ),  # fmt: skip
        ({"filter[time_range][condition][timezone]": "UTC"}, 400, "time_range"),
        (
            {
                "filter[regex][condition][key]": "title",
                "filter[regex][condition][pattern]": "(unclosed",
            },
            400,
            "regex",
        ),  # fmt: skip
        (
            {
                "filter[regex][condition][key]": "title",
                "filter[regex][condition][pattern]": "a" * 2000,
            },
            400,
            "regex",
        ),  # fmt: skip
        ({"filter[bogus][condition][key]": "title"}, 400, "bogus"),
        ({"filter[eq][condition][kee]": "title"}, 400, "'eq' has no field 'kee'"),
        (
            [
                ("filter[eq][condition][key]", "title"),
                ("filter[eq][condition][key]", "plan_name"),
                ("filter[eq][condition][value]", '"x"'),
            ],
            400,
            "'eq'",
        ),  # fmt: skip
        ({"filter[full_text][condition][text]": '"unbalanced'}, 400, "full_text"),
    ],
)
def test_raw_parameters(catalog, params, status, expected):
    got_status, got = _raw(catalog, params)
    assert got_status == status, got
    if status == 200:
        if isinstance(params, dict) and "sort" in params:
            assert got == expected
        else:
            assert sorted(got) == sorted(expected)
    else:
        assert expected in str(got)
