"""Start RE Manager (bluesky-queueserver) on the USAXS startup script, and Redis for it.

:class:`ReManagerProcess` generates ``existing_plans_and_devices.yaml`` from
the startup script (``qserver-list-plans-devices``: never hand-written), puts
the packaged ``user_group_permissions.yaml`` beside it and runs
``start-re-manager`` in its own process group on loopback addresses.
:class:`RedisProcess` runs a private ``redis-server`` (Debian package
``redis-server``) when none is given.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from usaxs_sim.launcher import free_port

from .environment import (
    DATA_DIR_ENV,
    PV_MAP_ENV,
    REMOTE_FOLDERS_ENV,
    REQUESTS_ENV,
    RESUME_DELAY_ENV,
)

STARTUP_SCRIPT = resources.files("usaxs_bluesky.queue").joinpath("startup", "usaxs_startup.py")
EXISTING = "existing_plans_and_devices.yaml"
PERMISSIONS = "user_group_permissions.yaml"
DEVICE_MAX_DEPTH = 3
HOST = "127.0.0.1"
POLL_S = 0.05


def console_script(name: str) -> str:
    """The console script ``name`` of this Python's environment (else from PATH)."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def stop_process_group(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM the process group of ``process``, SIGKILL it if it outlives ``timeout``."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)
    except ProcessLookupError:
        pass


