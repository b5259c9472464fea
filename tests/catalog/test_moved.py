"""A data directory copied or moved elsewhere: served and searched from there, every run's
stream and file reads, with the original gone; ``run.documents()`` replays a run."""

from __future__ import annotations

import shutil

import h5py
import pytest
from tiled.queries import Eq

from usaxs_bluesky.catalog.files import run_files, sha256_file
from usaxs_bluesky.catalog.relocate import LOCATION_FILE, moved_uri
from usaxs_bluesky.catalog.store import open_catalog

from .served import FACILITY_RUNS, KEYS, KEYS_YAML, usaxs_serve, write_runs


@pytest.fixture(scope="module")
def moved(tmp_path_factory, empty_catalog):
    """Runs written in one place, the data directory copied to another, the original deleted."""
    original = tmp_path_factory.mktemp("original") / "data"
    runs = write_runs(original, empty_catalog)
    copy = tmp_path_factory.mktemp("elsewhere") / "moved data"
    shutil.copytree(original, copy)
    shutil.rmtree(original)
    return runs, copy


def _check_every_run(catalog, runs, copy) -> None:
    assert len(catalog) == len(FACILITY_RUNS)
    for uid, spec in zip(runs.uids, FACILITY_RUNS, strict=True):
        run = catalog[uid]
        if spec.exit_status is not None:  # TiledWriter keeps a running run's events until its stop
            values = list(run["primary"].read()["I0"].values)
            assert values == [spec.scan_id * 10.0 + i for i in range(3)]
        (record,) = run_files(run)
        assert record.path.startswith(str(copy) + "/")
        assert sha256_file(record.path) == record.sha256
        with h5py.File(record.path, "r") as f:
            assert f["/entry/data/I"].shape == (50,)


def test_moved_directory_searched_in_process(moved):
    runs, copy = moved
    catalog = open_catalog(copy, create=False)
    _check_every_run(catalog, runs, copy)
    assert len(catalog.search(Eq("plan_name", "SAXS"))) == 2


def test_moved_directory_served(moved, tmp_path):
    runs, copy = moved
    keys = tmp_path / "keys.yml"
    keys.write_text(KEYS_YAML)
    with usaxs_serve(copy, keys) as url:
        _check_every_run(open_catalog(uri=url, api_key=KEYS["staff"]), runs, copy)


def test_documents_replayed(moved):
    runs, copy = moved
    catalog = open_catalog(copy, create=False)
    uid = runs.uid_of(102)
    docs = list(catalog[uid].documents())
    names = [name for name, _ in docs]
    assert names[0] == "start" and names[-1] == "stop"
    assert names.count("descriptor") == 1
    events = [doc for name, doc in docs if name in ("event", "event_page")]
    values = []
    for doc in events:
        data = doc["data"]["I0"]
        values.extend(data if isinstance(data, list) else [data])
    assert values == [1020.0, 1021.0, 1022.0]
    assert docs[0][1]["uid"] == uid and docs[-1][1]["exit_status"] == "success"


@pytest.mark.parametrize(
    "uri, expected",
    [
        (
            "sqlite://localhost//old/d/catalog/tables.db",
            "sqlite://localhost//new d/catalog/tables.db",
        ),
        ("file://localhost/old/d/catalog/storage/x", "file://localhost/new d/catalog/storage/x"),
        ("file://localhost/old/dd/catalog/storage/x", None),  # a sibling, not inside
        ("file://localhost/elsewhere/x", None),
        ("postgresql://host/db", None),
    ],
)
def test_moved_uri(uri, expected):
    assert moved_uri(uri, "/old/d", "/new d") == expected


def test_moved_catalog_without_marker_found_from_its_tables(moved, tmp_path):
    """A catalog made before the marker existed: its old place is read from its event tables."""
    runs, copy = moved
    open_catalog(copy, create=False)  # make sure the copy has been re-rooted once
    again = tmp_path / "again"
    shutil.copytree(copy, again)
    (again / "catalog" / LOCATION_FILE).unlink()
    _check_every_run(open_catalog(again, create=False), runs, again)
    assert (again / "catalog" / LOCATION_FILE).read_text().strip() == str(again)
