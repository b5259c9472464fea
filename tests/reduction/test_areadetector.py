"""SAXS / WAXS frames and the USAXS-SAXS consistency check."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from usaxs_bluesky.reduction import reduce_curves
from usaxs_bluesky.reduction.areadetector import read_area_frame, reduce_area
from usaxs_bluesky.reduction.common import ReducedCurve

MIN_FRAME_COUNTS = 1e5  # a frame with the beam on has far more than this


def overlap_ratio(a: ReducedCurve, b: ReducedCurve, qlo: float, qhi: float) -> np.ndarray:
    """b / a interpolated (log-log) on a's points in [qlo, qhi]."""
    sel = (a.q >= qlo) & (a.q <= qhi) & (a.q >= b.q.min()) & (a.q <= b.q.max())
    pos = b.i > 0
    bi = np.exp(np.interp(np.log(a.q[sel]), np.log(b.q[pos]), np.log(b.i[pos])))
    return bi / a.i[sel]


def test_waxs_pair(facility):
    (curve,) = reduce_curves(facility("calib/waxs/FY1_1HF_1.hdf"), facility("calib/waxs/Air_1.hdf"))
    assert np.all(np.diff(curve.q) > 0)
    assert curve.metadata["absolute"]
    assert 1.0 < curve.q.min() < 2.0 and 4.0 < curve.q.max() < 6.0  # beam off the detector
    assert np.all(np.isfinite(curve.i)) and np.all(curve.idev > 0)
    assert np.mean(curve.i > 0) > 0.95
    assert 0 < curve.metadata["transmission"] < 1
    assert curve.metadata["masked_pixels"] > 0  # Eiger gaps / flagged pixels


def test_saxs_pair_geometry(facility):
    sample = read_area_frame(facility("calib/saxs/FY1_1HF_1.hdf"))
    (curve,) = reduce_curves(facility("calib/saxs/FY1_1HF_1.hdf"), facility("calib/saxs/Air_1.hdf"))
    assert sample.kind == "SAXS" and sample.data.shape == (195, 487)
    assert np.all(np.diff(curve.q) > 0)
    assert np.all(np.isfinite(curve.i)) and np.all(np.isfinite(curve.idev))
    assert 0.005 < curve.q.min() < 0.1
    assert curve.metadata["absolute"]


def _saxs_has_beam(path) -> tuple[bool, str]:
    with h5py.File(path, "r") as f:
        total = float(np.clip(f["entry/data/data"][()], 0, None).sum())
        sr = float(np.ravel(f["entry/Metadata/SRcurrent"][()])[0])
    return total >= MIN_FRAME_COUNTS, f"total counts {total:.0f}, SR current {sr:.3g} mA"


def test_usaxs_saxs_agree(facility):
    """Absolute USAXS (desmeared) and SAXS of FY1_1HF_1 agree within 15 %."""
    saxs_path = facility("calib/saxs/FY1_1HF_1.hdf")
    ok, why = _saxs_has_beam(saxs_path)
    if not ok:
        pytest.skip(f"the SAXS frame in the test data was taken without beam ({why})")
    desm, _ = reduce_curves(facility("calib/usaxs/FY1_1HF_1.h5"), facility("calib/usaxs/Air_1.h5"))
    (saxs,) = reduce_curves(saxs_path, facility("calib/saxs/Air_1.hdf"))
    ratio = overlap_ratio(desm, saxs, max(saxs.q.min(), 0.03), 0.2)
    assert ratio.size >= 5
    assert np.all(np.abs(ratio - 1) < 0.15)


def test_overlap_check_detects_mismatch():
    q = np.geomspace(0.01, 0.3, 50)
    a = ReducedCurve(q, q**-3, 0.01 * q**-3, q * 0, None, False, {})
    same = ReducedCurve(q * 1.01, (q * 1.01) ** -3, q, q * 0, None, False, {})
    off = ReducedCurve(q, 1.3 * q**-3, q, q * 0, None, False, {})
    assert np.all(np.abs(overlap_ratio(a, same, 0.02, 0.2) - 1) < 0.01)
    assert np.all(np.abs(overlap_ratio(a, off, 0.02, 0.2) - 1) > 0.15)


