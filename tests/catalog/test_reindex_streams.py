"""``catalog reindex`` rebuilds a run's event streams from its raw NeXus file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from plan_runner import run_plan

from usaxs_bluesky.callbacks.nexus_file import DESCRIPTOR_ATTR
from usaxs_bluesky.catalog.files import run_files
from usaxs_bluesky.catalog.integrity import reindex
from usaxs_bluesky.catalog.rebuild import STREAMS_PATH, stream_documents
from usaxs_bluesky.catalog.store import open_catalog
from usaxs_bluesky.cli import main
from usaxs_bluesky.plans.usaxs import uascan

pytestmark = pytest.mark.timeout(300)
POINTS = 12


def _table(node) -> dict[str, np.ndarray]:
    """Every column of a run's primary stream, as arrays."""
    data = node["primary"].read()
    names = list(getattr(data, "data_vars", None) or data.columns)
    if "time" in getattr(data, "coords", {}):
        names.append("time")
    return {name: np.asarray(data[name]) for name in names}


@pytest.fixture(scope="module")
def scanned(usaxs_session, tmp_path_factory):
    """A short uascan on the sim: (uid, its raw file copied alone into a folder, primary table)."""
    session = usaxs_session
    _, docs = run_plan(
        session,
        uascan(session.instrument, title="reindex me", thickness_mm=1.0, intervals=POINTS,
               count_time=0.05),
    )  # fmt: skip
    uid = next(doc for name, doc in docs if name == "start")["uid"]
    stop = next(doc for name, doc in docs if name == "stop")
    assert stop["exit_status"] == "success", stop.get("reason")
    (raw,) = [r for r in run_files(session.catalog[uid]) if r.kind == "raw"]
    path = Path(raw.path) if Path(raw.path).is_absolute() else session.data_dir / raw.path
    folder = tmp_path_factory.mktemp("files")
    shutil.copy2(path, folder / path.name)
    return uid, folder / path.name, _table(session.catalog[uid])


def test_reindex_of_a_deleted_catalog_rebuilds_every_primary_column(scanned, tmp_path, capsys):
    uid, raw, original = scanned
    assert len(original["time"]) == POINTS
    rebuilt_dir = tmp_path / "rebuilt"  # the catalog is gone: a new one from the file alone
    args = ["catalog", "reindex", "--data-dir", str(rebuilt_dir), str(raw.parent)]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "1 run(s) created, 0 already in the catalog, 1 file(s) recorded, 0 skipped" in out.out
    assert "stream not rebuilt" in out.err and "baseline" in out.err
    catalog = open_catalog(rebuilt_dir, create=False)
    rebuilt = _table(catalog[uid])
    assert sorted(rebuilt) == sorted(original) and len(original) > 5, sorted(original)
    for name, column in original.items():
        assert rebuilt[name].shape == column.shape, name
        assert rebuilt[name].dtype.kind == column.dtype.kind, name
        if column.dtype.kind in "fc":
            np.testing.assert_array_equal(rebuilt[name], column, err_msg=name)
        else:
            assert rebuilt[name].tolist() == column.tolist(), name
    assert catalog[uid].metadata["stop"]["num_events"]["primary"] == POINTS
    assert main(args) == 0  # again: nothing duplicated
    assert "0 run(s) created, 1 already in the catalog" in capsys.readouterr().out
    assert len(_table(catalog[uid])["time"]) == POINTS


def test_descriptor_of_another_run_is_refused_and_the_run_kept(scanned, tmp_path):
    uid, raw, _ = scanned
    bad = tmp_path / "files" / raw.name
    bad.parent.mkdir()
    shutil.copy2(raw, bad)
    with h5py.File(bad, "r+") as f:
        group = f[f"{STREAMS_PATH}/primary"]
        doc = json.loads(group.attrs[DESCRIPTOR_ATTR])
        doc["run_start"] = "someone-else"
        group.attrs[DESCRIPTOR_ATTR] = json.dumps(doc)
    with pytest.raises(ValueError, match="not one of run"):
        stream_documents(bad, uid)
    catalog = open_catalog(tmp_path / "cat")
    result = reindex(catalog, bad.parent)
    assert result.created == [uid] and result.skipped == []
    assert any("not one of run" in why for _, why in result.streams_not_rebuilt)
    assert "primary" not in catalog[uid]


def test_file_without_descriptors_gives_the_run_without_streams(scanned, tmp_path):
    uid, raw, _ = scanned
    old = tmp_path / "files" / raw.name
    old.parent.mkdir()
    shutil.copy2(raw, old)
    with h5py.File(old, "r+") as f:  # as files written before descriptors were kept
        for group in f[STREAMS_PATH].values():
            del group.attrs[DESCRIPTOR_ATTR]
    documents, not_rebuilt = stream_documents(old, uid)
    assert documents == [] and f"primary: no {DESCRIPTOR_ATTR} in the file" in not_rebuilt


def test_short_column_keeps_the_common_rows(scanned, tmp_path):
    uid, raw, original = scanned
    cut = tmp_path / raw.name
    shutil.copy2(raw, cut)
    with h5py.File(cut, "r+") as f:
        f[f"{STREAMS_PATH}/primary/time"].resize((5,))  # a file cut short after 5 rows
    documents, _ = stream_documents(cut, uid)
    pages = [doc for name, doc in documents if name == "event_page"]
    assert len(pages) == 1 and pages[0]["seq_num"] == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(pages[0]["time"], original["time"][:5])
    assert all(len(column) == 5 for column in pages[0]["data"].values())
