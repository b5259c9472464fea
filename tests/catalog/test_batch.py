"""Batch reindex: runs rebuilt from files many per transaction equal the runs written live."""

from __future__ import annotations

import json
import math
import sqlite3
import warnings

import pytest
from event_model import compose_run

from usaxs_bluesky.catalog import direct
from usaxs_bluesky.catalog.batch import NewRun, insert_runs, run_node
from usaxs_bluesky.catalog.integrity import reindex
from usaxs_bluesky.catalog.search import Criteria
from usaxs_bluesky.catalog.store import embedded_paths, open_catalog
from usaxs_bluesky.cli import main

from .conftest import copy_empty_catalog, write_nexus


def _nodes(data_dir) -> dict[str, tuple]:
    """``{key: (structure_family, metadata, specs)}`` of the runs, as stored."""
    with sqlite3.connect(embedded_paths(data_dir)["catalog"]) as db:
        rows = db.execute(
            "SELECT key, structure_family, metadata, specs FROM nodes WHERE parent IS NOT NULL"
        ).fetchall()
    return {key: (family, json.loads(md), json.loads(specs)) for key, family, md, specs in rows}


@pytest.mark.parametrize("batched", [True, False], ids=["sql batch", "one request per run"])
def test_rebuilt_equals_live(fresh, tmp_path, empty_catalog, batched):
    """The catalog rebuilt from files has the nodes, files and search results of the live one."""
    rebuilt_dir = tmp_path / "rebuilt"
    rebuilt = copy_empty_catalog(rebuilt_dir, empty_catalog)
    catalog_db = embedded_paths(rebuilt_dir)["catalog"] if batched else None
    result = reindex(rebuilt, fresh.data_dir / "files", catalog_db=catalog_db)
    assert sorted(result.created) == sorted(fresh.uids) and not result.skipped
    assert result.recorded == 2 * len(fresh.uids)
    assert _nodes(rebuilt_dir) == _nodes(fresh.data_dir)
    for criteria in (Criteria(), Criteria(user="bob"), Criteria(sample="spheres")):
        assert direct.page(rebuilt_dir, criteria, limit=50) == direct.page(
            fresh.data_dir, criteria, limit=50
        )
    assert rebuilt[fresh.uids[0]].metadata["start"]["uid"] == fresh.uids[0]  # Tiled reads it


def test_reindex_again_changes_nothing(fresh, capsys):
    """Every run is already there with its files: nothing is created or written again."""
    before = _nodes(fresh.data_dir)
    args = ["catalog", "reindex", "--data-dir", str(fresh.data_dir), str(fresh.data_dir / "files")]
    assert main(args) == 0
    assert (
        "0 run(s) created, 5 already in the catalog, 10 file(s) recorded" in capsys.readouterr().out
    )
    assert _nodes(fresh.data_dir) == before


def test_cli_batches_new_runs(tmp_path, empty_catalog, capsys):
    """``usaxs catalog reindex`` on the embedded catalog: many runs, one with nan refused alone."""
    folder = tmp_path / "files"
    uids = []
    for i in range(30):
        bundle = compose_run(metadata={"user_name": f"u{i % 3}", "title": f"s {i}"})
        write_nexus(folder / f"run_{i:02d}.h5", dict(bundle.start_doc), dict(bundle.compose_stop()))
        uids.append(bundle.start_doc["uid"])
    bad = compose_run(metadata={"user_name": "u0", "title": "bad", "gain": math.nan})
    write_nexus(folder / "bad.h5", dict(bad.start_doc), dict(bad.compose_stop()))
    data_dir = tmp_path / "data"
    copy_empty_catalog(data_dir, empty_catalog)
    assert main(["catalog", "reindex", "--data-dir", str(data_dir), str(folder)]) == 0
    captured = capsys.readouterr()
    assert "30 run(s) created, 0 already in the catalog, 30 file(s) recorded, 1 skipped" in (
        captured.out
    )
    assert f"catalog refused run {bad.start_doc['uid']}" in captured.err
    assert sorted(_nodes(data_dir)) == sorted(uids)
    assert direct.page(data_dir, Criteria(user="u1"), limit=50).total == 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        catalog = open_catalog(data_dir, create=False)
    assert len(catalog[uids[4]].metadata["usaxs_files"]) == 1


def test_insert_leaves_a_present_run(tmp_path, empty_catalog):
    data_dir = tmp_path / "data"
    copy_empty_catalog(data_dir, empty_catalog)
    bundle = compose_run(metadata={"title": "x"})
    node = run_node(dict(bundle.start_doc), None, {})
    db = embedded_paths(data_dir)["catalog"]
    assert insert_runs(db, [node]) == ([node.key], [])
    changed = NewRun(node.key, {"start": {"uid": node.key, "title": "other"}}, node.specs)
    assert insert_runs(db, [changed]) == ([], [node.key])
    assert _nodes(data_dir)[node.key][1]["start"]["title"] == "x"


@pytest.mark.parametrize("key", ["start", "stop"])
def test_json_refuses_nan(key):
    docs = {"start": {"uid": "abc", "time": 1.0}, "stop": {"run_start": "abc", "time": 2.0}}
    docs[key]["gain"] = math.nan
    with pytest.raises(ValueError):
        run_node(docs["start"], docs["stop"], {}).rows()


def test_huge_numbers_truncated_as_tiledwriter_does():
    start = {"uid": "abc", "time": 1.0, "gain": math.inf, "count": 2**70}
    stored = json.loads(run_node(start, None, {}).rows()[1])["start"]
    assert stored["gain"] == 1.7976e308 and stored["count"] == 2**53 - 1
