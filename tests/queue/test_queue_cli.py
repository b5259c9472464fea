"""``usaxs queue start`` as a user runs it: RE Manager (and the HTTP door) up, then stopped."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml
from plan_runner import poll
from queue_helpers import TIMEOUT_S
from usaxs_sim.launcher import free_port

from usaxs_bluesky.queue.manager import EXISTING, PERMISSIONS


def _answers(addr):
    from bluesky_queueserver_api.zmq import REManagerAPI

    api = REManagerAPI(zmq_control_addr=addr, timeout_recv=0.5)
    try:
        return api.status()["manager_state"] == "idle"
    except Exception:  # noqa: BLE001 - any failure means not answering yet
        return False
    finally:
        api.close()


def test_queue_start_serves_until_terminated(sim_ioc, redis_server, tmp_path):
    port, http_port = free_port(), free_port()
    usaxs = Path(sys.executable).parent / "usaxs"
    command = [
        str(usaxs), "queue", "start", "--data-dir", str(tmp_path / "data"), "--port", str(port),
        "--redis-addr", redis_server.addr, "--http-port", str(http_port),
    ]  # fmt: skip
    log = open(tmp_path / "out.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        poll(lambda: "HTTP server" in (tmp_path / "out.log").read_text(), "start", TIMEOUT_S)
        assert _answers(f"tcp://127.0.0.1:{port}")
        config_dir = tmp_path / "data" / "queue"
        listed = yaml.safe_load((config_dir / EXISTING).read_text())
        assert "saxsExp" in listed["existing_plans"]
        assert "staff" in yaml.safe_load((config_dir / PERMISSIONS).read_text())["user_groups"]
        out = (tmp_path / "out.log").read_text()
        assert f"RE Manager on tcp://127.0.0.1:{port} (worker: IPython kernel)" in out
        assert f"HTTP server http://127.0.0.1:{http_port}" in out
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(TIMEOUT_S) == 0
        assert not _answers(f"tcp://127.0.0.1:{port}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
