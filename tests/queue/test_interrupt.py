"""Interrupting queued plans: stop/abort mid-item keeps a valid file; a beam drop suspends."""

import threading

import h5py
import pytest
from bluesky_queueserver_api import BPlan
from ophyd import EpicsSignal
from plan_runner import poll
from queue_helpers import TIMEOUT_S, history

from usaxs_bluesky.catalog.files import run_files

SLOW_TRAJECTORY_S = 500.0


def _wait_paused(api):
    poll(lambda: api.status()["manager_state"] == "paused", "RE Manager paused", TIMEOUT_S)


@pytest.mark.parametrize(
    ("request_name", "item_status", "run_status", "requeued"),
    [("re_stop", "stopped", "success", False), ("re_abort", "aborted", "abort", True)],
)
def test_interrupting_mid_item_leaves_a_valid_file_with_its_exit_status(
    queue_api, queue_catalog, sim_ioc, request_name, item_status, run_status, requeued
):
    acquire = EpicsSignal(sim_ioc.pv("usaxs_pilatus3:cam1:Acquire"))
    acquire.wait_for_connection(timeout=10)
    queue_api.item_add(
        BPlan("saxsExp", 1.0, 0.0, 1.0, f"long {request_name}", user_name="ana", acquire_time=500.0)
    )
    queue_api.queue_start()
    poll(lambda: queue_api.re_runs(option="open")["run_list"], "the run to open", TIMEOUT_S)
    poll(lambda: acquire.get() == 1, "the SAXS exposure to start", TIMEOUT_S)
    queue_api.re_pause(option="immediate")
    _wait_paused(queue_api)
    getattr(queue_api, request_name)()
    queue_api.wait_for_idle(timeout=TIMEOUT_S)
    (item,) = history(queue_api, 1)
    assert item["result"]["exit_status"] == item_status
    (uid,) = item["result"]["run_uids"]
    run = queue_catalog[uid]
    assert run.metadata["stop"]["exit_status"] == run_status, (run.metadata["stop"], item["result"])
    (raw,) = [f for f in run_files(run) if f.kind == "raw"]
    with h5py.File(raw.path, "r") as f:
        assert f["/entry/exit_status"][()].decode() == run_status
        assert f["/entry/title"][0].decode() == f"long {request_name}"  # (1,) as the facility
    # queueserver puts an aborted item back at the front of the queue, a stopped one not
    assert len(queue_api.queue_get()["items"]) == int(requeued)


def test_beam_drop_during_a_queued_fly_scan_suspends_and_resumes(queue_api, queue_catalog, sim_ioc):
    beam = EpicsSignal(sim_ioc.pv("usxSIM:beam_available"))
    channel = EpicsSignal(sim_ioc.pv("usxLAX:3820:CurrentChannel"))
    busy = EpicsSignal(sim_ioc.pv("usxLAX:USAXSfly:Start"))
    scan_time = EpicsSignal(sim_ioc.pv("usxLAX:USAXS:FS_ScanTime"))
    for signal in (beam, channel, busy, scan_time):
        signal.wait_for_connection(timeout=10)
    # a trajectory long enough (10 s at the sim's time scale) that a loaded
    # machine cannot finish it before the suspender has acted on the beam drop
    usual_scan_time = scan_time.get()
    scan_time.put(SLOW_TRAJECTORY_S, wait=True)
    # Only what happens after this plan's busy record rose counts: a monitor's first
    # update may arrive after subscribing and carry the values an earlier fly scan
    # of this session's sim left (busy 0, channel near the end), as if they were new.
    starts = []
    flying = threading.Event()

    def on_busy(value=None, **_):
        if value or starts:
            starts.append(int(value))

    busy.subscribe(on_busy, run=False)
    channel.subscribe(lambda value=None, **_: starts and value > 5 and flying.set(), run=False)
    errors = []

    def beam_thief():
        try:
            poll(flying.is_set, "the fly scan to be mid-trajectory", TIMEOUT_S)
            beam.put(0, wait=True)
            poll(lambda: starts[-1] == 0, "the trajectory to be aborted", TIMEOUT_S)
            status = queue_api.status(reload=True)
            assert status["re_state"] == "running", (status, starts)  # suspended, not paused
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            beam.put(1, wait=True)

    thread = threading.Thread(target=beam_thief, daemon=True)
    thread.start()
    queue_api.item_add(BPlan("Flyscan", title="blank fly", thickness_mm=1.0, user_name="ana"))
    queue_api.queue_start()
    try:
        queue_api.wait_for_idle(timeout=TIMEOUT_S)
        thread.join(TIMEOUT_S)
    finally:
        scan_time.put(usual_scan_time, wait=True)
        for signal in (channel, busy):
            signal.unsubscribe_all()
    assert not errors, errors
    (item,) = history(queue_api, 1)
    assert item["result"]["exit_status"] == "completed", item["result"]
    assert starts.count(1) == 2, f"the trajectory was flown twice (busy record: {starts})"
    (uid,) = item["result"]["run_uids"]
    run = queue_catalog[uid]
    assert run.metadata["stop"]["exit_status"] == "success"
    n = run.metadata["start"]["num_pulses"] - 1
    assert run.metadata["stop"]["num_events"]["primary"] == n
