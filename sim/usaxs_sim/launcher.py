"""Start the simulated instrument as a subprocess on loopback and wait until it serves."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is currently free for both TCP and UDP on ``host``."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("could not find a free TCP+UDP port")


class SimProcess:
    """The simulated IOC in a subprocess (``sys.executable -m usaxs_sim ...``).

    Parameters
    ----------
    port, repeater_port : int or None
        CA server / repeater ports; free ones are picked when None.
    prefix : str
        Prepended to every PV name.
    time_scale : float
        Wall seconds per simulated second.
    seed : int or None
        Random seed of the simulation.
    host : str
        Interface (loopback by default).
    timeout : float
        Seconds to wait for ``<prefix>usxSIM:ready`` == 1.
    state_file : path or None
        ``--state`` file keeping the user-facing PVs across restarts.

    Use as a context manager (``with SimProcess() as sim: ...``) or call
    :meth:`start` / :meth:`stop`.  ``client_env`` holds the environment a CA
    client needs (apply with :meth:`apply_env` *before* pyepics creates its
    context).
    """

    def __init__(
        self,
        port: int | None = None,
        repeater_port: int | None = None,
        prefix: str = "",
        time_scale: float = 0.05,
        seed: int | None = None,
        host: str = "127.0.0.1",
        timeout: float = 30.0,
        extra_args: list[str] | None = None,
        state_file: str | os.PathLike | None = None,
    ):
        self.host = host
        self.port = port or free_port(host)
        self.repeater_port = repeater_port or free_port(host)
        while self.repeater_port == self.port:
            self.repeater_port = free_port(host)
        self.prefix = prefix
        self.time_scale = time_scale
        self.seed = seed
        self.timeout = timeout
        self.extra_args = list(extra_args or [])
        self.state_file = state_file
        self.process: subprocess.Popen | None = None
        self._stderr = None
        self._stdout = None

    @property
    def client_env(self) -> dict[str, str]:
        """CA client environment for this IOC (loopback only)."""
        return {
            "EPICS_CA_ADDR_LIST": self.host,
            "EPICS_CA_AUTO_ADDR_LIST": "NO",
            "EPICS_CA_SERVER_PORT": str(self.port),
            "EPICS_CA_REPEATER_PORT": str(self.repeater_port),
            "EPICS_CA_MAX_ARRAY_BYTES": "20000000",
            "EPICS_CAS_INTF_ADDR_LIST": self.host,
        }

    def apply_env(self, environ=None) -> None:
        """Put :attr:`client_env` into ``environ`` (default ``os.environ``)."""
        (os.environ if environ is None else environ).update(self.client_env)

    def pv(self, name: str) -> str:
        """Full PV name with this IOC's prefix."""
        return self.prefix + name

    @property
    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "usaxs_sim",
            "--port",
            str(self.port),
            "--repeater-port",
            str(self.repeater_port),
            "--prefix",
            self.prefix,
            "--time-scale",
            str(self.time_scale),
            "--interface",
            self.host,
        ]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        if self.state_file is not None:
            cmd += ["--state", os.fspath(self.state_file)]
        return cmd + self.extra_args

    def stderr_tail(self, n: int = 40) -> str:
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def start(self) -> SimProcess:
        """Start the IOC and block until it reports ready (or raise)."""
        env = dict(os.environ)
        env.update(self.client_env)
        env["PYTHONUNBUFFERED"] = "1"
        self._stderr = tempfile.TemporaryFile()
        self._stdout = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            self.command, env=env, stdout=self._stdout, stderr=self._stderr
        )
        try:
            self.wait_ready(self.timeout)
        except Exception:
            self.stop()
            raise
        return self

    @contextlib.contextmanager
    def _client_environment(self):
        """Apply :attr:`client_env` to ``os.environ`` for the duration, then restore it."""
        saved = {k: os.environ.get(k) for k in self.client_env}
        os.environ.update(self.client_env)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def read(self, name: str, timeout: float = 2.0):
        """Read one PV (without prefix) with caproto's sync client; returns the value array."""
        from caproto.sync.client import read

        with self._client_environment():
            return read(self.pv(name), timeout=timeout, repeater=False).data

    def write(self, name: str, value, timeout: float = 2.0) -> None:
        """Write one PV (without prefix) with caproto's sync client and wait for the IOC's reply.

        A ``str`` is sent as its UTF-8 bytes (a CHAR waveform; not for DBR_STRING PVs).
        """
        from caproto.sync.client import write

        if isinstance(value, str):
            value = list(value.encode("utf-8")) or [0]
        with self._client_environment():
            write(self.pv(name), value, notify=True, timeout=timeout, repeater=False)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Poll ``usxSIM:ready`` until 1; raise with the stderr tail on death or timeout."""
        from caproto import CaprotoError

        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"simulated IOC exited with code {self.process.returncode}:\n"
                    + self.stderr_tail()
                )
            try:
                if int(self.read("usxSIM:ready", timeout=1.0)[0]) == 1:
                    return
            except (OSError, CaprotoError) as exc:  # not serving yet (timeouts are OSError)
                last_error = exc
            time.sleep(0.1)
        raise TimeoutError(
            f"simulated IOC not ready after {timeout} s (last error: {last_error!r}):\n"
            + self.stderr_tail()
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate, wait, kill if needed."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        self.process = None

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        for f in (self._stderr, self._stdout):
            if f is not None:
                f.close()
