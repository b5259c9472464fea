"""Beam suspenders: a scan pauses while the beam is gone and resumes without losing points."""

import threading

import numpy as np
import pytest
from plan_runner import DEADLINE_S, poll

from usaxs_bluesky.plans.suspenders import beam_suspenders
from usaxs_bluesky.plans.tune import tune_ar
from usaxs_bluesky.plans.usaxs import uascan


def _drop_beam_during(session, sim_ioc, plan, after_events, suspenders):
    """Run ``plan``; after ``after_events`` primary events drop the beam until a suspender trips."""
    import epics

    docs = []
    events = threading.Event()
    errors = []

    def collect(name, doc):
        docs.append((name, doc))
        if name == "event" and sum(n == "event" for n, _ in docs) >= after_events:
            events.set()

    def beam_thief():
        try:
            poll(events.is_set, f"{after_events} events")
            epics.caput(sim_ioc.pv("usxSIM:beam_available"), 0, wait=True)
            poll(lambda: any(s.tripped for s in suspenders), "a suspender to trip")
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            epics.caput(sim_ioc.pv("usxSIM:beam_available"), 1, wait=True)

    thread = threading.Thread(target=beam_thief, daemon=True)
    token = session.RE.subscribe(collect)
    thread.start()
    try:
        session.RE(plan)
    finally:
        session.RE.unsubscribe(token)
        thread.join(DEADLINE_S)
    assert not errors, errors
    return docs


def _primary(docs):
    (desc,) = [d for n, d in docs if n == "descriptor" and d["name"] == "primary"]
    return [d for n, d in docs if n == "event" and d["descriptor"] == desc["uid"]]


def test_uascan_resumes_with_every_point_once(suspended, sim_ioc):
    session, suspenders = suspended
    inst = session.instrument
    n = 24
    plan = uascan(inst, title="blank", thickness_mm=1.0, intervals=n, count_time=0.2)
    docs = _drop_beam_during(session, sim_ioc, plan, 8, suspenders)
    events = _primary(docs)
    ar = np.array([e["data"]["a_stage_r"] for e in events])
    assert [e["seq_num"] for e in events] == list(range(1, n + 1))
    assert len(events) == n
    assert np.all(np.diff(ar) < 0)  # strictly decreasing: no point twice, none lost
    assert all(e["data"]["I0"] > 1000 for e in events)  # no point counted without beam
    (stop,) = [d for name, d in docs if name == "stop"]
    assert stop["exit_status"] == "success"


def test_tune_resumes_with_every_point_once(suspended, sim_ioc):
    session, suspenders = suspended
    inst = session.instrument
    inst.sample_data.title.put("blank", wait=True)
    docs = _drop_beam_during(session, sim_ioc, tune_ar(inst, num=15), 5, suspenders)
    events = _primary(docs)
    assert len(events) == 15
    assert np.all(np.diff([e["data"]["a_stage_r"] for e in events]) > 0)


def test_thresholds_are_checked(usaxs_session):
    with pytest.raises(ValueError, match="resume_current_mA"):
        beam_suspenders(usaxs_session.instrument, min_current_mA=5, resume_current_mA=1)
