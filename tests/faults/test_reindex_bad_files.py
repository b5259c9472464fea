"""``catalog reindex`` over hostile files: each bad one skipped with its reason, the rest in."""

from __future__ import annotations

import json

import h5py
from catalog.conftest import write_nexus
from event_model import compose_run

from usaxs_bluesky.catalog.files import run_files
from usaxs_bluesky.catalog.integrity import START_PATH, STOP_PATH, reindex
from usaxs_bluesky.cli import main


def _raw(path, start_text, stop_text=None, *, group=False):
    with h5py.File(path, "x") as f:
        if group:
            f.create_group(START_PATH)
        else:
            f[START_PATH] = start_text
        if stop_text is not None:
            f[STOP_PATH] = stop_text
    return path


def test_bad_files_skipped_the_rest_indexed(fresh, tmp_path, capsys):
    folder = tmp_path / "incoming"
    folder.mkdir()
    good = compose_run(metadata={"title": "good", "user_name": "dan"})
    write_nexus(folder / "a_good.h5", dict(good.start_doc), dict(good.compose_stop()))
    other = compose_run(metadata={"title": "other"})
    stray_stop = json.dumps(dict(other.compose_stop()))
    bad = {
        "b_list.h5": (json.dumps([1, 2, 3]), None),
        "c_no_uid.h5": (json.dumps({"time": 1.0}), None),
        "d_not_json.h5": ("{start: oops", None),
        "e_nan_time.h5": (json.dumps({"uid": "x1", "time": float("nan")}), None),
        "f_stray_stop.h5": (json.dumps({"uid": "x2", "time": 2.0}), stray_stop),
        "g_number.h5": ("42", None),
    }
    for name, (start_text, stop_text) in bad.items():
        _raw(folder / name, start_text, stop_text)
    _raw(folder / "h_group.h5", "", group=True)
    (folder / "i_garbage.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    result = reindex(fresh.catalog, folder)
    assert result.created == [good.start_doc["uid"]]
    skipped = dict(result.skipped)
    assert sorted(p.rsplit("/", 1)[1] for p in skipped) == sorted(
        [*bad, "h_group.h5", "i_garbage.h5"]
    )
    assert "malformed start document" in skipped[str(folder / "b_list.h5")]
    assert "malformed stop document" in skipped[str(folder / "f_stray_stop.h5")]
    node = fresh.catalog[good.start_doc["uid"]]
    assert [r.path for r in run_files(node)] == [str(folder / "a_good.h5")]
    # the command says it too, and exits 0: the good runs were indexed
    assert main(["catalog", "reindex", "--data-dir", str(fresh.data_dir), str(folder)]) == 0
    captured = capsys.readouterr()
    assert "1 already in the catalog" in captured.out and "8 skipped" in captured.out
    assert "skipped" in captured.err and "b_list.h5" in captured.err
