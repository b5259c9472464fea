"""The real session sample PPOH_25C_orig_0066: USAXS, SAXS and WAXS, each on its own calibration.

Compared on a few log bins (inverse-variance means) so that desmearing noise
and the different resolutions of the techniques average out. Nothing here
scales one technique to another.
"""

from __future__ import annotations

import numpy as np
import pytest

from usaxs_bluesky.reduction import reduce_curves
from usaxs_bluesky.reduction.common import ReducedCurve
from usaxs_bluesky.reduction.usaxs import smear

SAMPLE, BLANK = "PPOH_25C_orig_0066", "HeaterBlank_0060"
AGREEMENT = 0.15


def coarse(curve: ReducedCurve, edges: np.ndarray) -> np.ndarray:
    """Inverse-variance mean of ``curve`` in each bin of ``edges`` (nan where empty)."""
    idx = np.searchsorted(edges, curve.q) - 1
    out = np.full(len(edges) - 1, np.nan)
    for k in range(len(out)):
        sel = idx == k
        if sel.any():
            w = 1.0 / curve.idev[sel] ** 2
            out[k] = np.sum(w * curve.i[sel]) / np.sum(w)
    return out


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Reduced curves of the session sample: usaxs (desmeared, smeared), saxs, waxs."""
    from conftest import facility_file

    out = {}
    for tech, ext in (("usaxs", "h5"), ("saxs", "hdf"), ("waxs", "hdf")):
        curves = reduce_curves(
            facility_file(f"session/{tech}/{SAMPLE}.{ext}"),
            facility_file(f"session/{tech}/{BLANK}.{ext}"),
        )
        out[tech] = curves
    return out


def test_coarse_binning_is_an_average():
    q = np.geomspace(0.01, 1, 100)
    c = ReducedCurve(q, 2 * np.ones_like(q), 0.1 * np.ones_like(q), 0 * q, None, False, {})
    np.testing.assert_allclose(coarse(c, np.geomspace(0.01, 1, 5)), 2.0)
    assert np.isnan(coarse(c, np.array([2.0, 3.0]))).all()


@pytest.mark.xfail(
    strict=True,
    reason="real data: USAXS = 0.80 x SAXS + 0.074 1/cm over 0.03-0.1 1/A (flat excess from "
    "the range-4 dark current, scale unexplained; see docs/reduction.md)",
)
def test_usaxs_and_saxs_agree(session):
    (desmeared, _), (saxs,) = session["usaxs"], session["saxs"]
    edges = np.geomspace(0.03, 0.1, 11)
    ratio = coarse(desmeared, edges) / coarse(saxs, edges)
    assert np.all(np.abs(ratio - 1) < AGREEMENT), np.round(ratio, 3)


def test_why_usaxs_and_saxs_differ(session):
    """Behind the failure above: same thickness and transmission, a scale and a floor."""
    (_, smeared), (saxs,) = session["usaxs"], session["saxs"]
    us, sx = smeared.metadata, saxs.metadata
    assert us["thickness_mm"] == sx["thickness_mm"] == 1.0
    assert us["transmission_pin_diode"] == pytest.approx(sx["transmission"], abs=0.01)
    assert us["msaxs_correction"] == pytest.approx(1.071, abs=0.005)
    # smeared USAXS = a * (SAXS smeared with the USAXS slit) + b, 0.031-0.1 1/A
    sel = (smeared.q > 0.031) & (smeared.q < 0.1)
    model = np.interp(smeared.q[sel], saxs.q, smear(saxs.q, saxs.i, smeared.dql))
    a, b = np.linalg.lstsq(np.vstack([model, np.ones_like(model)]).T, smeared.i[sel], rcond=None)[0]
    assert a == pytest.approx(0.80, abs=0.05)
    assert b == pytest.approx(0.074, abs=0.015)
    # above 0.2 1/A SAXS is 0.011-0.016 1/cm; the USAXS floor is five to eight times that
    high = smeared.q > 0.2
    assert np.median(smeared.i[high]) > 5 * np.median(saxs.i[(saxs.q > 0.2) & (saxs.q < 0.3)])


def test_waxs_and_saxs_agree_in_their_overlap(session):
    (saxs,), (waxs,) = session["saxs"], session["waxs"]
    lo, hi = waxs.q.min(), saxs.q.max()
    assert hi - lo > 0.2  # 1.46-1.77 1/A
    grid = np.linspace(lo, hi, 400)
    integral = np.trapezoid(np.interp(grid, waxs.q, waxs.i), grid) / np.trapezoid(
        np.interp(grid, saxs.q, saxs.i), grid
    )
    assert abs(integral - 1) < AGREEMENT, integral
    ratio = coarse(waxs, np.geomspace(lo, hi, 9)) / coarse(saxs, np.geomspace(lo, hi, 9))
    assert abs(np.median(ratio) - 1) < AGREEMENT, np.round(ratio, 3)
