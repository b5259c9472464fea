"""A data directory made on the simulator, copied elsewhere and the original deleted: the
paths every client reads (start ``hdf5_path``, file records, asset URIs) name the new place.

Matilda's ``readfromtiled`` functions, unchanged, against ``usaxs serve`` of the copy: the
``[hdf5_path, hdf5_file]`` they return open; the start values as recorded are kept.
"""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from usaxs_bluesky.catalog.files import run_files, sha256_file
from usaxs_bluesky.catalog.integrity import reindex
from usaxs_bluesky.catalog.relocate import RECORDED_KEY, moved_roots, rerooted_metadata
from usaxs_bluesky.catalog.store import open_catalog

from .conftest import copy_empty_catalog
from .served import KEYS, matilda_at, serve_with_keys

pytestmark = pytest.mark.timeout(600)

USER = "alice"  # a user of the test keys (served.KEYS)
BLANK, SAMPLE = "Water blank", "Glassy carbon"
COMMANDS = f"""\
saxs  0   0  1.0    "{BLANK}"
saxs  40  0  1.055  "{SAMPLE}"
"""


def _measure(data_dir: Path) -> list[str]:
    """Run :data:`COMMANDS` as USER in a session of its own on ``data_dir``; return the uids."""
    from bluesky import plan_stubs as bps

    from usaxs_bluesky.plans.command_file import run_command_file
    from usaxs_bluesky.session import make_session

    session = make_session(data_dir, connect_timeout=30, reduce_live=False)
    user = session.instrument.user_data.user_name
    before = user.get()
    uids: list[str] = []
    token = session.RE.subscribe(lambda name, doc: uids.append(doc["uid"]), "start")
    try:
        commands = data_dir / "commands.txt"
        commands.write_text(COMMANDS)
        session.RE(bps.mv(user, USER))
        session.RE(run_command_file(session.instrument, commands, user_name=USER))
    finally:
        session.RE.unsubscribe(token)
        if before:  # an empty CHAR waveform cannot be written back
            session.RE(bps.mv(user, before))
        session.close()
        session.RE.md = {}  # its PersistentDict saves when collected: now, while its folder exists
    return uids


@pytest.fixture(scope="module")
def moved(sim_ioc, tmp_path_factory):
    """(original dir, copy dir, uids): two SAXS runs measured on the sim, the data copied to a
    path with a space, the original deleted."""
    original = tmp_path_factory.mktemp("measured") / "data"
    uids = _measure(original)
    gc.collect()  # the session's cycles go before its folder does
    copy = tmp_path_factory.mktemp("elsewhere") / "moved data"
    shutil.copytree(original, copy)
    shutil.rmtree(original)
    return original, copy, uids


@pytest.fixture(scope="module")
def server(moved, tmp_path_factory):
    yield from serve_with_keys(moved[1], tmp_path_factory)


def _opened(path: str, name: str) -> str:
    """The title of the raw file ``path/name`` (opening it)."""
    with h5py.File(Path(path) / name, "r") as f:
        return str(np.ravel(f["/entry/title"].asstr()[()])[0])


def test_matilda_finds_and_opens_the_moved_files(readfromtiled, server, moved, monkeypatch):
    original, copy, _ = moved
    m = matilda_at(readfromtiled, server, monkeypatch)(USER)
    found = m.FindLastScanData("SAXS", 10, LastNdays=1)
    assert len(found) == 2
    for path, _name in found:
        assert path.startswith(str(copy) + "/")
    assert [_opened(*f) for f in found] == [SAMPLE, BLANK]  # newest first
    assert [_opened(*f) for f in m.FindScanDataByName("SAXS", SAMPLE, 1, 1)] == [SAMPLE]
    folder = found[0][0]
    (blank,) = m.FindLastBlankScan("SAXS", path=folder, NumScans=1, lastNdays=1)
    assert _opened(*blank) == BLANK
    old_folder = folder.replace(str(copy), str(original), 1)
    assert m.FindLastBlankScan("SAXS", path=old_folder, NumScans=1, lastNdays=1) == []


