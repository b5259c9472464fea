"""Export: space counted in whole blocks plus the manifests, on a real small tmpfs; never into the
data directory."""

from __future__ import annotations

import os

import pytest
from fault_helpers import fill

from usaxs_bluesky.catalog.export import (
    ExportError,
    _blocks,
    check_space,
    export_runs,
    plan_export,
    verify_export,
)
from usaxs_bluesky.catalog.search import find_runs
from usaxs_bluesky.cli import main


def test_space_counts_blocks_and_manifests(filled, small_disk):
    runs = find_runs(catalog=filled.catalog, user="alice")
    dest = small_disk / "export"
    plan = plan_export(runs, dest)
    block = os.statvfs(small_disk).f_frsize
    raw_total = sum(item.size for item in plan.todo)
    fill(small_disk, _blocks(raw_total, block))  # room for the bytes, not for the blocks
    with pytest.raises(ExportError, match="not enough space"):
        check_space(plan)
    (small_disk / "filler").unlink()
    needed, _ = check_space(plan)
    fill(small_disk, needed)  # exactly what the check asks for: the export fits, manifests too
    export_runs(runs, dest)
    assert verify_export(dest) == []


def test_export_into_the_data_directory_refused(filled, capsys):
    dest = filled.data_dir / "files" / "export"
    runs = find_runs(catalog=filled.catalog, user="alice")
    with pytest.raises(ExportError, match="inside the data directory"):
        export_runs(runs, dest, data_dir=filled.data_dir)
    args = ["export", "--user", "alice", "--to", str(dest), "--data-dir", str(filled.data_dir)]
    assert main(args) == 2
    assert "inside the data directory" in capsys.readouterr().err
    assert not dest.exists()
