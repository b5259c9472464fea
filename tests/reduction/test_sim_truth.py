"""Known truth: reducing the simulator's data recovers its sample models in absolute units.

Runs on the sim (``usaxs_session``): USAXS fly scans of the blank and the
spheres, SAXS of blank and spheres, WAXS of blank and glassy carbon. The
raw arrays come from the documents (tests/reduction/sim_runs.py) until the
NeXus writer makes raw files.
"""

from __future__ import annotations

import numpy as np
import pytest
from bluesky import plan_stubs as bps
from sim_runs import area_frame, collect, usaxs_raw
from usaxs_sim import physics, samples

from usaxs_bluesky.plan_stubs.modes import set_mode
from usaxs_bluesky.plans.area_detector import saxsExp, waxsExp
from usaxs_bluesky.plans.transmission import measure_transmission
from usaxs_bluesky.plans.usaxs import USAXSscan
from usaxs_bluesky.reduction.areadetector import reduce_area
from usaxs_bluesky.reduction.usaxs import absolute_usaxs

#: beam centres in Nika's convention (BeamCenterX = row, BeamCenterY = column)
NIKA_CENTERS = {"saxs_det": (97.0, 243.0), "waxs_det": (256.0, -60.0)}


def _restore(inst, mode: str, shutters_open: bool, sx: float, sy: float):
    """Put back the mode, sample position and USAXS shutter the runs changed."""
    yield from set_mode(inst, mode)
    yield from bps.mv(inst.s_stage.x, sx, inst.s_stage.y, sy)
    yield from bps.mv(inst.usaxs_shutter, "open" if shutters_open else "close")


def usaxs_with_transmission(inst, x: float, thickness_mm: float, title: str):
    """Pin-diode transmission at the sample, then USAXSscan with it in the start document."""
    yield from bps.mv(inst.s_stage.x, x, inst.s_stage.y, 0)
    md = yield from measure_transmission(inst, "usaxs", count_time=1.0)
    return (yield from USAXSscan(inst, x, 0, thickness_mm, title, md=md))


@pytest.fixture(scope="module")
def sim_docs(usaxs_session):
    """Documents of every run this module compares (run once; instrument state restored)."""
    RE, inst = usaxs_session.RE, usaxs_session.instrument
    pos = inst.s_stage
    before = (inst.mode.get(), inst.usaxs_shutter.is_open, pos.x.position, pos.y.position)
    saved = {}
    for det, (bcx, bcy) in NIKA_CENTERS.items():
        geo = getattr(inst, det).geometry
        saved[det] = (geo.beam_center_x.get(), geo.beam_center_y.get())
        geo.beam_center_x.put(bcx, wait=True)
        geo.beam_center_y.put(bcy, wait=True)
    try:
        return {
            "usaxs_blank": collect(RE, usaxs_with_transmission(inst, 0, 1.0, "blank")),
            "usaxs_spheres": collect(RE, usaxs_with_transmission(inst, 20, 1.0, "spheres")),
            "saxs_blank": collect(RE, saxsExp(inst, 0, 0, 1.0, "blank")),
            "saxs_spheres": collect(RE, saxsExp(inst, 20, 0, 1.0, "spheres")),
            "waxs_blank": collect(RE, waxsExp(inst, 0, 0, 1.0, "blank")),
            "waxs_gc": collect(RE, waxsExp(inst, 40, 0, 1.055, "glassy carbon")),
        }
    finally:
        RE(_restore(inst, *before))
        for det, (bcx, bcy) in saved.items():
            geo = getattr(inst, det).geometry
            geo.beam_center_x.put(bcx, wait=True)
            geo.beam_center_y.put(bcy, wait=True)


def _rel(q, measured, truth, qlo, qhi):
    sel = (q >= qlo) & (q <= qhi)
    assert sel.sum() >= 20, f"only {sel.sum()} points in [{qlo}, {qhi}]"
    return measured[sel] / truth(q[sel]) - 1.0