def _wait(condition, what: str, timeout: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise RuntimeError(f"{what}: process exited ({process.returncode}); see {log}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:g} s; see {log}")
        time.sleep(POLL_S)


class RedisProcess:
    """A private ``redis-server`` on a free loopback port, no persistence."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def addr(self) -> str:
        """``host:port`` as RE Manager's ``--redis-addr`` takes it."""
        return f"{HOST}:{self.port}"

    def start(self, timeout: float = 20.0) -> RedisProcess:
        """Start the server and return once it answers PING."""
        import redis

        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / "redis.log"
        command = [
            console_script("redis-server"), "--bind", HOST, "--port", str(self.port), "--save", "",
            "--appendonly", "no", "--dir", str(self.workdir), "--logfile", str(log),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, start_new_session=True)
        client = redis.Redis(host=HOST, port=self.port, socket_connect_timeout=0.2)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.exceptions.ConnectionError:
                return False

        _wait(answers, "redis-server", timeout, self.process, log)
        return self

    def stop(self) -> None:
        """Stop the server (its process group)."""
        if self.process is not None:
            stop_process_group(self.process, 5.0)

    def __enter__(self) -> RedisProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class ReManagerProcess:
    """RE Manager with the USAXS startup script, on loopback.

    ``config_dir`` receives the generated plans/devices list, the user-group
    permissions and ``re_manager.log``. ``ipython_kernel``: run the worker as
    an IPython kernel (bluesky-queueserver's ``--use-ipython-kernel ON``).
    ``remote_folders``: folders the ``remote_ops`` plan may run files from
    (None: no ``remote_ops`` plan).
    """

    config_dir: Path
    data_dir: Path
    redis_addr: str
    pv_map: str | None = None
    metadata_requests: str | None = None
    resume_delay_s: float | None = None
    remote_folders: list[str] | None = None
    ipython_kernel: bool = True
    control_port: int = field(default_factory=free_port)
    info_port: int = field(default_factory=free_port)
    redis_prefix: str = "usaxs_qs"
    process: subprocess.Popen | None = None

    @property
    def control_addr(self) -> str:
        """ZMQ control address for clients (``REManagerAPI(zmq_control_addr=...)``)."""
        return f"tcp://{HOST}:{self.control_port}"

    @property
    def info_addr(self) -> str:
        """ZMQ address where RE Manager publishes console output."""
        return f"tcp://{HOST}:{self.info_port}"

    @property
    def log_path(self) -> Path:
        """Where RE Manager's output goes."""
        return Path(self.config_dir) / "re_manager.log"

    def environment(self) -> dict[str, str]:
        """The environment of RE Manager and of the list generator (startup-script settings)."""
        env = dict(os.environ)
        env[DATA_DIR_ENV] = str(Path(self.data_dir).resolve())
        for key, value in (
            (PV_MAP_ENV, self.pv_map),
            (REQUESTS_ENV, self.metadata_requests),
            (RESUME_DELAY_ENV, self.resume_delay_s),
        ):
            if value is not None:
                env[key] = str(value)
        if self.remote_folders:
            env[REMOTE_FOLDERS_ENV] = os.pathsep.join(str(f) for f in self.remote_folders)
        env.setdefault("MPLBACKEND", "Agg")
        return env

    def generate_lists(self, timeout: float = 300.0) -> Path:
        """Write ``existing_plans_and_devices.yaml`` from the startup script; return its path.

        Runs the startup script once (the instrument must be reachable).
        Raises RuntimeError with the generator's output when it fails.
        """
        config_dir = Path(self.config_dir)
        config_dir.mkdir(parents=True, exist_ok=True)
        command = [
            console_script("qserver-list-plans-devices"), "--startup-script", str(STARTUP_SCRIPT),
            "--file-dir", str(config_dir), "--device-max-depth", str(DEVICE_MAX_DEPTH),
        ]  # fmt: skip
        result = subprocess.run(
            command, env=self.environment(), capture_output=True, text=True, timeout=timeout
        )
        path = config_dir / EXISTING
        if result.returncode != 0 or not path.is_file():
            raise RuntimeError(
                f"generating {EXISTING} failed ({result.returncode}):\n{result.stderr[-4000:]}"
            )
        return path

    def write_permissions(self) -> Path:
        """Copy the packaged ``user_group_permissions.yaml`` into ``config_dir``; return it."""
        target = Path(self.config_dir) / PERMISSIONS
        text = resources.files("usaxs_bluesky.queue").joinpath(PERMISSIONS).read_text()
        target.write_text(text)
        return target

    def command(self) -> list[str]:
        """The ``start-re-manager`` command line."""
        config_dir = Path(self.config_dir)
        command = [
            console_script("start-re-manager"),
            "--startup-script", str(STARTUP_SCRIPT),
            "--existing-plans-devices", str(config_dir / EXISTING),
            "--update-existing-plans-devices", "ENVIRONMENT_OPEN",
            "--user-group-permissions", str(config_dir / PERMISSIONS),
            "--user-group-permissions-reload", "ON_STARTUP",
            "--redis-addr", self.redis_addr,
            "--redis-name-prefix", self.redis_prefix,
            "--zmq-control-addr", f"tcp://{HOST}:{self.control_port}",
            "--zmq-info-addr", self.info_addr,
            "--zmq-publish-console", "ON",
            "--device-max-depth", str(DEVICE_MAX_DEPTH),
            "--use-ipython-kernel", "ON" if self.ipython_kernel else "OFF",
        ]  # fmt: skip
        if self.ipython_kernel:
            ipython_dir = config_dir / "ipython"
            ipython_dir.mkdir(parents=True, exist_ok=True)
            command += ["--ipython-dir", str(ipython_dir), "--ipython-kernel-ip", HOST]
        return command

    def start(self, timeout: float = 60.0, generate: bool = True) -> ReManagerProcess:
        """Generate the lists (unless ``generate`` is False), start RE Manager, wait for it."""
        if generate:
            self.generate_lists()
        self.write_permissions()
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's lifetime
        self.process = subprocess.Popen(
            self.command(),
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        _wait(self._answers, "RE Manager", timeout, self.process, self.log_path)
        return self

    def _answers(self) -> bool:
        from bluesky_queueserver_api.zmq import REManagerAPI

        api = REManagerAPI(zmq_control_addr=self.control_addr, timeout_recv=0.5)
        try:
            api.status()
            return True
        except Exception:  # noqa: BLE001 - any failure means not answering yet
            return False
        finally:
            api.close()

    def stop(self, timeout: float = 20.0) -> None:
        """Stop RE Manager and its worker (the whole process group)."""
        if self.process is not None:
            stop_process_group(self.process, timeout)

    def __enter__(self) -> ReManagerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
