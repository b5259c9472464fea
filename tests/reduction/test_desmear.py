"""Desmearing recovers a known model smeared with the physics.md formula."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from usaxs_bluesky.reduction.common import ReducedCurve
from usaxs_bluesky.reduction.usaxs import desmear, smear

DQL = 0.02648


def model(q):
    """Spheres (R = 300 A) + Porod power law + flat background, 1/cm."""
    x = q * 300.0
    form = 3 * (np.sin(x) - x * np.cos(x)) / x**3
    return 1e3 * form**2 + 1e-4 * q**-4 + 0.05


def smeared_reference(q):
    """I_s(Q) = (1/dQl) int_0^dQl I(sqrt(Q^2 + l^2)) dl, by adaptive quadrature."""
    out = []
    for qq in q:
        pts = [qq, 10 * qq] if 10 * qq < DQL else None
        val, _ = quad(
            lambda ell, qq=qq: model(np.sqrt(qq**2 + ell**2)), 0, DQL, limit=400, points=pts
        )
        out.append(val / DQL)
    return np.array(out)


@pytest.fixture(scope="module")
def smeared_curve():
    q = np.geomspace(1e-4, 0.3, 250)
    ism = smeared_reference(q)
    return ReducedCurve(
        q=q, i=ism, idev=0.005 * ism, qdev=np.zeros_like(q), dql=DQL, smeared=True, metadata={}
    )


def test_smearing_operator_matches_quadrature(smeared_curve):
    q = smeared_curve.q
    ours = smear(q, model(q), DQL)
    mid = (q > 2e-4) & (q < 0.2)
    assert np.max(np.abs(ours[mid] / smeared_curve.i[mid] - 1)) < 0.01


def test_desmear_recovers_model(smeared_curve):
    q = smeared_curve.q
    result = desmear(smeared_curve, chi2_target=0.01, max_iter=200)
    assert not result.smeared and result.dql is None
    mid = (q > 3e-4) & (q < 0.1)
    rel = result.i[mid] / model(q[mid]) - 1
    assert np.max(np.abs(rel)) < 0.03
    assert np.all(result.idev > 0)


def test_check_is_sensitive(smeared_curve):
    """Desmearing with a wrong slit length must miss the model (the test can fail)."""
    wrong = ReducedCurve(
        q=smeared_curve.q,
        i=smeared_curve.i,
        idev=smeared_curve.idev,
        qdev=smeared_curve.qdev,
        dql=DQL / 2,
        smeared=True,
        metadata={},
    )
    q = wrong.q
    result = desmear(wrong, chi2_target=0.01, max_iter=200)
    mid = (q > 3e-4) & (q < 0.1)
    assert np.max(np.abs(result.i[mid] / model(q[mid]) - 1)) > 0.03
