"""A sim killed under a connected client restarts on its port; the client is back in seconds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).with_name("reconnect_worker.py")
DEADLINE_S = 15.0  # before SO_REUSEADDR the restart itself was refused for ~54 s
DOWN_S = 10.0


def test_client_reconnects_after_ioc_restart():
    done = subprocess.run(
        [sys.executable, str(WORKER), str(DEADLINE_S), str(DOWN_S)],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
    )
    lines = done.stdout.splitlines()
    assert lines[:2] == ["connected", "disconnected"], done.stdout + done.stderr
    assert lines[2].startswith("reconnected"), done.stdout + done.stderr
