"""The catalog server dies during a step scan: the file is complete, replay restores the run."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest
import tiled.client.utils
from fault_helpers import STAFF_KEY
from plan_runner import run_plan

from usaxs_bluesky.catalog.files import run_files
from usaxs_bluesky.catalog.journal import journal_dir
from usaxs_bluesky.catalog.store import open_catalog
from usaxs_bluesky.plans.usaxs import uascan
from usaxs_bluesky.session import make_session

POINTS = 12
KILL_AFTER = 4


@pytest.fixture
def served_session(sim_ioc, catalog_server, tmp_path, monkeypatch):
    """A session on the sim whose catalog is the served one; files in ``tmp_path/data``.

    Tiled's client retries a failing call for ``TILED_RETRY_TIMEOUT`` (45 s by
    default, the scan waits meanwhile); 3 s here keeps the test short.
    """
    monkeypatch.setattr(tiled.client.utils, "TILED_RETRY_TIMEOUT", 3.0)
    session = make_session(
        tmp_path / "data",
        catalog_uri=catalog_server.url,
        api_key=STAFF_KEY,
        connect_timeout=30,
        reduce_live=False,
    )
    session.instrument.user_data.user_name.put("test_user", wait=True)
    yield session
    session.close()


def test_server_killed_mid_scan_file_complete_and_replayed(served_session, catalog_server):
    session = served_session
    events = []

    def kill_server(name, doc):
        if name == "event" and len(events) < KILL_AFTER:
            events.append(doc)
            if len(events) == KILL_AFTER:
                catalog_server.kill()

    token = session.RE.subscribe(kill_server)
    try:
        uid, docs = run_plan(
            session,
            uascan(
                session.instrument,
                title="outage",
                thickness_mm=1.0,
                intervals=POINTS,
                count_time=0.05,
            ),  # fmt: skip
        )
    finally:
        session.RE.unsubscribe(token)
    stop = next(doc for name, doc in docs if name == "stop")
    assert stop["exit_status"] == "success", stop.get("reason")
    assert catalog_server.process is None, "the server was killed during the run"
    # the file does not depend on the catalog: complete, under its final name, every point
    start = next(doc for name, doc in docs if name == "start")
    files = sorted((session.data_dir).rglob("*.h5"))
    assert len(files) == 1 and not files[0].name.startswith(".")
    with h5py.File(files[0], "r") as f:
        assert f["/entry/exit_status"][()].decode() == "success"
        rows = f["/entry/instrument/bluesky/streams/primary/time"]
        assert len(rows) == POINTS
    # the run waits in the journal, with its file record
    pending = list(journal_dir(session.data_dir).glob("*.jsonl"))
    assert [p.stem for p in pending] == [uid]
    # the server comes back (same port); `usaxs catalog replay` restores the run, closed, with files
    catalog_server.start()
    cmd = [sys.executable, "-m", "usaxs_bluesky.cli", "catalog", "replay",
           "--data-dir", str(session.data_dir), "--uri", catalog_server.url,
           "--api-key", STAFF_KEY]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1 run(s) written" in out.stdout and "1 file record(s) added" in out.stdout
    assert not list(journal_dir(session.data_dir).glob("*.jsonl"))
    node = open_catalog(uri=catalog_server.url, api_key=STAFF_KEY)[uid]
    assert node.metadata["start"]["uid"] == start["uid"]
    assert node.metadata["stop"]["exit_status"] == "success"
    assert [r.path for r in run_files(node)] == [str(files[0])]
    assert np.asarray(node["primary"].read()["time"]).size == POINTS


def test_journal_replayed_automatically_at_the_next_run(served_session, catalog_server):
    session = served_session

    def kill_server(name, doc):
        if name == "event" and catalog_server.process is not None:
            catalog_server.kill()

    token = session.RE.subscribe(kill_server)
    try:
        first, _ = run_plan(session, uascan(session.instrument, title="lost", thickness_mm=1.0,
                                            intervals=3, count_time=0.05))  # fmt: skip
    finally:
        session.RE.unsubscribe(token)
    assert [p.stem for p in journal_dir(session.data_dir).glob("*.jsonl")] == [first]
    catalog_server.start()
    second, _ = run_plan(session, uascan(session.instrument, title="back", thickness_mm=1.0,
                                         intervals=3, count_time=0.05))  # fmt: skip
    assert not list(journal_dir(session.data_dir).glob("*.jsonl"))
    client = open_catalog(uri=catalog_server.url, api_key=STAFF_KEY)
    for uid in (first, second):
        assert client[uid].metadata["stop"]["exit_status"] == "success"
        assert [r.kind for r in run_files(client[uid])] == ["raw"]
