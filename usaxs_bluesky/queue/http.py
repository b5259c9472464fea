"""bluesky-httpserver in front of RE Manager, on loopback, with an API key.

The key (``QSERVER_HTTP_SERVER_SINGLE_USER_API_KEY``, letters and digits)
is required on every request except the public status; its requests belong
to one queue user group (``users`` by default), so the group's allow list
applies to everything submitted through the door.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from usaxs_sim.launcher import free_port

from .manager import HOST, POLL_S, console_script, stop_process_group

API_KEY_ENV = "QSERVER_HTTP_SERVER_SINGLE_USER_API_KEY"
CONFIG_NAME = "http_server.yml"


@dataclass
class HttpServerProcess:
    """``start-bluesky-httpserver`` on ``127.0.0.1:port`` for RE Manager at ``control_addr``."""

    config_dir: Path
    control_addr: str
    info_addr: str
    group: str = "users"
    api_key: str = field(default_factory=lambda: secrets.token_hex(32))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        """Base URI of the server (``REManagerAPI(http_server_uri=...)``)."""
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the server's output goes."""
        return Path(self.config_dir) / "http_server.log"

    def write_config(self) -> Path:
        """Write the server's configuration (ZMQ addresses, key-only access, user group)."""
        if not self.api_key.isalnum():
            raise ValueError("the API key must contain only letters and digits")
        config = {
            "qserver_zmq_configuration": {
                "control_address": self.control_addr,
                "info_address": self.info_addr,
            },
            "authentication": {"allow_anonymous_access": False},
            "resource_access": {
                "policy": "bluesky_httpserver.authorization:DefaultResourceAccessControl",
                "args": {"default_group": self.group},
            },
        }
        path = Path(self.config_dir) / CONFIG_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config))
        return path

    def start(self, timeout: float = 60.0) -> HttpServerProcess:
        """Start the server; return once it answers an authorized status request."""
        import httpx

        config = self.write_config()
        env = dict(os.environ, **{API_KEY_ENV: self.api_key})
        command = [
            console_script("start-bluesky-httpserver"), "--host", HOST, "--port", str(self.port),
            "--config_path", str(config),
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        headers = {"Authorization": f"ApiKey {self.api_key}"}
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"HTTP server exited ({self.process.returncode}); see log")
            try:
                if httpx.get(f"{self.uri}/api/status", headers=headers).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"HTTP server not ready after {timeout:g} s; see {self.log_path}"
                )
            time.sleep(POLL_S)

    def stop(self) -> None:
        """Stop the server (its process group)."""
        if self.process is not None:
            stop_process_group(self.process, 10.0)

    def __enter__(self) -> HttpServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
