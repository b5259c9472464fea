"""USAXS fly and step scans reduced from the real facility files."""

from __future__ import annotations

import numpy as np
import pytest

from usaxs_bluesky.contract.geometry import rocking_curve, slit_length
from usaxs_bluesky.reduction import ReductionError, reduce_curves
from usaxs_bluesky.reduction.usaxs import compute_r, fit_peak
from usaxs_bluesky.reduction.usaxs_raw import read_usaxs

ARCSEC = 1 / 3600.0


def assert_sane(curve, *, min_points=30, absolute=True):
    """Monotonic Q, finite positive I and Idev, sensible resolution."""
    assert len(curve) >= min_points
    assert np.all(np.diff(curve.q) > 0), "Q must increase monotonically"
    assert np.all(curve.q > 0)
    assert np.all(np.isfinite(curve.i)) and np.all(curve.i > 0)
    assert np.all(np.isfinite(curve.idev)) and np.all(curve.idev > 0)
    assert np.all(np.isfinite(curve.qdev)) and np.all(curve.qdev >= 0)
    assert curve.metadata["absolute"] is absolute


def test_fly_raw_layout(facility):
    raw = read_usaxs(facility("calib/usaxs/FY1_1HF_1.h5"))
    assert raw.plan == "fly"
    assert len(raw) == 7999  # midpoints of 8000 pulse positions
    assert raw.metadata["amplifier"] == "DDPCA300"
    assert raw.metadata["clock_rate_Hz"] == pytest.approx(1e6)
    assert raw.time.sum() == pytest.approx(90, rel=0.02)  # FS_ScanTime
    assert 0 < (~raw.valid).sum() < 100  # range-change dead times masked
    assert set(np.unique(raw.upd_range)) <= {0, 1, 2, 3, 4}
    assert raw.wavelength == pytest.approx(0.5904, rel=1e-3)
    assert raw.thickness_mm == pytest.approx(0.92)


def test_fly_blank_peak(facility):
    raw = read_usaxs(facility("calib/usaxs/Air_1.h5"))
    rc = compute_r(raw)
    peak = fit_peak(rc.ar, rc.r)
    assert abs(peak.center - raw.ar_center) < 2 * ARCSEC
    assert 1.5 * ARCSEC < peak.fwhm < 3.0 * ARCSEC  # ~2-3 arcsec at 21 keV


def test_fly_sample_with_blank(facility):
    desm, smr = reduce_curves(
        facility("calib/usaxs/FY1_1HF_1.h5"), facility("calib/usaxs/Air_1.h5")
    )
    assert smr.smeared and not desm.smeared
    assert_sane(smr, min_points=150)
    assert_sane(desm, min_points=150)
    assert 0.02 < smr.dql < 0.03
    md = smr.metadata
    assert 0 < md["transmission"] < 1
    assert 0 < md["transmission_pin_diode"] < 1
    assert 1e-4 < md["qmin_A"] < 1e-3
    assert smr.q.max() == pytest.approx(0.3, rel=0.05)
    # slit smearing lowers the low-Q intensity: desmeared >= smeared there
    low = smr.q < 0.01
    assert np.all(desm.i[low] > smr.i[low])


def test_step_srm3607_with_blank(facility):
    desm, smr = reduce_curves(
        facility("step/SRM3607_300pts_0097.h5"), facility("step/AirBlank_300pts_0110.h5")
    )
    assert_sane(smr, min_points=30)
    assert_sane(desm, min_points=30)
    assert 0.02 < smr.dql < 0.03
    assert 0 < smr.metadata["transmission"] < 1
    # the sample's range-4 dark reading is saturated (999990 counts/s): replaced
    assert smr.metadata["dark_rate_substituted_from_blank"] == {4: pytest.approx(119061.0)}


