"""Helpers of the fault tests: a real ``usaxs serve`` process to kill and restart; disk filling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from plan_runner import poll
from usaxs_sim.launcher import free_port

STAFF_KEY = "faults_staff_key_0123456789"
MOUNT_SIZE = "8m"


class CatalogServer:
    """``usaxs serve`` over the embedded catalog of ``data_dir`` on a fixed loopback port."""

    def __init__(self, data_dir: Path, keys: Path) -> None:
        self.data_dir, self.keys = data_dir, keys
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def _answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, "server exited"
        try:
            return httpx.get(f"{self.url}/api/v1/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        cmd = [sys.executable, "-m", "usaxs_bluesky.cli", "serve", "--port", str(self.port),
               "--data-dir", str(self.data_dir), "--keys", str(self.keys)]  # fmt: skip
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ
        )
        poll(self._answers, f"usaxs serve on port {self.port}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)
        self.process = None


def fill(disk: Path, leave_bytes: int) -> None:
    """Fill ``disk`` with one file until ``leave_bytes`` remain free."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "ab") as stream:
        stream.write(b"\0" * max(free - leave_bytes, 0))
