"""``usaxs catalog verify`` and ``reindex``: the catalog agrees with the files on disk."""

from __future__ import annotations

import json
import shutil

from usaxs_bluesky.catalog.files import FileRecord, FileRecorder, record_files, run_files
from usaxs_bluesky.catalog.integrity import reindex, verify_catalog
from usaxs_bluesky.catalog.search import find_runs
from usaxs_bluesky.catalog.store import embedded_paths, open_catalog
from usaxs_bluesky.cli import main

from .conftest import RUNS


def test_files_recorded_once_per_path(fresh):
    uid = fresh.uids[0]
    raw = fresh.files[uid][0]
    FileRecorder(fresh.catalog)(uid, raw, "raw")  # again: replaces, not duplicates
    records = run_files(fresh.catalog[uid])
    assert [r.kind for r in records] == ["reduced", "raw"]
    assert records[1] == FileRecord(str(raw), "raw", records[1].sha256, raw.stat().st_size)
    extra = FileRecord("/elsewhere/plot.png", "plot", "0" * 64, 3)
    assert len(record_files(fresh.catalog, uid, [extra])) == 3


def test_verify_lists_missing_and_changed_files(fresh, capsys):
    args = ["catalog", "verify", "--data-dir", str(fresh.data_dir)]
    assert main(args) == 0
    assert "10 recorded file(s) present" in capsys.readouterr().out
    changed, gone = fresh.files[fresh.uids[1]][0], fresh.files[fresh.uids[2]][1]
    data = bytearray(changed.read_bytes())
    data[-5] ^= 1
    changed.write_bytes(bytes(data))
    gone.unlink()
    checked, problems = verify_catalog(fresh.catalog)
    assert checked == 10
    assert {(p.path, p.reason) for p in problems} == {
        (str(changed), "checksum"),
        (str(gone), "missing"),
    }
    assert main(args) == 1
    out = capsys.readouterr().out
    assert str(changed) in out and str(gone) in out


def _summary_set(catalog):
    return {
        (
            r.uid,
            r.user,
            r.sample,
            r.plan,
            r.exit_status,
            tuple(sorted(r.files, key=lambda f: f.path)),
        )
        for r in find_runs(catalog=catalog)
    }


def test_reindex_rebuilds_a_deleted_catalog(fresh, tmp_path, capsys):
    before = _summary_set(fresh.catalog)
    (fresh.data_dir / "files" / "notes.h5").write_bytes(b"")  # not HDF5: skipped
    import h5py

    with h5py.File(fresh.data_dir / "files" / "foreign.h5", "x") as f:
        f["/entry/title"] = "written by someone else"
    # the catalog is lost; a new one is built from the files alone (in a new process this
    # would be the same data directory; here the old one is still open, so use another)
    shutil.rmtree(embedded_paths(fresh.data_dir)["root"])
    rebuilt = tmp_path / "rebuilt"
    args = ["catalog", "reindex", "--data-dir", str(rebuilt), str(fresh.data_dir / "files")]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "5 run(s) created, 0 already in the catalog, 10 file(s) recorded, 2 skipped" in out.out
    assert "foreign.h5" in out.err
    catalog = open_catalog(rebuilt, create=False)
    assert _summary_set(catalog) == before
    assert [r.sample for r in find_runs(catalog=catalog, user="bob", sample="50%")] == [
        "Spheres 50%_a"
    ]
    # a second reindex duplicates nothing
    assert main(args) == 0
    assert "0 run(s) created, 5 already in the catalog" in capsys.readouterr().out
    assert len(catalog) == len(RUNS)
    assert _summary_set(catalog) == before


def test_reindex_adds_only_missing_runs(fresh):
    gone = fresh.uids[2]
    fresh.catalog.delete_contents(gone, recursive=True, external_only=False)
    result = reindex(fresh.catalog, fresh.data_dir / "files")
    assert result.created == [gone]
    assert sorted(result.present) == sorted(set(fresh.uids) - {gone})
    start = fresh.catalog[gone].metadata["start"]
    assert json.loads(json.dumps(start))["title"] == RUNS[2][1]
