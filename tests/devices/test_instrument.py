"""Every device of the instrument against the simulated IOC: connection, motion, counting."""

import inspect
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from ophyd.utils.errors import LimitError
from usaxs_sim.ioc import UsaxsSimIOC

from usaxs_bluesky.plan_stubs.modes import USAXS, set_mode
from usaxs_bluesky.plans.alignment import rocking_curve
from usaxs_bluesky.plans.common import run_metadata

EXPECTED = {
    "m_stage",
    "a_stage",
    "d_stage",
    "s_stage",
    "saxs_stage",
    "waxs_stage",
    "guard_slit",
    "usaxs_slit",
    "scaler",
    "upd_autorange",
    "amplifier_gains",
    "upd_ratio",
    "monochromator",
    "mono_shutter",
    "usaxs_shutter",
    "beam_current",
    "sample_data",
    "user_data",
    "terms",
    "positions",
    "mode",
    "flyscan",
    "saxs_det",
    "waxs_det",
    "data_root",
}


def test_every_device_built_and_connected(usaxs_session):
    inst = usaxs_session.instrument
    assert EXPECTED <= set(inst.devices)
    for name, obj in inst.devices.items():
        assert obj.connected, f"{name} not connected"
    assert inst.scaler.read_attrs  # named channels selected
    assert {"I0", "UPD"} <= set(inst.scaler.read())


def test_motor_moves_and_refuses_beyond_limits(usaxs_session):
    sx = usaxs_session.instrument.s_stage.x
    start = sx.position
    sx.move(start + 1.5, wait=True, timeout=30)
    assert sx.position == pytest.approx(start + 1.5, abs=1e-3)
    low, high = sx.limits
    with pytest.raises(LimitError, match="outside of range"):
        sx.move(high + 10, wait=True, timeout=30)
    assert sx.position == pytest.approx(start + 1.5, abs=1e-3)
    sx.move(start, wait=True, timeout=30)


def test_rocking_curve_peaks_at_ar_center_and_ranges_change(usaxs_session):
    inst, RE = usaxs_session.instrument, usaxs_session.RE
    true_center = inspect.signature(UsaxsSimIOC).parameters["ar_center"].default
    inst.terms.ar_center.put(true_center, wait=True)  # other tests may have moved it
    RE(set_mode(inst, USAXS))
    events = []
    token = RE.subscribe(lambda name, doc: events.append(doc), "event")
    try:
        RE(
            rocking_curve(
                inst,
                title="peak test",
                thickness_mm=1.0,
                user_name="test_user",
                width_deg=0.006,
                num=31,
                count_time=0.2,
            )
        )
    finally:
        RE.unsubscribe(token)
    primary = [e["data"] for e in events if "upd_ratio" in e["data"]]
    angles = np.array([d["a_stage_r"] for d in primary])
    ratio = np.array([d["upd_ratio"] for d in primary])
    ranges = {d["upd_autorange_lurange"] for d in primary}
    center = inst.terms.ar_center.get()
    step = 0.006 / 30
    assert abs(angles[np.nanargmax(ratio)] - center) <= step
    assert len(ranges) >= 2, f"amplifier stayed in ranges {ranges}"
    assert np.nanmax(ratio) / np.nanmin(ratio) > 100


def test_policy_refuses_before_motion(usaxs_session):
    inst, RE = usaxs_session.instrument, usaxs_session.RE
    before = inst.a_stage.r.position
    with pytest.raises(ValueError, match="sample_thickness_mm"):
        RE(rocking_curve(inst, title="x", thickness_mm=-1, user_name="test_user"))
    assert inst.a_stage.r.position == pytest.approx(before, abs=1e-6)
    with pytest.raises(ValueError, match="title"):
        run_metadata("count", title="", thickness_mm=1, user_name="u")


def test_run_found_by_sample_from_a_fresh_process(usaxs_session):
    inst, RE = usaxs_session.instrument, usaxs_session.RE
    (uid,) = RE(
        rocking_curve(
            inst,
            title="Findable Sample 42",
            thickness_mm=0.5,
            user_name="test_user",
            num=5,
            count_time=0.1,
        )
    )
    script = textwrap.dedent(f"""
        from usaxs_bluesky.catalog.search import find_runs
        runs = find_runs({str(usaxs_session.data_dir)!r}, sample="findable sample")
        print([r.uid for r in runs], runs[-1].exit_status, runs[-1].scan_id)
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert uid in out and "success" in out
