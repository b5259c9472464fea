"""One data directory, one writer: a second session is refused naming the first; scan ids unique."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

import pytest

from usaxs_bluesky.session import make_session
from usaxs_bluesky.session_lock import DataDirectoryInUse, ScanCounter, SessionLock

HOLDER = """
import sys
from usaxs_bluesky.session_lock import SessionLock
lock = SessionLock(sys.argv[1]).acquire()
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""

ALLOCATOR = """
import sys
from usaxs_bluesky.session_lock import ScanCounter
counter = ScanCounter(sys.argv[1])
print(" ".join(str(counter({})) for _ in range(int(sys.argv[2]))))
"""


def _holder(data_dir) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_session_refused_naming_the_first(tmp_path):
    holder = _holder(tmp_path)
    try:
        with pytest.raises(DataDirectoryInUse) as info:
            make_session(tmp_path, connect_timeout=1)
        message = str(info.value)
        assert f"pid {holder.pid} " in message and str(tmp_path) in message
        assert "stop that session" in message
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    SessionLock(tmp_path).acquire().release()  # free once the first session ended


def test_lock_of_a_killed_session_is_stale_and_taken_over(tmp_path, caplog):
    holder = _holder(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with caplog.at_level(logging.WARNING):
        lock = SessionLock(tmp_path).acquire()
    lock.release()
    assert f"pid {holder.pid} " in caplog.text and "stale lock" in caplog.text


def test_scan_ids_from_two_processes_never_repeat(tmp_path):
    count = 200
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ALLOCATOR, str(tmp_path), str(count)],
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ,
        )
        for _ in range(2)
    ]
    ids = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        ids += [int(x) for x in out.split()]
    assert sorted(ids) == list(range(1, 2 * count + 1))
    assert ScanCounter(tmp_path)({"scan_id": 1000}) == 1001, "never below the RunEngine's md"
