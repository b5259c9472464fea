"""``usaxs demo``, the README's main job, as a user runs it: what it prints is the experiment.

No libca repeater warnings (they came a minute after each client started, from the demo
and from its live page), no simulator disconnect warnings, no Tiled banner, no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from usaxs_sim.launcher import free_port

pytestmark = pytest.mark.timeout(900)

NOISE = (
    "CA repeater",  # "CA client library is unable to contact CA repeater after 50 tries."
    "ca_pend_event",  # "... or by calling ca_pend_event() and or ca_poll() more often."
    "Tiled version",
    "isconnected",  # pyepics / ophyd / caproto "Disconnected", "Channel ... disconnected"
    "Traceback",
)


def test_demo_output_has_no_noise(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPICS_")}  # as a user's
    cmd = [sys.executable, "-m", "usaxs_bluesky.cli", "demo", "--data-dir", str(tmp_path / "d"),
           "--live-port", str(free_port())]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=850)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "10 runs in the catalog" in done.stdout, output
    noisy = [line for line in output.splitlines() if any(n in line for n in NOISE)]
    assert noisy == [], output
