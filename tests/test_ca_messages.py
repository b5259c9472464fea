"""The simulator stopped under a connected session: libca's "Virtual circuit disconnect"
block goes to ``<data_dir>/ca_messages.log``, one line, not to the user's stderr."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from usaxs_bluesky.ca_messages import LOG_FILE

pytestmark = pytest.mark.timeout(300)

SCRIPT = """
import os, sys, time
from pathlib import Path
from usaxs_sim.launcher import SimProcess
sim = SimProcess(time_scale=0.02, timeout=60).start()
os.environ.update(sim.client_env)
from usaxs_bluesky.session import make_session
session = make_session(sys.argv[1], reduce_live=False, connect_timeout=30)
sim.stop()
log = Path(sys.argv[1]) / sys.argv[2]
deadline = time.monotonic() + 60
while "Virtual circuit disconnect" not in (log.read_text() if log.exists() else ""):
    assert time.monotonic() < deadline, "libca never reported the lost IOC"
    time.sleep(0.1)
session.close()
print("done")
"""


def test_a_lost_ioc_is_logged_not_printed(tmp_path):
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPICS_")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data_dir), LOG_FILE],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 and done.stdout.strip() == "done", output
    assert "CA.Client.Exception" not in output and "Virtual circuit" not in output, output
    (line,) = [x for x in (data_dir / LOG_FILE).read_text().splitlines() if "Virtual" in x]
    assert "WARNING Virtual circuit disconnect: " in line
