"""The RunEngine's metadata persists: scan_id goes on after a restart of the process."""

import subprocess
import sys
import textwrap

from bluesky.plans import count

from usaxs_bluesky.instrument import load_config
from usaxs_bluesky.session import make_run_engine

SCRIPT = textwrap.dedent("""
    import sys
    from bluesky.plans import count
    from usaxs_bluesky.instrument import load_config
    from usaxs_bluesky.session import make_run_engine
    RE = make_run_engine(sys.argv[1], load_config())
    starts = []
    for _ in range(int(sys.argv[2])):
        RE(count([], md={"title": "s", "sample_thickness_mm": 1.0, "user_name": "u"}),
           {"start": lambda name, doc: starts.append(doc["scan_id"])})
    print(starts, RE.md["beamline_id"])
""")


def _session(data_dir, runs: int) -> str:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data_dir), str(runs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def test_scan_id_continues_after_restart(tmp_path):
    assert _session(tmp_path, 2) == "[1, 2] 12-ID-E"
    assert _session(tmp_path, 1) == "[3] 12-ID-E"


def test_run_without_required_metadata_is_refused(tmp_path):
    RE = make_run_engine(tmp_path, load_config())
    try:
        RE(count([]))
    except ValueError as err:
        assert "title" in str(err) and "sample_thickness_mm" in str(err)
    else:
        raise AssertionError("run without metadata was accepted")


def test_run_engine_waits_for_the_catalog_worker_before_returning(tmp_path):
    """Each RE call returns (or raises) only after its at_return waits ran: the worker drained."""
    import threading

    import pytest

    from usaxs_bluesky.callbacks.ordered import OrderedWorker

    RE = make_run_engine(tmp_path, load_config())
    worker, written, release = OrderedWorker(), [], threading.Event()
    RE.at_return.append(worker.wait)

    def slow_catalog(name, doc):  # the worker is slower than the run
        worker.submit(("catalog", name, ""), lambda: (release.wait(0.2), written.append(name)))

    md = {"title": "s", "sample_thickness_mm": 1.0, "user_name": "u"}
    RE(count([], md=md), slow_catalog)
    assert written[0] == "start" and written[-1] == "stop"
    assert worker.pending == 0
    with pytest.raises(ValueError, match="title"):
        RE(count([]), slow_catalog)  # refused by the metadata policy: still waits, no documents
    assert worker.pending == 0
    worker.close()
