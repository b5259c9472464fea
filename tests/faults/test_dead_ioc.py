"""The IOC dies during a uascan: the plan ends (no hang), naming the dead PV, not the shutter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py

from usaxs_bluesky.plan_stubs.waits import WAIT_MARGIN_ENV

WORKER = Path(__file__).with_name("dead_ioc_worker.py")


def test_killed_ioc_ends_the_scan_naming_the_first_failure(tmp_path):
    env = {**os.environ, WAIT_MARGIN_ENV: "5"}
    worker = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", str(WORKER), str(tmp_path / "data"), "200"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines, sim_pid = [], None
    try:
        for line in worker.stdout:
            lines.append(line)
            if line.startswith("sim "):
                sim_pid = int(line.split()[1])
            if line.startswith("event 3"):
                os.kill(sim_pid, signal.SIGKILL)
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
        if sim_pid is not None:
            try:
                os.kill(sim_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    out = "".join(lines)
    assert worker.returncode == 0 and "done" in out, out
    stop = next(line for line in lines if line.startswith("stop "))
    raised = next(line for line in lines if line.startswith("raised "))
    assert stop.startswith("stop fail"), out
    for text in (stop, raised):
        assert "shutter" not in text.lower(), out
        assert "(usx" in text, out  # the device and its PV
    # what was measured before the IOC died is in the file, under its final name
    (raw,) = (tmp_path / "data").rglob("dead_*.h5")
    with h5py.File(raw, "r") as f:
        assert f["/entry/exit_status"][()] == b"fail"
        assert len(f["/entry/instrument/bluesky/streams/primary/time"]) >= 3
