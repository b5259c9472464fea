"""Pure physics of the simulator (no Channel Access)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from usaxs_sim import physics as P
from usaxs_sim import samples as S


def test_wavelength_and_q_roundtrip():
    lam = P.wavelength(21.0)
    assert lam == pytest.approx(0.590401, rel=1e-5)
    q = np.array([1e-4, 1e-3, 0.1, 0.3])
    ar = P.ar_from_q(q, 8.84576945, lam)
    assert np.all(ar < 8.84576945)
    assert P.q_from_ar(ar, 8.84576945, lam) == pytest.approx(q, rel=1e-9)


def test_rocking_curve_fwhm_and_wings():
    w = P.AR_FWHM_DEG
    assert P.rocking_curve(0.0, w) == pytest.approx(1.0)
    assert P.rocking_curve(w / 2, w) == pytest.approx(0.5, rel=1e-9)
    far = P.rocking_curve(np.array([100 * w, 200 * w]), w)
    assert far[0] / far[1] == pytest.approx(16, rel=1e-3)  # d^-4 wings


def test_slit_length():
    assert P.slit_length(0.5904, 5.4, 1085) == pytest.approx(0.0265, rel=0.01)


def test_sample_table():
    assert S.model_at(0, 0).name == "blank"
    assert S.model_at(20.5, 0.5).name == "spheres"
    assert S.model_at(40, 0).name == "glassy_carbon"
    assert S.model_at(70, 10).name == "air"
    assert S.by_name("spheres") is S.SPHERES


def test_sample_intensity_magnitudes():
    sph = P.sample_intensity([1e-3], S.SPHERES)[0]
    assert 1e4 < sph < 1e5
    gc = P.sample_intensity([0.008, 0.03, 0.1, 0.25], S.GLASSY_CARBON)
    assert gc == pytest.approx([35, 29, 24, 4.5], rel=0.15)
    assert np.all(P.sample_intensity([1e-3, 0.1], S.BLANK) == 0)


def test_smeared_table_matches_direct_integral():
    dql = P.slit_length(0.5904, 5.4, 1085)
    q = np.array([2e-4, 1e-3, 1e-2, 0.1])
    table = P.smeared_intensity(q, S.SPHERES, dql)
    direct = P._smeared_direct(q, S.SPHERES, dql, n=3000)
    assert table == pytest.approx(direct, rel=0.01)


def test_usaxs_ratio_blank_and_sample():
    geom = P.UsaxsGeometry()
    blank = P.usaxs_ratio(geom.ar_center, S.BLANK, geom)
    assert blank == pytest.approx(1.0)
    ar = P.ar_from_q(np.array([1e-3, 1e-2]), geom.ar_center, geom.wavelength)
    sample = P.usaxs_ratio(ar, S.SPHERES, geom)
    blank_far = P.usaxs_ratio(ar, S.BLANK, geom)
    assert sample[0] > blank_far[0] and sample[1] > 10 * blank_far[1]
    # reduction formula inverts the model
    dql = P.slit_length(geom.wavelength, geom.upd_size, geom.sdd)
    w_rad = math.radians(geom.ar_fwhm)
    t_cm = S.SPHERES.thickness_mm / 10
    i_s = (sample / S.SPHERES.transmission - blank_far) / (w_rad * geom.upd_size / geom.sdd * t_cm)
    q = P.q_from_ar(ar, geom.ar_center, geom.wavelength)
    assert i_s == pytest.approx(P.smeared_intensity(q, S.SPHERES, dql), rel=1e-9)


def test_autorange_hysteresis_and_window():
    # 1e-5 A: range 0 gives 1e4 c/s (inside [6000, 850000])
    assert P.autorange(1e-5, 4) == 0
    assert P.autorange(1e-5, 0) == 0
    # tiny current: highest gain
    assert P.autorange(1e-15, 0) == 4
    for current in np.geomspace(1e-14, 1e-5, 40):
        r = P.autorange(current, 2)
        rate = current * P.UPD_GAINS[r] * P.UPD_VFC + P.UPD_BKG[r]
        assert rate <= P.GAIN_D or r == 0
        assert rate >= P.GAIN_U or r == 4


def test_fly_pulse_positions_step_law():
    lam = P.wavelength(21.0)
    center = 8.84576779
    finish = P.ar_finish_from_q(center, 0.3, lam)
    pos = P.fly_pulse_positions(8.84738314, finish, center, 8000, 2e-5, 0.7)
    assert len(pos) == 8000
    assert pos[0] == pytest.approx(8.84738314)
    assert pos[-1] == pytest.approx(finish, abs=1e-9)
    steps = -np.diff(pos)
    assert np.all(steps > 0)
    near = np.argmin(abs(pos - center))
    assert steps[near] < 2.5e-5  # fine near the centre
    assert steps[-1] > 10 * steps[near]  # coarse far away
    assert finish == pytest.approx(7.2303, abs=1e-3)  # as the real 0.3 1/A scan


def test_simulate_fly_upd_changes_and_noise():
    lam = P.wavelength(21.0)
    geom = P.UsaxsGeometry(wavelength=lam)
    pos = P.fly_pulse_positions(
        geom.ar_center + 0.0016, P.ar_finish_from_q(geom.ar_center, 0.3, lam), geom.ar_center
    )
    mid = 0.5 * (pos[1:] + pos[:-1])
    cur = P.UPD_PEAK_CURRENT * P.usaxs_ratio(mid, S.SPHERES, geom)
    rng = np.random.default_rng(0)
    upd, ranges, changes = P.simulate_fly_upd(cur, None, 90 / 7999, rng)
    assert len(upd) == len(ranges) == 7999
    assert set(ranges) == {0, 1, 2, 3, 4}
    gains = [c[0] for c in changes]
    assert changes[0] == (2, 2, 0)
    assert 4 in gains and 0 in gains
    assert len(changes) % 2 == 1


def test_area_detector_isotropic_and_beamstop():
    shape = (195, 487)
    exp = P.area_detector_expected(
        S.SPHERES, shape, (243.0, 97.0), 0.172, 456.0, 0.5904, i0_counts=1e6, beamstop_radius_px=8
    )
    assert exp.shape == shape
    assert exp[97, 243] < 1  # beam stop
    # same radius left/right/up/down -> same expected counts
    assert exp[97, 243 + 40] == pytest.approx(exp[97, 243 - 40], rel=1e-9)
    assert exp[97 + 40, 243] == pytest.approx(exp[97, 243 + 40], rel=1e-9)
    assert exp[97, 243 + 20] > exp[97, 243 + 200]