def test_synthetic_frame_absolute_scale(facility, tmp_path):
    """A frame built with the Nika/I_scaling formula reduces back to the input I(q)."""
    sample_path = facility("calib/waxs/FY1_1HF_1.hdf")
    blank_path = facility("calib/waxs/Air_1.hdf")
    sample, blank = read_area_frame(sample_path), read_area_frame(blank_path)
    from usaxs_bluesky.reduction.areadetector import integrator

    ai = integrator(sample)
    q = ai.array_from_unit(sample.data.shape, "center", "q_A^-1")
    cos3 = ai.solidAngleArray(sample.data.shape)  # relative solid angle (cos^3 like)
    truth = 2.0 * np.ones_like(q)  # flat 2 1/cm
    t_cm = sample.thickness_mm / 10
    t = 0.5
    solid = sample.pixel_x**2 / sample.distance**2
    mon = sample.i0 / sample.i0_gain
    # counts = I * mon * T * t_cm * Omega_rel * (p^2/L^2) / K  (+ blank scaled by monitor)
    blank_img = np.full(sample.data.shape, 50.0)
    img = truth * mon * t * t_cm * cos3 * solid / sample.i_scaling + t * blank_img
    sample.data = img
    blank.data = blank_img * (blank.i0 / blank.i0_gain) / mon
    curve = reduce_area(sample, blank, transmission_override=t)
    assert np.median(np.abs(curve.i / 2.0 - 1)) < 0.01


def test_saxs_log_bins_fill_the_usaxs_overlap(facility):
    (curve,) = reduce_curves(
        facility("session/saxs/PPOH_25C_orig_0066.hdf"),
        facility("session/saxs/HeaterBlank_0060.hdf"),
    )
    note = curve.metadata["binning"]
    assert note["rule"].startswith("log-spaced, 200 per decade")
    assert note["bins"] >= len(curve)
    assert ((curve.q >= 0.03) & (curve.q <= 0.1)).sum() >= 30  # was 8 with 200 linear bins
    step = np.diff(np.log(curve.q))
    high = curve.q[1:] > 0.3  # above the half-pixel limit: log spacing, 200 per decade
    assert np.median(step[high]) == pytest.approx(np.log(10) / 200, rel=0.05)
    assert np.all(np.diff(curve.q) > 0)


def test_beamstop_shadow_is_masked(facility):
    """The session SAXS frames have the beam-stop shadow on columns 0-2 (about 15 counts)."""
    from usaxs_bluesky.reduction.areadetector import make_mask, shadow_mask

    frame = read_area_frame(facility("session/saxs/HeaterBlank_0060.hdf"))
    base = make_mask(frame, 8.0)
    shadow = shadow_mask(frame, base)
    rows = slice(60, 130)  # the bright rings near the beam
    assert (shadow | base)[rows, 0:2].all()  # the shadow
    assert (shadow | base)[rows, 2].mean() > 0.9  # its penumbra (a few counts of 5000)
    assert not shadow[rows, 6:40].any()
    # the dead column 243 (0 counts; the facility's mask has 242-244) is found too
    assert shadow[:, 242:245].mean() > 0.9
    # a frame with few counts per pixel has no "shadow" from Poisson zeros
    frame.data = np.random.default_rng(1).poisson(2.0, frame.data.shape).astype(np.int32)
    assert not shadow_mask(frame, make_mask(frame)).any()


def test_one_integrator_per_geometry(facility):
    from dataclasses import replace

    from usaxs_bluesky.reduction.areadetector import integrator

    a = read_area_frame(facility("session/saxs/PPOH_25C_orig_0066.hdf"))
    b = read_area_frame(facility("session/saxs/HeaterBlank_0060.hdf"))
    assert integrator(a) is integrator(b)
    moved = replace(a, distance=a.distance * 1.1)
    assert integrator(moved) is not integrator(a)
    assert integrator(moved).getFit2D()["directDist"] == pytest.approx(a.distance * 1.1)


def test_warm_integrator_no_full_gc_same_curve(facility):
    """A frame reduced with the cached integrator: no gc.collect() at all, the same I(q)."""
    import gc

    from usaxs_bluesky.reduction.areadetector import _integrator, _q_array

    sample = read_area_frame(facility("session/saxs/PPOH_25C_orig_0066.hdf"))
    blank = read_area_frame(facility("session/saxs/HeaterBlank_0060.hdf"))
    _integrator.cache_clear()
    _q_array.cache_clear()
    cold = reduce_area(sample, blank)
    collections: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.disable()  # only explicit gc.collect() calls are counted
    gc.callbacks.append(count)
    try:
        warm = reduce_area(sample, blank)
    finally:
        gc.callbacks.remove(count)
        gc.enable()
    assert collections == []
    assert _integrator.cache_info().misses == 1
    np.testing.assert_array_equal(warm.q, cold.q)
    np.testing.assert_array_equal(warm.i, cold.i)
    np.testing.assert_array_equal(warm.idev, cold.idev)
    np.testing.assert_array_equal(warm.qdev, cold.qdev)
