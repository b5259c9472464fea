"""A beam drop during a fly scan aborts the trajectory and re-flies it: one clean set of arrays."""

import threading

import numpy as np
import pytest
from plan_runner import DEADLINE_S, poll

from usaxs_bluesky.plans.usaxs import Flyscan


def _fly_with_beam_drop(session, sim_ioc, hold, what):
    """Run a Flyscan; once the trajectory has begun, drop the beam until ``hold(channels)``.

    Returns the documents and the busy record's values seen during the run.
    """
    import epics

    inst = session.instrument
    docs = []
    errors = []
    channels = []  # CurrentChannel values seen after the run opened
    started = threading.Event()

    def collect(name, doc):
        docs.append((name, doc))
        if name == "start":
            started.set()

    def on_channel(value=None, **_):
        if started.is_set():
            channels.append(int(value))

    starts = []  # busy record values seen after the run opened

    def on_start(value=None, **_):
        if started.is_set():
            starts.append(int(value))

    channel_pv = epics.PV(sim_ioc.pv("usxLAX:3820:CurrentChannel"), callback=on_channel)
    start_pv = epics.PV(sim_ioc.pv("usxLAX:USAXSfly:Start"), callback=on_start)

    def flying():  # the sim resets CurrentChannel to 0 at its start, then counts up
        return 0 in channels and any(c > 0 for c in channels[channels.index(0) :])

    def beam_thief():
        try:
            poll(flying, "the fly scan to be mid-trajectory")
            epics.caput(sim_ioc.pv("usxSIM:beam_available"), 0, wait=True)
            poll(lambda: hold(channels), what)
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            epics.caput(sim_ioc.pv("usxSIM:beam_available"), 1, wait=True)

    thread = threading.Thread(target=beam_thief, daemon=True)
    token = session.RE.subscribe(collect)
    thread.start()
    try:
        session.RE(Flyscan(inst, title="blank fly", thickness_mm=1.0))
    finally:
        session.RE.unsubscribe(token)
        thread.join(DEADLINE_S)
        for pv in (channel_pv, start_pv):
            pv.clear_callbacks()
            pv.disconnect()
    assert not errors, errors
    return docs, starts


def _descriptors(docs):
    return [d for n, d in docs if n == "descriptor"]


def _rows(docs, stream):
    (desc,) = [d for d in _descriptors(docs) if d["name"] == stream]
    rows = [d for n, d in docs if n == "event" and d["descriptor"] == desc["uid"]]
    pages = [d for n, d in docs if n == "event_page" and d["descriptor"] == desc["uid"]]
    data: dict[str, list] = {}
    for row in rows:
        for key, value in row["data"].items():
            data.setdefault(key, []).append(value)
    for page in pages:
        for key, values in page["data"].items():
            data.setdefault(key, []).extend(values)
    return {k: np.asarray(v) for k, v in data.items()}


def test_flyscan_refies_after_beam_drop(suspended, sim_ioc):
    session, suspenders = suspended
    inst = session.instrument
    inst.sample_data.title.put("blank fly", wait=True)
    docs, starts = _fly_with_beam_drop(
        session, sim_ioc, lambda _: any(s.tripped for s in suspenders), "a suspender to trip"
    )
    assert starts.count(1) == 2, f"the trajectory was flown twice (busy record: {starts})"

    (start,) = [d for n, d in docs if n == "start"]
    (stop,) = [d for n, d in docs if n == "stop"]
    assert stop["exit_status"] == "success"
    names = [d["name"] for d in _descriptors(docs)]
    for stream in ("baseline", "primary", "flyscan_pulses", "flyscan_range_changes"):
        assert names.count(stream) == 1, f"one {stream} descriptor, got {names}"
    n = start["num_pulses"] - 1
    primary = _rows(docs, "primary")
    assert stop["num_events"]["primary"] == n and len(primary["flyscan_ar"]) == n
    assert np.all(np.diff(primary["flyscan_ar"]) < 0), "one pass: angle strictly decreasing"
    assert np.all(primary["flyscan_I0"] > 0), "no channel counted without beam"
    assert np.all(primary["flyscan_clock"] > 0)
    pulses = _rows(docs, "flyscan_pulses")["flyscan_pulse_position"]
    assert len(pulses) == n + 1
    assert len(_rows(docs, "flyscan_range_changes")["flyscan_change_channel"]) >= 1
    assert inst.a_stage.r.position == pytest.approx(inst.terms.ar_center.get(), abs=1e-5)
    # the NeXus writer (which refuses a second stream of one name) committed the file
    assert list(session.data_dir.rglob(start["hdf5_file"])), "data file written"