def test_every_path_served_is_under_the_new_root(server, moved):
    original, copy, uids = moved
    catalog = open_catalog(uri=server, api_key=KEYS["staff"])
    for uid in uids:
        run = catalog[uid]
        start = run.metadata["start"]
        assert start["hdf5_path"].startswith(str(copy) + "/")
        assert start["command_file"] == str(copy / "commands.txt")
        recorded = run.metadata[RECORDED_KEY]
        assert recorded["hdf5_path"] == start["hdf5_path"].replace(str(copy), str(original), 1)
        (raw,) = [r for r in run_files(run) if r.kind == "raw"]
        assert raw.path == str(Path(start["hdf5_path"]) / start["hdf5_file"])
        assert sha256_file(raw.path) == raw.sha256
        assert len(run["primary"].read()) >= 1  # the event tables' asset URIs followed
        replayed = next(doc for name, doc in run.documents() if name == "start")
        assert replayed["hdf5_path"] == start["hdf5_path"]


def test_a_second_move_keeps_the_first_record(moved, tmp_path):
    original, copy, uids = moved
    again = tmp_path / "again"
    shutil.copytree(copy, again)
    run = open_catalog(again, create=False)[uids[0]]
    assert run.metadata["start"]["hdf5_path"].startswith(str(again) + "/")
    assert run.metadata[RECORDED_KEY]["hdf5_path"].startswith(str(original) + "/")


def test_reindexed_after_the_move_names_the_files_where_they_are(moved, tmp_path, empty_catalog):
    """The catalog lost as well: rebuilt from the moved files, the runs name the new place."""
    original, copy, uids = moved
    again = tmp_path / "rebuilt"
    shutil.copytree(copy, again, ignore=shutil.ignore_patterns("catalog"))
    catalog = copy_empty_catalog(again, empty_catalog)
    result = reindex(catalog, again)
    assert sorted(result.created) == sorted(uids)
    for uid in uids:
        metadata = catalog[uid].metadata
        start = metadata["start"]
        assert start["hdf5_path"].startswith(str(again) + "/")
        assert (Path(start["hdf5_path"]) / start["hdf5_file"]).is_file()
        assert metadata[RECORDED_KEY]["hdf5_path"].startswith(str(original) + "/")


@pytest.mark.parametrize(
    "recorded, actual, roots",
    [
        ("/old/d/2026-12/u/saxs", "/new place/2026-12/u/saxs", ("/old/d", "/new place")),
        ("/old/d/saxs", "/old/d/saxs", None),
        ("/a/saxs", "/b/waxs", ("/a/saxs", "/b/waxs")),  # nothing in common but the root
        ("/d/saxs", "/deeper/d/saxs", ("/", "/deeper")),
    ],
)
def test_moved_roots(recorded, actual, roots):
    assert moved_roots(recorded, actual) == roots


@pytest.mark.parametrize(
    "start, expected, recorded",
    [
        ({"hdf5_path": "/old/d/x"}, {"hdf5_path": "/new/x"}, {"hdf5_path": "/old/d/x"}),
        ({"hdf5_path": "/old/dd/x"}, {"hdf5_path": "/old/dd/x"}, None),  # a sibling
        ({"title": "old/d/x", "n": 3}, {"title": "old/d/x", "n": 3}, None),  # not absolute
        ({"a": {"b": ["/old/d"]}}, {"a": {"b": ["/new"]}}, {"a.b[0]": "/old/d"}),
        ({"hdf5_path": float("nan")}, {"hdf5_path": float("nan")}, None),
    ],
    ids=["under", "sibling", "relative", "nested", "not a string"],
)
def test_rerooted_metadata(start, expected, recorded):
    out = rerooted_metadata({"start": start}, "/old/d", "/new")
    assert repr(out["start"]) == repr(expected)
    assert out.get(RECORDED_KEY) == recorded
