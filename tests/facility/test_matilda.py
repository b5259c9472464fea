"""The facility's Matilda, unpatched, reduces our simulated files and agrees with our reduction.

Matilda is imported from ``../shared/clients/matilda/matilda`` (skipped when
absent) and always run on copies: it writes its results into the files.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from usaxs_bluesky.reduction.pipeline import reduce_curves

MATILDA = Path(__file__).resolve().parents[3] / "shared" / "clients" / "matilda" / "matilda"
#: median relative difference allowed between Matilda's curves and ours
AGREEMENT = 0.02


@pytest.fixture(scope="module")
def matilda():
    """Matilda's conversion modules, or skip with the reason."""
    if not (MATILDA / "convertFlyscan.py").is_file():
        pytest.skip(f"Matilda not found at {MATILDA}")
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    sys.path.insert(0, str(MATILDA))
    try:
        import convertFlyscan
        import convertSWAXS
        import convertUSAXS
    except ImportError as exc:
        pytest.skip(f"Matilda cannot be imported here: {exc}")
    finally:
        sys.path.remove(str(MATILDA))
    return {"fly": convertFlyscan, "step": convertUSAXS, "area": convertSWAXS}


def _copies(sim_files, kind: str, tmp_path: Path) -> tuple[Path, Path]:
    """Copy the sample and blank files of ``kind`` into a folder named like ours (``..._saxs``)."""
    sample, blank = sim_files[kind, "sample"], sim_files[kind, "blank"]
    folder = tmp_path / sample.parent.name
    folder.mkdir()
    return Path(shutil.copy(sample, folder)), Path(shutil.copy(blank, folder))


def median_difference(ours, q: np.ndarray, i: np.ndarray) -> float:
    """Median of |i / ours - 1| over the common Q range, our curve interpolated in log-log.

    The common range is where our curve is measured: intensity above three
    times its uncertainty (beyond, both curves are noise about zero).
    """
    good = (ours.q > 0) & np.isfinite(ours.i) & (ours.i > 3 * ours.idev)
    q_ref, i_ref = ours.q[good], ours.i[good]
    keep = (q > 0) & (i > 0) & np.isfinite(i) & (q >= q_ref.min()) & (q <= q_ref.max())
    assert keep.sum() > 20, "too few points in the common Q range"
    order = np.argsort(q_ref)
    ref = np.exp(np.interp(np.log(q[keep]), np.log(q_ref[order]), np.log(i_ref[order])))
    return float(np.median(np.abs(i[keep] / ref - 1)))


def pin_transmission(sample: Path, blank: Path) -> float:
    """Sample/blank pin-diode transmission from the ``terms_USAXS_transmission_*`` baseline."""
    import h5py

    def ratio(path: Path) -> float:
        with h5py.File(path, "r") as f:
            base = "entry/instrument/bluesky/streams/baseline/terms_USAXS_transmission_"
            v = {n: float(f[f"{base}{n}/value"][0]) for n in ("diode_counts", "diode_gain")}
            v |= {n: float(f[f"{base}{n}/value"][0]) for n in ("I0_counts", "I0_gain")}
        return (v["diode_counts"] / v["diode_gain"]) / (v["I0_counts"] / v["I0_gain"])

    return ratio(sample) / ratio(blank)


def matilda_step_msaxs_error(sample: Path, blank: Path) -> float:
    """Factor Matilda's step-scan intensity carries from its swapped transmission labels.

    Matilda's ``importStepScan`` stores the I0 counts/gain as ``trans_pin_*``
    and the diode's as ``trans_I0_*`` (convertUSAXS.py), so its measured
    transmission is 1/T_pin and its MSAXS correction divides by
    (1/T_pin)/T_peak instead of T_pin/T_peak: its curve is ours times T_pin**2.
    It does the same with the facility's files; this is Matilda's to fix.
    """
    return pin_transmission(sample, blank) ** 2


@pytest.mark.parametrize("kind", ["fly", "step"])
def test_matilda_reduces_our_usaxs_files_as_we_do(matilda, sim_files, tmp_path, kind):
    sample, blank = _copies(sim_files, kind, tmp_path)
    ours = reduce_curves(sim_files[kind, "sample"], sim_files[kind, "blank"])
    smeared = next(c for c in ours if c.smeared)
    module = matilda[kind]
    process = module.processFlyscan if kind == "fly" else module.processStepscan
    result = process(
        str(sample.parent), sample.name, str(blank.parent), blank.name, recalculateAllData=True
    )
    cal = result["CalibratedData"]
    assert cal["SMR_Qvec"] is not None and len(cal["SMR_Qvec"]) > 50
    i = np.asarray(cal["SMR_Int"])
    if kind == "step":
        i = i / matilda_step_msaxs_error(sample, blank)
    diff = median_difference(smeared, np.asarray(cal["SMR_Qvec"]), i)
    assert diff < AGREEMENT, f"Matilda's SMR curve differs from ours by {diff:.1%} (median)"


@pytest.mark.parametrize("kind", ["saxs", "waxs"])
def test_matilda_reduces_our_area_files_as_we_do(matilda, sim_files, tmp_path, kind):
    sample, blank = _copies(sim_files, kind, tmp_path)
    (ours,) = reduce_curves(sim_files[kind, "sample"], sim_files[kind, "blank"])
    result = matilda["area"].process2Ddata(
        str(sample.parent), sample.name, str(blank.parent), blank.name, recalculateAllData=True
    )
    cal = result["CalibratedData"]
    diff = median_difference(ours, np.asarray(cal["Q"]), np.asarray(cal["Intensity"]))
    assert diff < AGREEMENT, f"Matilda's {kind} curve differs from ours by {diff:.1%} (median)"


def test_median_difference_sees_a_scale_error():
    from usaxs_bluesky.reduction.common import ReducedCurve

    q = np.geomspace(1e-3, 1e-1, 100)
    i = q**-3
    ours = ReducedCurve(q=q, i=i, idev=0.01 * i, qdev=0 * q, dql=None, smeared=False)
    assert median_difference(ours, q[::3], 1.1 * i[::3]) == pytest.approx(0.1)
    assert median_difference(ours, q[::3], i[::3]) == pytest.approx(0.0, abs=1e-12)