def test_step_raw_ranges(facility):
    import h5py

    path = facility("step/SRM3607_300pts_0097.h5")
    raw = read_usaxs(path)
    assert raw.plan == "step" and len(raw) == 300
    with h5py.File(path, "r") as f:
        recorded = f["entry/data/upd_autorange_controls_reqrange"][()].astype(int)
    # the range columns are read after the autorange reacted to the point's count:
    # a point was counted in the range recorded at the previous point
    assert np.array_equal(raw.upd_range[1:], recorded[:-1])
    assert not raw.valid[0], "the first point's range is unknown"
    changed = np.flatnonzero(np.diff(recorded)) + 1  # first points counted in a new range
    assert changed.size > 0
    assert raw.valid[changed].all() and raw.valid[changed - 1].all()
    # with those ranges the signal is continuous across a range change (a wrong
    # range would make it jump by the factor 100 between ranges, ln 100 = 4.6)
    r = (raw.upd - raw.bkg[raw.upd_range] * raw.time) / raw.gains[raw.upd_range] / raw.i0
    low = changed[(raw.upd_range[changed] < 4) & (raw.upd_range[changed - 1] < 4)]
    assert low.size >= 3
    assert np.all(np.abs(np.log(r[low] / r[low - 1])) < 1.0)
    rc = compute_r(raw)
    peak = fit_peak(rc.ar, rc.r)
    assert 0.2 * ARCSEC < peak.fwhm < 1.0 * ARCSEC  # high-resolution crystals


def test_srm3600_without_blank(facility):
    path = facility("step/SRM3600_0349.h5")
    with pytest.raises(ReductionError, match="blank"):
        reduce_curves(path)
    (curve,) = reduce_curves(path, require_blank=False)
    assert_sane(curve, min_points=50, absolute=False)
    assert curve.smeared
    raw = read_usaxs(path)
    assert curve.dql == pytest.approx(slit_length(raw.wavelength, raw.upd_size, raw.sdd))
    assert 0.02 < curve.dql < 0.035  # 24 keV, UPDsize 5.4 mm, SDD 1058 mm: 0.031


def test_slit_length_formula():
    # physics.md: about 0.026 1/A for UPDsize 5.4 mm, SDD 1085 mm, 0.5904 A
    assert slit_length(0.5904, 5.4, 1085.0) == pytest.approx(0.02648, rel=1e-3)


def test_peak_fit_matches_scipy(facility):
    """The numpy Levenberg-Marquardt finds scipy's least-squares optimum on real peaks."""
    from scipy.optimize import curve_fit

    for relpath in ("calib/usaxs/Air_1.h5", "step/AirBlank_300pts_0110.h5"):
        rc = compute_r(read_usaxs(facility(relpath)))
        peak = fit_peak(rc.ar, rc.r)
        top = rc.r >= 0.4 * rc.r.max()
        x, y = rc.ar[top], rc.r[top]  # contiguous here
        hw = peak.fwhm / 2
        ref, _ = curve_fit(rocking_curve, x, y, p0=[y.max(), peak.center, hw, 2.0], maxfev=5000)
        assert peak.height == pytest.approx(ref[0], rel=1e-5)
        assert peak.center == pytest.approx(ref[1], abs=1e-4 * hw)
        assert peak.fwhm == pytest.approx(2 * ref[2], rel=1e-5)


def test_least_squares_fit_bounds_and_noise():
    from usaxs_bluesky.reduction.usaxs import least_squares_fit

    x = np.linspace(-3, 3, 61)
    rng = np.random.default_rng(0)
    y = rocking_curve(x, 2.0, 0.3, 0.8, 1.5) + rng.normal(0, 1e-3, x.size)
    p = least_squares_fit(rocking_curve, x, y, [1, 0, 1, 2], [0, -3, 0.05, 0.6], [10, 3, 20, 50])
    assert p == pytest.approx([2.0, 0.3, 0.8, 1.5], rel=1e-2, abs=1e-3)
    # a bound that excludes the optimum is respected
    p = least_squares_fit(rocking_curve, x, y, [1, 0, 1, 2], [0, -3, 0.05, 3.0], [10, 3, 20, 50])
    assert p[3] == pytest.approx(3.0)
