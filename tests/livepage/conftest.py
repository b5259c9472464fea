"""Fixtures of the live page tests: a catalog of several users' runs, ``usaxs live`` on it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from catalog.conftest import RUNS, Filled, fill
from plan_runner import poll
from usaxs_sim.launcher import free_port

from usaxs_bluesky.catalog.files import FileRecorder
from usaxs_bluesky.catalog.store import open_catalog
from usaxs_bluesky.reduction.common import ReducedCurve
from usaxs_bluesky.reduction.nxcansas import write_nxcansas

KEYS = {
    "alice": "alice_key_0123456789abcdef",
    "bob_proposal": "proposal_2002_key_0123456789",
    "staff": "staff_key_0123456789abcdef",
}
#: hours back that reach every run of :data:`RUNS` (the oldest is 400 days old)
ALL_HOURS = 500 * 24


def write_keys(path: Path) -> Path:
    """The keys file of :data:`KEYS` (alice by user, bob by proposal 2002, staff)."""
    path.write_text(
        "keys:\n"
        f"  {KEYS['alice']}: {{user: alice}}\n"
        f"  {KEYS['bob_proposal']}: {{proposals: [2002]}}\n"
        f"  {KEYS['staff']}: {{staff: true}}\n"
    )
    return path


def reduced_curve(scale: float, technique: str) -> ReducedCurve:
    """A small absolute-scale pinhole curve I = scale * Q^-3 (with a nan and a negative point)."""
    q = np.geomspace(1e-3, 0.3, 40)
    i = scale * q**-3
    i[5], i[6] = np.nan, -1.0
    return ReducedCurve(
        q=q,
        i=i,
        idev=0.05 * np.abs(i),
        qdev=0.01 * q,
        dql=None,
        smeared=False,
        metadata={"technique": technique, "absolute": True, "blank_file": "/data/Air_blank.h5"},
    )


@dataclass
class LiveData:
    """The filled catalog plus a real NXcanSAS file recorded for each run."""

    filled: Filled
    curves: dict[str, Path]

    @property
    def data_dir(self) -> Path:
        return self.filled.data_dir

    def uid_of(self, user: str) -> list[str]:
        """The uids of ``user``'s runs."""
        return [u for u, run in zip(self.filled.uids, RUNS, strict=True) if run[0] == user]


@pytest.fixture(scope="session")
def live_empty_catalog(tmp_path_factory) -> Path:
    """A data directory with an empty embedded catalog, copied by :func:`fill`."""
    data_dir = tmp_path_factory.mktemp("live_empty")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        open_catalog(data_dir, create=True)
    return data_dir


@pytest.fixture(scope="module")
def live_data(tmp_path_factory, live_empty_catalog) -> LiveData:
    """:data:`RUNS` (alice, bob, carol) each with raw, fake reduced and a real NXcanSAS file."""
    filled = fill(tmp_path_factory.mktemp("live_data"), live_empty_catalog)
    record = FileRecorder(filled.catalog)
    curves = {}
    for n, (uid, run) in enumerate(zip(filled.uids, RUNS, strict=True)):
        technique = run[3] or "SAXS"
        path = filled.files[uid][0].parent / f"{uid[:8]}.nxcansas.h5"
        write_nxcansas(path, [reduced_curve(10.0 ** (n + 1), technique)], title=run[1])
        record(uid, path, "reduced")
        curves[uid] = path
    return LiveData(filled, curves)


@contextmanager
def live_process(
    data_dir: Path, *args: str, keys: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """``usaxs live`` on a free loopback port over ``data_dir`` (``env`` added); yields its URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "usaxs_bluesky.cli", "live", "--port", str(port),
           "--data-dir", str(data_dir), *args]  # fmt: skip
    if keys is not None:
        cmd += ["--keys", str(keys)]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if proc.poll() is not None:
            log.seek(0)
            raise AssertionError(log.read().decode(errors="replace"))
        try:
            return httpx.get(f"{url}/api/status", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        poll(answering, "usaxs live to answer")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