def test_sim_counts_nothing_while_beam_is_off(usaxs_session, sim_ioc):
    """Without suspenders the pass goes on through the drop: its channels count no I0."""
    inst = usaxs_session.instrument
    inst.sample_data.title.put("blank fly", wait=True)
    span = int(inst.flyscan.num_pulses.get()) // 20
    dropped_at = []

    def hold(channels):
        dropped_at[:] = dropped_at or [channels[-1]]
        return channels[-1] >= dropped_at[0] + span

    docs, starts = _fly_with_beam_drop(usaxs_session, sim_ioc, hold, f"{span} channels in the dark")
    assert starts.count(1) == 1
    i0 = _rows(docs, "primary")["flyscan_I0"]
    dark = np.flatnonzero(i0 == 0)
    assert len(dark) >= span // 2, "channels flown without beam count nothing"
    assert dark[0] > 0 and dark[-1] < len(i0) - 1, "the beam was there before and after"
    assert np.all(np.diff(dark) == 1), "one contiguous dark stretch"


def test_flyscan_completes_when_the_beam_drops_during_its_baseline(suspended, sim_ioc):
    """A drop as the run opens replays the baseline reading: one file, one baseline group."""
    import epics
    import h5py

    session, suspenders = suspended
    inst = session.instrument
    inst.sample_data.title.put("blank fly", wait=True)
    docs = []
    errors = []
    beam = sim_ioc.pv("usxSIM:beam_available")

    def restore_after_trip():
        try:
            poll(lambda: any(s.tripped for s in suspenders), "a suspender to trip")
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            epics.caput(beam, 1, wait=True)

    opened = []

    def drop_at_baseline_trigger(msg):  # the RunEngine's thread: no waiting here
        if msg.command == "open_run":
            opened.append(msg)
        elif msg.command == "trigger" and len(opened) == 1:
            opened.append(msg)
            epics.caput(beam, 0, wait=False)
            threading.Thread(target=restore_after_trip, daemon=True).start()

    token = session.RE.subscribe(lambda name, doc: docs.append((name, doc)))
    session.RE.msg_hook = drop_at_baseline_trigger
    try:
        session.RE(Flyscan(inst, title="blank fly", thickness_mm=1.0))
    finally:
        session.RE.msg_hook = None
        session.RE.unsubscribe(token)
        epics.caput(beam, 1, wait=True)
    assert not errors, errors
    baselines = [d for d in _descriptors(docs) if d["name"] == "baseline"]
    assert len(baselines) == 2, "the drop replayed the baseline reading (the case under test)"
    (start,) = [d for n, d in docs if n == "start"]
    (stop,) = [d for n, d in docs if n == "stop"]
    assert stop["exit_status"] == "success"
    (path,) = session.data_dir.rglob(start["hdf5_file"])
    with h5py.File(path, "r") as f:
        streams = f["entry/instrument/bluesky/streams"]
        assert [k for k in streams if k.startswith("baseline")] == ["baseline"]
        title = streams["baseline/sample_data_title"]
        assert {"value_start", "value_end", "value"} <= set(title)
        assert title["value"].shape == (2,)