@pytest.fixture(scope="module")
def usaxs_curves(sim_docs):
    blank = usaxs_raw(sim_docs["usaxs_blank"], "blank")
    sample = usaxs_raw(sim_docs["usaxs_spheres"], "spheres")
    return absolute_usaxs(sample, blank)


def test_usaxs_transmission_and_geometry(usaxs_curves):
    smeared, _ = usaxs_curves
    md = smeared.metadata
    assert md["transmission"] == pytest.approx(samples.SPHERES.transmission, rel=0.03)
    # the simulator has no multiple scattering: pin and peak transmissions agree
    assert md["transmission_pin_diode"] == pytest.approx(samples.SPHERES.transmission, rel=0.02)
    assert md["msaxs_correction"] == pytest.approx(1.0, abs=0.03)
    assert md["blank_peak_fwhm_deg"] == pytest.approx(physics.AR_FWHM_DEG, rel=0.05)
    assert smeared.dql == pytest.approx(physics.slit_length(md["wavelength_A"], 5.4, 1085.0))


def test_usaxs_smeared_matches_model(usaxs_curves):
    """Slit-smeared absolute I(Q) vs physics.smeared_intensity (spheres, 1.5e-3..2e-2 1/A)."""
    smeared, _ = usaxs_curves
    model = samples.SPHERES
    rel = _rel(
        smeared.q,
        smeared.i,
        lambda q: physics.smeared_intensity(q, model, smeared.dql),
        1.5e-3,
        2e-2,
    )
    assert np.median(np.abs(rel)) < 0.05
    assert np.mean(np.abs(rel) < 0.15) >= 0.95


def test_usaxs_desmeared_matches_model(usaxs_curves):
    """Desmeared absolute I(Q) vs physics.sample_intensity (spheres, 1.5e-3..2e-2 1/A)."""
    _, desmeared = usaxs_curves
    rel = _rel(
        desmeared.q,
        desmeared.i,
        lambda q: physics.sample_intensity(q, samples.SPHERES),
        1.5e-3,
        2e-2,
    )
    assert np.median(np.abs(rel)) < 0.06
    # desmearing amplifies counting noise: single points stray, the bulk must not
    assert np.mean(np.abs(rel) < 0.25) >= 0.9


def test_saxs_matches_model(sim_docs):
    """SAXS of the spheres, Nika absolute scale, vs the model where counts are good."""
    curve = reduce_area(area_frame(sim_docs["saxs_spheres"]), area_frame(sim_docs["saxs_blank"]))
    assert curve.metadata["transmission"] == pytest.approx(samples.SPHERES.transmission, rel=0.02)
    truth = physics.sample_intensity(curve.q, samples.SPHERES)
    rel = _rel(curve.q, curve.i, lambda q: physics.sample_intensity(q, samples.SPHERES), 0.04, 0.2)
    assert np.median(np.abs(rel)) < 0.05
    # each point: within 10 % plus 4 sigma of its Poisson error (few counts near 0.2 1/A)
    sel = (curve.q >= 0.04) & (curve.q <= 0.2)
    assert np.all(np.abs(curve.i - truth)[sel] < 0.1 * truth[sel] + 4 * curve.idev[sel])


def test_waxs_matches_model(sim_docs):
    """WAXS of glassy carbon (beam off the detector), Nika absolute scale, vs the model."""
    curve = reduce_area(area_frame(sim_docs["waxs_gc"]), area_frame(sim_docs["waxs_blank"]))
    model = samples.GLASSY_CARBON
    assert curve.metadata["transmission"] == pytest.approx(model.transmission, rel=0.02)
    rel = _rel(curve.q, curve.i, lambda q: physics.sample_intensity(q, model), 0.2, 1.5)
    assert np.median(np.abs(rel)) < 0.04
    assert np.all(np.abs(rel) < 0.10)
