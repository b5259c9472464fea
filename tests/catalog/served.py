"""Test helpers: runs as the facility's plans make them (with an event stream and a raw file),
and the real ``usaxs serve`` process on a free loopback port."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import requests
from bluesky_tiled_plugins import TiledWriter
from event_model import compose_run
from plan_runner import poll
from usaxs_sim.launcher import free_port

from usaxs_bluesky.catalog import DEFAULT_MOUNT
from usaxs_bluesky.catalog.files import FileRecorder

from .conftest import copy_empty_catalog, write_nexus

HOUR = 3600.0
NOW = time.time()
KEYS = {
    "alice": "alice_key_0123456789abcdef",
    "bob": "bob_key_0123456789abcdef",
    "pipeline": "pipeline_key_0123456789abcdef",
    "proposal_pipeline": "pipeline_1001_key_0123456789",
    "staff": "staff_key_0123456789abcdef",
}
KEYS_YAML = (
    "keys:\n"
    f"  {KEYS['alice']}: {{user: alice}}\n"
    f"  {KEYS['bob']}: {{user: bob}}\n"
    f"  {KEYS['pipeline']}: {{pipeline: true}}\n"
    f"  {KEYS['proposal_pipeline']}: {{pipeline: true, proposals: [1001]}}\n"
    f"  {KEYS['staff']}: {{staff: true}}\n"
)


@dataclass(frozen=True)
class Spec:
    """One run: who, what, when (hours ago), how it ended (None: still running)."""

    user: str
    title: str
    plan: str
    scan_id: int
    hours_ago: float
    exit_status: str | None
    proposal: str


# scan ids grow with time as at the facility
FACILITY_RUNS = [
    Spec("alice", "old blank", "Flyscan", 90, 72, "success", "1001"),
    Spec("alice", "water blank", "Flyscan", 101, 5, "success", "1001"),
    Spec("alice", "GC sample", "Flyscan", 102, 4, "success", "1001"),
    Spec("alice", "Water Blank", "SAXS", 103, 3, "success", "1001"),
    Spec("alice", "GC sample", "SAXS", 104, 2, "success", "1001"),
    Spec("alice", "GC sample", "Flyscan", 105, 1, "abort", "1001"),
    Spec("alice", "GC sample", "WAXS", 106, 0.5, None, "1001"),
    Spec("bob", "bob blank", "Flyscan", 201, 0.25, "success", "2002"),
]


@dataclass
class Runs:
    """A data directory with :data:`FACILITY_RUNS`: ``uids[i]`` and ``files[uid]`` (raw file)."""

    data_dir: Path
    uids: list[str]
    files: dict[str, Path]

    def uid_of(self, scan_id: int) -> str:
        """The uid of the run with ``scan_id``."""
        index = next(i for i, s in enumerate(FACILITY_RUNS) if s.scan_id == scan_id)
        return self.uids[index]


def _file_name(spec: Spec) -> str:
    return f"{spec.title.replace(' ', '_')}_{spec.scan_id:04d}.h5"


def write_runs(data_dir: Path, template: Path) -> Runs:
    """Make ``data_dir`` with :data:`FACILITY_RUNS`, each with 3 events and a recorded raw file."""
    catalog = copy_empty_catalog(data_dir, template)
    record = FileRecorder(catalog)
    uids, files = [], {}
    for spec in FACILITY_RUNS:
        folder = data_dir / "files" / spec.user
        t0 = NOW - spec.hours_ago * HOUR
        md = {
            "user_name": spec.user,
            "title": spec.title,
            "plan_name": spec.plan,
            "scan_id": spec.scan_id,
            "proposal_id": spec.proposal,
            "plan_args": {"scan_title": spec.title},
            "hdf5_path": str(folder),
            "hdf5_file": _file_name(spec),
        }
        bundle = compose_run(time=t0, metadata=md)
        writer = TiledWriter(catalog)
        writer("start", bundle.start_doc)
        keys = {"I0": {"dtype": "number", "shape": [], "source": "PV:I0", "units": "counts"}}
        desc = bundle.compose_descriptor(name="primary", data_keys=keys)
        writer("descriptor", desc.descriptor_doc)
        for i in range(3):
            event = desc.compose_event(
                data={"I0": float(spec.scan_id * 10 + i)}, timestamps={"I0": t0 + i}
            )
            writer("event", event)
        stop = None
        if spec.exit_status is not None:
            stop = bundle.compose_stop(exit_status=spec.exit_status, time=t0 + 10)
            writer("stop", stop)
        uid = bundle.start_doc["uid"]
        raw = write_nexus(folder / _file_name(spec), dict(bundle.start_doc), stop)
        record(uid, raw, "raw")
        uids.append(uid)
        files[uid] = raw
    return Runs(data_dir, uids, files)


@contextmanager
def usaxs_serve(data_dir: Path, keys_file: Path, *options: str) -> Iterator[str]:
    """Run ``usaxs serve`` on a free loopback port until the block ends; yield its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "usaxs_bluesky.cli", "serve", "--port", str(port),
           "--data-dir", str(data_dir), "--keys", str(keys_file), *options]  # fmt: skip
    log = tempfile.TemporaryFile()  # never a pipe: a full pipe would stall the server
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ)

    def output() -> str:
        log.seek(0)
        return log.read().decode(errors="replace")

    def ready() -> bool:
        assert proc.poll() is None, output()
        try:
            return httpx.get(f"{url}/api/v1/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        poll(ready, f"usaxs serve on {url}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def headers(who: str) -> dict[str, str]:
    """The request headers of key ``who`` of :data:`KEYS`."""
    return {"Authorization": f"Apikey {KEYS[who]}"}


def serve_with_keys(data_dir: Path, tmp_path_factory: Any) -> Iterator[str]:
    """Serve ``data_dir`` with :data:`KEYS_YAML` for a module's tests; yield its URL."""
    keys = tmp_path_factory.mktemp("keys") / "keys.yml"
    keys.write_text(KEYS_YAML)
    with usaxs_serve(data_dir, keys) as url:
        yield url


def matilda_at(readfromtiled: Any, url: str, monkeypatch: Any) -> Callable[[str | None], Any]:
    """``as_key(who)``: Matilda's ``readfromtiled`` pointed at ``url`` (its module globals),
    its requests made with key ``who`` of :data:`KEYS` (None: anonymous); returns the module."""
    host, port = url.removeprefix("http://").split(":")
    monkeypatch.setattr(readfromtiled, "server", host)
    monkeypatch.setattr(readfromtiled, "port", int(port))
    monkeypatch.setattr(readfromtiled, "catalog", DEFAULT_MOUNT)
    real_get = requests.get

    def as_key(who: str | None) -> Any:
        extra = headers(who) if who else {}
        monkeypatch.setattr(requests, "get", functools.partial(real_get, headers=extra))
        return readfromtiled

    return as_key
