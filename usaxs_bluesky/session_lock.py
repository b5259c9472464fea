"""One data directory, one writing session: an owner lock file and an atomic scan_id counter.

``<data_dir>/.usaxs-session.lock`` holds the owner (user, host, pid, start
time, command) under an ``flock`` kept for the session's life; the kernel
drops it when the process dies, so a lock left by a dead session is stale
and taken over (and said so in the log). ``<data_dir>/md/scan_id`` is the
scan counter: each allocation reads, increments and fsyncs it under its own
``flock``, so two processes never get the same number.
"""

from __future__ import annotations

import datetime
import fcntl
import getpass
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

LOCK_NAME = ".usaxs-session.lock"
SCAN_ID_NAME = "scan_id"


class DataDirectoryInUse(OSError):
    """Another live session writes to this data directory."""


def _owner() -> dict[str, Any]:
    return {
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "since": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(sys.argv)[:200],
    }


def _read_owner(stream: IO[str]) -> dict[str, Any]:
    stream.seek(0)
    try:
        owner = json.loads(stream.read() or "{}")
    except json.JSONDecodeError:
        return {}
    return owner if isinstance(owner, dict) else {}


class SessionLock:
    """The lock of one data directory, held from :meth:`acquire` to :meth:`release`."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self.stream: IO[str] | None = None

    def acquire(self) -> SessionLock:
        """Take the lock; DataDirectoryInUse naming the owner when a live session holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stream = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(stream)
            stream.close()
            raise DataDirectoryInUse(
                f"data directory {self.path.parent} is in use by user {owner.get('user', '?')}"
                f" (pid {owner.get('pid', '?')} on {owner.get('host', '?')},"
                f" since {owner.get('since', '?')}: {owner.get('command', '')!r});"
                " stop that session, or use another data directory"
            ) from None
        stale = _read_owner(stream)
        if stale:
            logger.warning(
                "stale lock of %s (pid %s on %s) taken over: that session is gone",
                stale.get("user"),
                stale.get("pid"),
                stale.get("host"),
            )
        stream.seek(0)
        stream.truncate()
        stream.write(json.dumps(_owner()))
        stream.flush()
        self.stream = stream
        return self

    def release(self) -> None:
        """Drop the lock (the file stays, with the last owner, for the record)."""
        if self.stream is not None:
            self.stream.close()
            self.stream = None


class ScanCounter:
    """Callable ``(md) -> int``: the RunEngine's ``scan_id_source``, atomic across processes.

    The next number is one more than both the counter file and ``md["scan_id"]``.
    """

    def __init__(self, md_dir: str | Path) -> None:
        self.path = Path(md_dir) / SCAN_ID_NAME

    def __call__(self, md: dict[str, Any]) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            text = os.read(fd, 64).decode().strip()
            last = int(text) if text.isdigit() else 0
            scan_id = max(last, int(md.get("scan_id") or 0)) + 1
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, str(scan_id).encode())
            os.fsync(fd)
        finally:
            os.close(fd)  # releases the lock
        return scan_id
