"""Retention can only be made safer: the 90-day floor from every source; prune in its own root,
crash-safe and logged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings

import pytest

from usaxs_bluesky.catalog.files import describe_file, record_files
from usaxs_bluesky.catalog.retention import LOG_NAME, MIN_DAYS_ENV, minimum_days
from usaxs_bluesky.catalog.store import open_catalog
from usaxs_bluesky.cli import main

BAD = ["nan", "inf", "-inf", "-5", "0", "89.9", "ninety"]


@pytest.mark.parametrize("value", BAD)
def test_cli_min_days_refused(fresh, capsys, value):
    args = ["retention", "prune", "--data-dir", str(fresh.data_dir), "--older-than", "400d"]
    assert main([*args, "--yes", f"--min-days={value}"]) == 2
    err = capsys.readouterr().err
    assert "--min-days" in err and "finite number of days >= 90" in err
    assert len(err.splitlines()) == 1
    assert len(list(fresh.catalog)) == 5


@pytest.mark.parametrize("value", BAD)
def test_env_min_days_refused(fresh, capsys, monkeypatch, value):
    monkeypatch.setenv(MIN_DAYS_ENV, value)
    args = ["retention", "prune", "--data-dir", str(fresh.data_dir), "--older-than", "400d"]
    assert main([*args, "--yes"]) == 2
    assert f"${MIN_DAYS_ENV}=" in capsys.readouterr().err
    assert len(list(fresh.catalog)) == 5


@pytest.mark.parametrize("value", [*BAD, float("nan"), float("inf"), -1.0, 0])
def test_config_min_days_refused(monkeypatch, value):
    monkeypatch.delenv(MIN_DAYS_ENV, raising=False)
    with pytest.raises(ValueError, match="config retention.min_days"):
        minimum_days(None, {"retention": {"min_days": value}})


def test_sources_only_raise_the_floor(monkeypatch):
    monkeypatch.delenv(MIN_DAYS_ENV, raising=False)
    assert minimum_days() == 90
    assert minimum_days(120) == 120
    monkeypatch.setenv(MIN_DAYS_ENV, "365")
    assert minimum_days(120, {"retention": {"min_days": 200}}) == 365
    assert minimum_days(400, {"retention": {"min_days": 200}}) == 400


def test_prune_of_a_copied_data_directory_removes_only_the_copy(fresh, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(fresh.data_dir, copy)
    args = ["retention", "prune", "--data-dir", str(copy), "--older-than", "120d", "--yes"]
    assert main(args) == 0, capsys.readouterr().err  # the copy's catalog follows the copy
    assert all(p.exists() for paths in fresh.files.values() for p in paths), "original intact"
    old = fresh.uids[3:]  # 200 and 400 days old
    for uid, paths in fresh.files.items():
        in_copy = [copy / p.relative_to(fresh.data_dir) for p in paths]
        assert all(p.exists() != (uid in old) for p in in_copy), uid
    assert (copy / LOG_NAME).exists() and not (fresh.data_dir / LOG_NAME).exists()


def test_prune_refuses_a_recorded_file_outside_its_data_root(fresh, tmp_path, capsys):
    outside = tmp_path / "elsewhere" / "keep.h5"
    outside.parent.mkdir()
    shutil.copy(fresh.files[fresh.uids[4]][0], outside)
    record_files(fresh.catalog, fresh.uids[4], [describe_file(outside, "raw")])
    args = ["retention", "prune", "--data-dir", str(fresh.data_dir), "--older-than", "120d"]
    assert main([*args, "--yes"]) == 2
    err = capsys.readouterr().err
    assert "outside the catalog's data root" in err and "nothing removed" in err
    assert outside.exists()
    assert all(p.exists() for paths in fresh.files.values() for p in paths), "nothing removed"


CRASHING_PRUNE = """
import os, sys
from usaxs_bluesky.cli import main
real_unlink = os.unlink
def unlink_then_die(path, *a, **k):
    real_unlink(path, *a, **k)
    os._exit(9)  # the process dies right after its first deletion
os.unlink = unlink_then_die
main(["retention", "prune", "--data-dir", sys.argv[1], "--older-than", "120d", "--yes"])
"""


def test_prune_killed_half_way_is_logged_and_resumed(fresh, capsys):
    listed = {fresh.uids[3], fresh.uids[4]}
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_PRUNE, str(fresh.data_dir)], env=os.environ, timeout=300
    )
    assert done.returncode == 9
    log = [json.loads(line) for line in (fresh.data_dir / LOG_NAME).read_text().splitlines()]
    assert [(e["state"], e["uid"]) for e in log] == [("removing", log[0]["uid"])]
    assert log[0]["uid"] in listed
    args = ["retention", "prune", "--data-dir", str(fresh.data_dir), "--older-than", "120d"]
    assert main([*args, "--yes"]) == 0
    capsys.readouterr()
    log = [json.loads(line) for line in (fresh.data_dir / LOG_NAME).read_text().splitlines()]
    removed = [e for e in log if e["state"] == "removed"]
    assert {e["uid"] for e in removed} == listed
    gone = {str(p) for uid in listed for p in fresh.files[uid]}
    assert {f for e in removed for f in e["files_removed"] + e["files_already_missing"]} == gone
    assert not any(os.path.exists(p) for p in gone)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        catalog = open_catalog(fresh.data_dir, create=False)
    assert listed.isdisjoint(set(catalog)) and len(list(catalog)) == 3
