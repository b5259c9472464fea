"""Disk full, on a real small tmpfs: refused before a run, or ENOSPC mid-run kept and reported."""

from __future__ import annotations

import warnings

import h5py
import pytest
from fault_helpers import fill
from test_killed_scan import start_worker

from usaxs_bluesky.callbacks.nexus_writer import RESERVE_BYTES
from usaxs_bluesky.catalog.files import run_files
from usaxs_bluesky.catalog.integrity import verify_catalog
from usaxs_bluesky.catalog.store import open_catalog
from usaxs_bluesky.contract.files import ORDER_FILE
from usaxs_bluesky.disk_space import MIN_FREE_ENV, DiskSpaceError, check_free_space
from usaxs_bluesky.disk_space import free_space_margin as margin_of


def test_margin_sources_refuse_nonsense(monkeypatch):
    monkeypatch.delenv(MIN_FREE_ENV, raising=False)
    assert margin_of(None, {"data": {"min_free_mb": 5}}) == 5
    monkeypatch.setenv(MIN_FREE_ENV, "7")
    assert margin_of(None, {"data": {"min_free_mb": 5}}) == 7
    assert margin_of(3, {}) == 3
    for bad in ("nan", "inf", "-1", "lots"):
        with pytest.raises(ValueError, match="min_free_mb"):
            margin_of(bad, {})


def test_too_little_space_refused_before_the_run(small_disk):
    fill(small_disk, 1 << 20)
    with pytest.raises(DiskSpaceError, match=r"run refused: only 1\.0 MB free .* margin is 2 MB"):
        check_free_space(small_disk / "user" / "not_yet_made", 2)


def test_enospc_mid_run_fails_the_run_keeps_the_file(sim_ioc, small_disk, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    fill(small_disk, RESERVE_BYTES + (300 << 10))
    monkeypatch.setenv(MIN_FREE_ENV, "0.1")
    worker = start_worker(data_dir, 10, "full", str(small_disk))
    lines = []
    for line in worker.stdout:
        lines.append(line)
        if line.startswith("event 3"):
            fill(small_disk, 0)  # the disk fills up during the run
    out = "".join(lines)
    worker.wait(timeout=60)
    assert worker.returncode == 0, f"the process crashed (code {worker.returncode}):\n{out}"
    raised = next(line for line in out.splitlines() if line.startswith("raised "))
    assert "nexus_writer" in raised and "No space left on device" in raised
    uid = next(line for line in out.splitlines() if line.startswith("start ")).split()[2]
    kept = list(small_disk.rglob("*.incomplete.h5"))
    assert len(kept) == 1 and not list(small_disk.rglob("full_*[0-9].h5")), "never a final name"
    left = [p for p in small_disk.rglob(".*") if p.name != ORDER_FILE]  # the order numbers stay
    assert not left, "no partial or reserve file left"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        catalog = open_catalog(data_dir, create=False)
    node = catalog[uid]
    assert node.metadata["stop"]["exit_status"] == "fail"
    assert "No space left on device" in node.metadata["stop"]["reason"]
    assert [(r.path, r.kind) for r in run_files(node)] == [(str(kept[0]), "raw")]
    (small_disk / "filler").unlink()
    with h5py.File(kept[0], "r") as f:  # readable once space is back
        assert f["/entry/instrument/bluesky/start_document"][()]


def test_verify_flags_a_finished_run_without_its_file(sim_ioc, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    monkeypatch.setenv(MIN_FREE_ENV, "0.1")
    worker = start_worker(data_dir, 3, "gone")
    out, _ = worker.communicate(timeout=300)
    assert "stop success" in out, out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        catalog = open_catalog(data_dir, create=False)
    (uid,) = list(catalog)
    node = catalog[uid]
    node.update_metadata({"usaxs_files": []})  # as when the file was never recorded
    checked, problems = verify_catalog(catalog)
    assert [(p.uid, p.reason) for p in problems] == [(uid, "no file")]
    assert problems[0].path.endswith(".h5")
