"""Matilda's catalog queries (``readfromtiled``), unchanged, against ``usaxs serve`` on loopback.

Its module globals point at the test server and each request carries the key of the
test (``requests.get`` wrapped with the header); Matilda's code is imported from
``../shared/clients/matilda`` and never edited.
"""

from __future__ import annotations

import pytest

from .served import matilda_at, serve_with_keys, write_runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory, empty_catalog):
    return write_runs(tmp_path_factory.mktemp("matilda") / "data", empty_catalog)


@pytest.fixture(scope="module")
def server(runs, tmp_path_factory):
    yield from serve_with_keys(runs.data_dir, tmp_path_factory)


@pytest.fixture
def matilda(readfromtiled, server, monkeypatch):
    """``as_key(who)``: Matilda pointed at the server, its requests made with key ``who``."""
    return matilda_at(readfromtiled, server, monkeypatch)


def _files(runs, *scan_ids: int) -> list[list[str]]:
    """What Matilda returns for these runs: ``[hdf5_path, hdf5_file]`` each, in that order."""
    out = []
    for scan_id in scan_ids:
        path = runs.files[runs.uid_of(scan_id)]
        assert path.is_file()
        out.append([str(path.parent), path.name])
    return out


def test_last_scans(matilda, runs):
    m = matilda("alice")
    # finished, successful, of the plan, in the last day, newest first; not bob's, not 3 days old
    assert m.FindLastScanData("Flyscan", 10, LastNdays=1) == _files(runs, 102, 101)
    assert m.FindLastScanData("Flyscan", 10, LastNdays=0) == _files(runs, 102, 101, 90)
    assert m.FindLastScanData("Flyscan", 1, LastNdays=0) == []  # the newest (105) aborted
    assert m.FindLastScanData("SAXS", 10, LastNdays=1) == _files(runs, 104, 103)
    assert m.FindLastScanData("WAXS", 10, LastNdays=1) == []  # still running


def test_scan_by_name(matilda, runs):
    m = matilda("alice")
    assert m.FindScanDataByName("SAXS", "GC sample", 1, 1) == _files(runs, 104)
    assert m.FindScanDataByName("Flyscan", "GC sample", 5, 0) == _files(runs, 102)  # 105 aborted
    assert m.FindScanDataByName("Flyscan", "no such sample", 5, 1) == []


def test_last_blank(matilda, runs):
    m = matilda("alice")
    assert m.FindLastBlankScan("Flyscan", NumScans=1, lastNdays=1) == _files(runs, 101)
    assert m.FindLastBlankScan("Flyscan", NumScans=5, lastNdays=0) == _files(runs, 101, 90)
    assert m.FindLastBlankScan("SAXS", NumScans=1, lastNdays=1) == _files(
        runs, 103
    )  # "Water Blank"
    folder = str(runs.files[runs.uid_of(101)].parent)
    assert m.FindLastBlankScan("Flyscan", path=folder, NumScans=1, lastNdays=1) == _files(runs, 101)
    assert m.FindLastBlankScan("Flyscan", path="/elsewhere", NumScans=1, lastNdays=1) == []


def test_pipeline_key_sees_every_user(matilda, runs):
    m = matilda("pipeline")
    assert m.FindLastBlankScan("Flyscan", NumScans=2, lastNdays=1) == _files(runs, 201, 101)


def test_other_user_and_anonymous_get_nothing_of_alice(matilda, runs):
    bob = matilda("bob")
    assert bob.FindLastScanData("SAXS", 10, LastNdays=0) == []
    assert bob.FindLastBlankScan("Flyscan", NumScans=5, lastNdays=0) == _files(runs, 201)
    assert bob.FindScanDataByName("SAXS", "GC sample", 1, 0) == []
    anonymous = matilda(None)
    assert anonymous.FindLastScanData("Flyscan", 10, LastNdays=0) == []
    assert anonymous.FindLastBlankScan("Flyscan", NumScans=5, lastNdays=0) == []
    assert anonymous.FindScanDataByName("SAXS", "GC sample", 1, 0) == []
