"""Transmission measurement against the simulator (spheres T=0.85, glassy carbon T=0.78)."""

import pytest
from plan_runner import run_plan

from usaxs_bluesky.plans.transmission import (
    measure_transmission,
    transmission,
    transmission_ratio,
)


def _at(session, x, technique):
    inst = session.instrument

    def plan():
        from bluesky import plan_stubs as bps

        yield from bps.mv(inst.s_stage.x, x, inst.s_stage.y, 0.0)
        return (yield from measure_transmission(inst, technique, count_time=1.0))

    return run_plan(session, plan())[0]


def test_usaxs_transmission_of_spheres_relative_to_blank(usaxs_session):
    blank = _at(usaxs_session, 0.0, "usaxs")
    spheres = _at(usaxs_session, 20.0, "usaxs")
    assert spheres["measure_trans_pin"] == 1
    assert transmission_ratio(spheres) / transmission_ratio(blank) == pytest.approx(0.85, rel=0.02)
    tr = usaxs_session.instrument.terms
    assert tr.tr_pin_counts.get(use_monitor=False) == spheres["trans_pin_counts"]
    assert tr.tr_I0_gain.get(use_monitor=False) == spheres["trans_I0_gain"]
    assert spheres["trans_pin_time"] == 1.0
    assert spheres["transmission_sources"]["trans_pin_counts"].startswith(
        "usxLAX:USAXS:TR_pinCounts"
    )
    assert not usaxs_session.instrument.usaxs_shutter.is_open


def test_saxs_transmission_keys(usaxs_session):
    blank = _at(usaxs_session, 0.0, "saxs")
    carbon = _at(usaxs_session, 40.0, "saxs")
    assert set(carbon) >= {"Pin_TrPD", "Pin_TrPDgain", "Pin_TrI0", "Pin_TrI0gain", "Pin_TrTime"}
    assert transmission_ratio(carbon) / transmission_ratio(blank) == pytest.approx(0.78, rel=0.02)
    assert usaxs_session.instrument.mode.get() == "SAXS in beam"


def test_transmission_plan_records_the_keys_in_its_start_document(usaxs_session):
    uid, docs = run_plan(
        usaxs_session, transmission(usaxs_session.instrument, 20.0, 0.0, 1.0, "spheres")
    )
    start = next(d for n, d in docs if n == "start")
    assert start["uid"] == uid and start["plan_name"] == "transmission"
    assert start["trans_pin_counts"] > 0 and start["sx"] == 20.0
    assert sum(n == "event" for n, _ in docs) >= 1


def test_skipped_when_the_instrument_says_so(usaxs_session):
    tr = usaxs_session.instrument.terms
    tr.tr_measure.put(0, wait=True)
    try:
        md = _at(usaxs_session, 0.0, "usaxs")
    finally:
        tr.tr_measure.put(1, wait=True)
    assert md["measure_trans_pin"] == 0 and "trans_pin_counts" not in md


def test_unknown_technique_is_refused(usaxs_session):
    with pytest.raises(ValueError, match="technique"):
        plan = transmission(usaxs_session.instrument, 0, 0, 1.0, "x", technique="xx")
        run_plan(usaxs_session, plan)
