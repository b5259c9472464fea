"""Peak and plateau finding on synthetic data (no RunEngine)."""

import math

import numpy as np
import pytest
from usaxs_sim import physics

from usaxs_bluesky.plans.peaks import (
    find_peak,
    find_plateau,
    gaussian,
    half_height_edges,
    lorentzian_squared,
)

FWHM = 2.0 / 3600


def _rocking(center=8.8457, noise=0.01, seed=0, num=31, width=8 * FWHM / 2):
    rng = np.random.default_rng(seed)
    x = np.linspace(8.8457 - width / 2, 8.8457 + width / 2, num)
    y = 100 * physics.rocking_curve(x - center, FWHM) + 0.2
    return x, y * (1 + noise * rng.standard_normal(num))


def test_lorentzian_squared_has_the_given_fwhm():
    half = lorentzian_squared(np.array([0.0, 1.5]), 0.0, 3.0, 10.0, 0.0)
    assert half == pytest.approx([10.0, 5.0])
    assert gaussian(np.array([2.0]), 0.0, 4.0, 8.0, 1.0) == pytest.approx([5.0])


@pytest.mark.parametrize("offset", [-1.2 * FWHM, 0.0, 0.7 * FWHM])
def test_rocking_curve_centre_and_width(offset):
    x, y = _rocking(center=8.8457 + offset)
    result = find_peak(x, y, min_fwhm=FWHM / 4, max_fwhm=5 * FWHM)
    assert result.success, result.reason
    assert abs(result.center - (8.8457 + offset)) < 0.05 * FWHM
    assert result.fwhm == pytest.approx(FWHM, rel=0.1)
    assert result.peak == pytest.approx(100.2, rel=0.05)


def test_descending_scan_and_nans_are_handled():
    x, y = _rocking(center=8.8458)
    y[3] = math.nan
    result = find_peak(x[::-1], y[::-1], min_fwhm=FWHM / 4, max_fwhm=5 * FWHM)
    assert result.success and abs(result.center - 8.8458) < 0.05 * FWHM


def test_gaussian_piezo_peak():
    x = np.linspace(42, 58, 31)
    y = gaussian(x, 51.3, 4.0, 50.0, 0.1)
    result = find_peak(x, y, model="gaussian", min_fwhm=1, max_fwhm=20)
    assert result.success and result.center == pytest.approx(51.3, abs=0.01)


def test_flat_noise_is_not_a_peak():
    rng = np.random.default_rng(3)
    x = np.linspace(0, 1, 31)
    result = find_peak(x, 5 + rng.standard_normal(31), min_fwhm=0.01, max_fwhm=1)
    assert not result.success and "flat" in result.reason
    assert math.isnan(result.center)


def test_peak_at_the_edge_fails():
    x, y = _rocking(center=8.8457 + 3.5 * FWHM)
    result = find_peak(x, y, min_fwhm=FWHM / 4, max_fwhm=5 * FWHM)
    assert not result.success and "edge" in result.reason


def test_unphysical_width_fails():
    x, y = _rocking()
    result = find_peak(x, y, min_fwhm=3 * FWHM, max_fwhm=10 * FWHM)
    assert not result.success and "width" in result.reason


def test_too_few_points_fail():
    assert not find_peak([1, 2, 3], [0, 1, 0], min_fwhm=0.1, max_fwhm=5).success
    assert find_peak([], [], min_fwhm=0.1, max_fwhm=5).reason == "no finite points"


def test_half_height_edges_interpolate():
    x = np.arange(5.0)
    y = np.array([0, 2, 4, 2, 0.0])
    assert half_height_edges(x, y, 2.0, 2) == (1.0, 3.0)
    left, right = half_height_edges(x, np.array([4, 4, 4, 2, 0.0]), 3.0, 0)
    assert math.isnan(left) and right == 2.5


@pytest.mark.parametrize("center", [95.3, 96.5, 97.7])
def test_plateau_centre_is_the_mid_point_of_the_edges(center):
    rng = np.random.default_rng(1)
    x = np.linspace(96.5 - 5.5, 96.5 + 5.5, 45)
    y = 100 * physics.plateau(x, center, 5.4, 0.3) + 0.05 + rng.normal(0, 0.5, x.size)
    result = find_plateau(x, y, min_width=2.7, max_width=8.1)
    assert result.success, result.reason
    assert result.center == pytest.approx(center, abs=0.05)
    assert result.fwhm == pytest.approx(5.4, abs=0.1)


def test_plateau_with_an_edge_outside_fails():
    x = np.linspace(90, 101, 45)
    y = 100 * physics.plateau(x, 99.5, 5.4, 0.3)
    result = find_plateau(x, y, min_width=2.7, max_width=8.1)
    assert not result.success and "edge" in result.reason


def test_x_and_y_of_different_length_are_refused():
    with pytest.raises(ValueError, match="differ"):
        find_plateau([1, 2], [1], min_width=1, max_width=2)
