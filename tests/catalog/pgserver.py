"""A throwaway PostgreSQL server from Debian's package, for tests and benchmarks.

``initdb`` makes a cluster in a new temporary folder, ``pg_ctl`` starts it on
a free loopback port (unix socket in the same folder), :func:`pg_isready` is
polled until it answers, and the folder is removed after ``pg_ctl stop``.
PostgreSQL refuses to run as root, so when this process is root the
binaries run as the ``postgres`` account (``runuser``) and the folder
belongs to it. Authentication is ``trust`` on loopback only.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from usaxs_sim.launcher import free_port

PG_GLOB = "/usr/lib/postgresql/*/bin"
PG_ACCOUNT = "postgres"
DEBIAN_PACKAGE = "postgresql"
SUPERUSER = "usaxs"
READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class PostgresServer:
    """A running server: ``port`` on 127.0.0.1, superuser :data:`SUPERUSER` (no password)."""

    bindir: Path
    port: int
    run_as: str | None

    def uri(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        """Return the SQLAlchemy URI of ``database`` on this server."""
        return f"{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, database: str, sql: str) -> str:
        """Run ``sql`` with ``psql`` on ``database``; return its unaligned output."""
        return _run(
            self,
            "psql",
            "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
            "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql,
        )  # fmt: skip

    def create_database(self, name: str) -> str:
        """Create database ``name`` (UTF-8); return its asyncpg URI."""
        _run(self, "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
             "-E", "UTF8", "-T", "template0", name)  # fmt: skip
        return self.uri(name)


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL ``bin`` folder with ``initdb`` and ``pg_ctl``, or None."""
    found = sorted(glob.glob(PG_GLOB), key=lambda p: int(Path(p).parent.name), reverse=True)
    for folder in found:
        if all((Path(folder) / tool).is_file() for tool in ("initdb", "pg_ctl", "pg_isready")):
            return Path(folder)
    return None


def unavailable_reason() -> str:
    """Why no server can be started here ("" when one can)."""
    if find_bindir() is None:
        return f"PostgreSQL is not installed (apt-get install {DEBIAN_PACKAGE})"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_ACCOUNT)
        except KeyError:
            return f"running as root and there is no {PG_ACCOUNT!r} account to run PostgreSQL"
        if shutil.which("runuser") is None:
            return "running as root without runuser to start PostgreSQL as another account"
    return ""


def _run(server: PostgresServer, tool: str, *args: str) -> str:
    cmd = [str(server.bindir / tool), *args]
    if server.run_as:
        cmd = ["runuser", "-u", server.run_as, "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def pg_isready(server: PostgresServer) -> bool:
    """True when the server accepts connections."""
    try:
        _run(server, "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(server.port))
    except RuntimeError:
        return False
    return True


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a new PostgreSQL cluster; yield it once it answers; stop and remove it after.

    Raises ``RuntimeError`` when :func:`unavailable_reason` is not empty or start-up fails.
    """
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    run_as = PG_ACCOUNT if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="usaxs_pg_"))
    if run_as:
        account = pwd.getpwnam(run_as)
        os.chown(root, account.pw_uid, account.pw_gid)
    server = PostgresServer(find_bindir(), free_port(), run_as)
    data, log = root / "data", root / "server.log"
    try:
        _run(server, "initdb", "-D", str(data), "-U", SUPERUSER, "-A", "trust",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {server.port} -k {root} -c fsync=off"
        _run(server, "pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        deadline = time.monotonic() + READY_TIMEOUT
        while not pg_isready(server):
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not answer in {READY_TIMEOUT} s: {_tail(log)}")
            time.sleep(0.1)
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            _run(server, "pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"
