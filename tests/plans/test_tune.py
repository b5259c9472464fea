"""Tuning plans against the simulated instrument (true centres: UsaxsSimIOC defaults)."""

import math

import pytest
from plan_runner import run_plan

from usaxs_bluesky.plans.tune import preUSAXStune, tune_a2rp, tune_ar, tune_dx

TRUE_AR = 8.84576945
TRUE_DX = 96.495613
AR_FWHM = 2.0 / 3600
UPD_SIZE = 5.4


@pytest.fixture
def tuned(usaxs_session):
    """Sample PVs set; the centres the tests offset are put back to the truth afterwards."""
    inst = usaxs_session.instrument
    inst.sample_data.title.put("blank", wait=True)
    inst.sample_data.thickness.put(1.0, wait=True)
    yield usaxs_session
    inst.terms.ar_center.put(TRUE_AR, wait=True)
    inst.terms.diode_dx.put(TRUE_DX, wait=True)
    inst.mono_shutter.set("open").wait()
    inst.a_stage.r.set(TRUE_AR).wait()
    inst.d_stage.x.set(TRUE_DX).wait()


def _events(docs, stream):
    uids = {d["uid"] for n, d in docs if n == "descriptor" and d["name"] == stream}
    return [d for n, d in docs if n == "event" and d["descriptor"] in uids]


def test_tune_ar_finds_the_true_centre_and_stores_it(tuned):
    inst = tuned.instrument
    inst.terms.ar_center.put(TRUE_AR + 0.6 * AR_FWHM, wait=True)
    inst.a_stage.r.set(TRUE_AR - 0.5 * AR_FWHM).wait()
    result, docs = run_plan(tuned, tune_ar(inst))
    assert result.success, result.reason
    assert abs(result.center - TRUE_AR) < 0.1 * AR_FWHM
    assert result.fwhm == pytest.approx(AR_FWHM, rel=0.2)
    assert inst.terms.ar_center.get(use_monitor=False) == pytest.approx(result.center)
    assert inst.a_stage.r.position == pytest.approx(result.center, abs=2e-6)
    start = next(d for n, d in docs if n == "start")
    assert start["plan_name"] == "tune_ar"
    assert start["title"] == "blank" and start["sample_thickness_mm"] == 1.0
    assert start["user_name"] == "test_user"
    assert len(_events(docs, "primary")) == 31
    (event,) = _events(docs, "tune_result")
    assert event["data"]["tune_success"] is True
    assert event["data"]["tune_center"] == pytest.approx(result.center)
    assert not inst.usaxs_shutter.is_open


def test_tune_dx_finds_the_plateau_centre(tuned):
    inst = tuned.instrument
    inst.terms.diode_dx.put(TRUE_DX + 1.3, wait=True)
    result, _ = run_plan(tuned, tune_dx(inst, title="tune", thickness_mm=0.5))
    assert result.success, result.reason
    assert abs(result.center - TRUE_DX) < 0.1 * UPD_SIZE
    assert result.fwhm == pytest.approx(UPD_SIZE, rel=0.1)
    assert inst.terms.diode_dx.get(use_monitor=False) == pytest.approx(result.center)


def test_tune_a2rp_moves_the_piezo_to_its_peak(tuned):
    inst = tuned.instrument
    inst.a_stage.r2p.set(47.0).wait()
    result, _ = run_plan(tuned, tune_a2rp(inst, num=21))
    assert result.success, result.reason
    assert abs(result.center - 50.0) < 0.4  # 10 % of the 4 V FWHM
    assert inst.a_stage.r2p.position == pytest.approx(result.center, abs=0.01)


def test_tune_without_beam_fails_and_restores(tuned, sim_ioc):
    import epics

    inst = tuned.instrument
    inst.terms.ar_center.put(TRUE_AR + 0.6 * AR_FWHM, wait=True)
    before = inst.a_stage.r.position
    epics.caput(sim_ioc.pv("usxSIM:beam_available"), 0, wait=True)
    try:
        result, docs = run_plan(tuned, tune_ar(inst, num=11))
    finally:
        epics.caput(sim_ioc.pv("usxSIM:beam_available"), 1, wait=True)
    assert not result.success and "no beam" in result.reason
    assert math.isnan(result.center)
    assert inst.a_stage.r.position == pytest.approx(before, abs=2e-6)
    assert inst.terms.ar_center.get(use_monitor=False) == pytest.approx(TRUE_AR + 0.6 * AR_FWHM)
    (event,) = _events(docs, "tune_result")
    assert event["data"]["tune_success"] is False
    assert "no beam" in event["data"]["tune_reason"]


def test_tune_with_mono_shutter_closed_fails_and_restores(tuned):
    inst = tuned.instrument
    inst.terms.diode_dx.put(TRUE_DX + 1.0, wait=True)
    inst.d_stage.x.set(TRUE_DX - 0.5).wait()
    inst.mono_shutter.set("close").wait()
    result, _ = run_plan(tuned, tune_dx(inst, num=11))
    assert not result.success and "no beam" in result.reason
    # back where it was before the tune (the mode change had moved it to the stored centre)
    assert inst.d_stage.x.position == pytest.approx(TRUE_DX - 0.5, abs=1e-3)
    assert inst.terms.diode_dx.get(use_monitor=False) == pytest.approx(TRUE_DX + 1.0)


def test_preusaxstune_runs_each_tune_as_its_own_run(tuned):
    inst = tuned.instrument
    results, docs = run_plan(tuned, preUSAXStune(inst, tunes=("tune_mr", "tune_ar")))
    assert list(results) == ["tune_mr", "tune_ar"]
    assert all(r.success for r in results.values())
    names = [d["plan_name"] for n, d in docs if n == "start"]
    assert names == ["tune_mr", "tune_ar"]


def test_tune_refuses_bad_arguments_before_moving(tuned):
    inst = tuned.instrument
    with pytest.raises(ValueError, match="num >= 5"):
        run_plan(tuned, tune_ar(inst, num=2))
    with pytest.raises(ValueError, match="outside its limits"):
        run_plan(tuned, tune_dx(inst, width=1000.0))
    with pytest.raises(ValueError, match="unknown tunes"):
        run_plan(tuned, preUSAXStune(inst, tunes=("tune_zz",)))
