"""A scanning process killed with SIGKILL keeps every point flushed before the kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
from plan_runner import poll

from usaxs_bluesky.contract.publish import PARTIAL

WORKER = Path(__file__).with_name("scan_worker.py")
ROWS_BEFORE_KILL = 5
TIME = "/entry/instrument/bluesky/streams/primary/time"


def start_worker(
    data_dir: Path, intervals: int, title: str = "worker", raw_dir: str = ""
) -> subprocess.Popen:
    """The scan worker on the sim (this session's CA environment), stdout piped, line-buffered."""
    return subprocess.Popen(
        [
            sys.executable,
            "-X",
            "faulthandler",
            str(WORKER),
            str(data_dir),
            str(intervals),
            title,
            raw_dir,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env=os.environ,
    )


def partial_rows(data_dir: Path) -> int:
    """Rows readable now in the (one) partial file under ``data_dir``; 0 if none yet."""
    for path in data_dir.rglob(f".*{PARTIAL}*"):
        try:
            with h5py.File(path, "r", locking=False) as f:
                return len(f[TIME]) if TIME in f else 0
        except (OSError, KeyError, RuntimeError):  # mid-write (no SWMR): read again
            return 0
    return 0


def test_sigkill_mid_scan_keeps_the_flushed_rows(sim_ioc, tmp_path):
    data_dir = tmp_path / "data"
    worker = start_worker(data_dir, intervals=200)
    try:
        for line in worker.stdout:
            assert not line.startswith("error"), line
            if line.startswith("event"):
                break
        poll(lambda: partial_rows(data_dir) >= ROWS_BEFORE_KILL, "rows on the disk")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    partials = list(data_dir.rglob(f".*{PARTIAL}*"))
    assert len(partials) == 1
    with h5py.File(partials[0], "r") as f:
        times = f[TIME][()]
        assert len(times) >= ROWS_BEFORE_KILL
        assert np.all(np.diff(times) > 0) and np.all(times > 1e9)
        assert len(f["/entry/instrument/bluesky/streams/primary/a_stage_r"]) == len(times)
