"""The simulator's own copies of the contract's constants and formulas agree with it.

The simulator never imports ``usaxs_bluesky`` (it stands in for the beamline);
this test is what keeps its copies of the USAXS geometry honest.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from usaxs_sim import physics

from usaxs_bluesky.contract import geometry

SIM = Path(physics.__file__).resolve().parent


def test_constants_agree():
    assert physics.HC_KEV_A == geometry.HC_KEV_A
    assert physics.MASK_TIMES == geometry.MASK_TIMES
    assert len(physics.UPD_GAINS) == len(physics.UPD_BKG) == geometry.UPD_RANGES


@pytest.mark.parametrize("energy", [8.0, 21.0, 24.99])
def test_wavelength_agrees(energy):
    assert geometry.energy_from_wavelength(physics.wavelength(energy)) == pytest.approx(energy)


@pytest.mark.parametrize("wavelength", [0.5904, 1.0, 1.54])
def test_q_and_ar_agree(wavelength):
    center = 8.84576945
    ar = center - np.geomspace(1e-6, 0.5, 40)
    np.testing.assert_allclose(
        geometry.q_from_ar(ar, center, wavelength), physics.q_from_ar(ar, center, wavelength)
    )
    q = np.geomspace(1e-5, 0.3, 40)
    np.testing.assert_allclose(
        geometry.ar_from_q(q, center, wavelength), physics.ar_from_q(q, center, wavelength)
    )
    assert geometry.slit_length(wavelength, 5.4, 1085.0) == pytest.approx(
        physics.slit_length(wavelength, 5.4, 1085.0)
    )


def test_rocking_curve_agrees():
    fwhm = physics.AR_FWHM_DEG
    d = np.linspace(-20 * fwhm, 20 * fwhm, 401)
    ours = geometry.rocking_curve(d, 1.0, 0.0, fwhm / 2, 2.0)
    np.testing.assert_allclose(ours, physics.rocking_curve(d, fwhm), rtol=1e-12)


def test_simulator_does_not_import_the_package():
    for path in SIM.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            assert not [m for m in modules if m.split(".")[0] == "usaxs_bluesky"], path
