"""Ours vs the facility's Matilda on copies of the real files: median ratio within 2 %.

Matilda is imported from ``../shared/clients/matilda/matilda`` (its modules
import each other by bare name) and always run on copies: it opens what it
reads in ``r+`` mode and writes its results into the files.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys

import numpy as np
import pytest
from conftest import REPO, facility_file

from usaxs_bluesky.reduction import reduce_curves

MATILDA = REPO.parent / "shared" / "clients" / "matilda" / "matilda"
#: agreement asked for: median of ours/Matilda over the common Q range
TOLERANCE = 0.02


def matilda(module: str):
    """A Matilda module, or skip with the reason."""
    if not (MATILDA / f"{module}.py").is_file():
        pytest.skip(f"Matilda not found at {MATILDA}")
    os.environ.setdefault("MPLBACKEND", "Agg")
    if str(MATILDA) not in sys.path:
        sys.path.insert(0, str(MATILDA))
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.skip(f"Matilda cannot be imported: {exc}")


def median_ratio(q, i, q_ref, i_ref) -> tuple[float, int]:
    """Median of i / i_ref (log-log interpolated) over the common Q range, and the point count."""
    lo, hi = max(q.min(), q_ref.min()), min(q.max(), q_ref.max())
    sel = (q >= lo) & (q <= hi) & (i > 0)
    pos = i_ref > 0
    ref = np.exp(np.interp(np.log(q[sel]), np.log(q_ref[pos]), np.log(i_ref[pos])))
    return float(np.median(i[sel] / ref)), int(sel.sum())


def test_median_ratio_sees_a_scale_error():
    q = np.geomspace(1e-3, 0.1, 80)
    assert median_ratio(q, q**-3, q * 1.01, (q * 1.01) ** -3)[0] == pytest.approx(1, abs=1e-9)
    assert median_ratio(q, 1.03 * q**-3, q, q**-3)[0] == pytest.approx(1.03)


def copies(tmp_path_factory, folder: str, sample: str, blank: str):
    """A new directory with copies of ``folder``'s sample and blank (Matilda writes into them)."""
    dst = tmp_path_factory.mktemp("matilda") / folder.split("/")[-1]
    dst.mkdir()
    for name in (sample, blank):
        shutil.copyfile(facility_file(f"{folder}/{name}"), dst / name)
    return dst


USAXS_PAIRS = {
    "calib": ("calib/usaxs", "FY1_1HF_1.h5", "Air_1.h5"),
    "session": ("session/usaxs", "PPOH_25C_orig_0066.h5", "HeaterBlank_0060.h5"),
}


@pytest.fixture(scope="module", params=sorted(USAXS_PAIRS))
def usaxs_pair(request, tmp_path_factory):
    """(ours: desmeared, smeared; Matilda's CalibratedData) for one real fly-scan pair."""
    folder, sample, blank = USAXS_PAIRS[request.param]
    process = matilda("convertFlyscan").processFlyscan
    theirs_dir = copies(tmp_path_factory, folder, sample, blank)
    ours_dir = copies(tmp_path_factory, folder, sample, blank)
    # recalculateAllData: HeaterBlank_0060 carries a blankData group from the facility
    result = process(str(theirs_dir), sample, str(theirs_dir), blank, recalculateAllData=True)
    return reduce_curves(ours_dir / sample, ours_dir / blank), result["CalibratedData"]


def test_usaxs_smeared_matches_matilda(usaxs_pair):
    (_, smr), theirs = usaxs_pair
    ratio, n = median_ratio(smr.q, smr.i, theirs["SMR_Qvec"], theirs["SMR_Int"])
    assert n > 100
    assert abs(ratio - 1) < TOLERANCE, ratio
    assert smr.dql == pytest.approx(float(theirs["slitLength"]), rel=0.01)


def test_usaxs_desmeared_matches_matilda(usaxs_pair):
    (dsm, _), theirs = usaxs_pair
    ratio, n = median_ratio(dsm.q, dsm.i, theirs["Q"], theirs["Intensity"])
    assert n > 100
    assert abs(ratio - 1) < TOLERANCE, ratio


@pytest.mark.parametrize("technique", ["saxs", "waxs"])
def test_area_detector_matches_matilda(technique, tmp_path_factory):
    folder = f"session/{technique}"
    sample, blank = "PPOH_25C_orig_0066.hdf", "HeaterBlank_0060.hdf"
    process = matilda("convertSWAXS").process2Ddata
    theirs_dir = copies(tmp_path_factory, folder, sample, blank)
    ours_dir = copies(tmp_path_factory, folder, sample, blank)
    theirs = process(str(theirs_dir), sample, str(theirs_dir), blank, recalculateAllData=True)
    (ours,) = reduce_curves(ours_dir / sample, ours_dir / blank)
    cal = theirs["CalibratedData"]
    ratio, n = median_ratio(ours.q, ours.i, np.asarray(cal["Q"]), np.asarray(cal["Intensity"]))
    assert n > 50
    assert abs(ratio - 1) < TOLERANCE, ratio
    assert ours.metadata["transmission"] == pytest.approx(
        theirs["calib2DData"]["transmission"], rel=0.01
    )
