"""NXcanSAS files: sasdata Loader, nxcheck, exclusive creation, round trip."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from usaxs_bluesky.reduction import read_nxcansas, reduce_file, write_nxcansas
from usaxs_bluesky.reduction.common import ReducedCurve


@pytest.fixture
def usaxs_files(facility):
    return reduce_file(facility("calib/usaxs/FY1_1HF_1.h5"), facility("calib/usaxs/Air_1.h5"))


def test_reduce_file_outputs(usaxs_files, facility):
    h5, png = usaxs_files
    assert h5.parent.name == "reduced"
    assert h5.parent.parent == facility("calib/usaxs/FY1_1HF_1.h5").parent
    assert png.suffix == ".png" and png.stat().st_size > 1000
    curves = read_nxcansas(h5)
    assert [c.smeared for c in curves] == [False, True]
    assert curves[1].dql == pytest.approx(0.02648, rel=1e-3)
    assert curves[0].metadata["sample_name"] == "FY1_1HF_1"


def test_sasdata_loader(usaxs_files):
    from sasdata.dataloader.loader import Loader

    data = Loader().load(str(usaxs_files[0]))
    assert len(data) == 2
    desm, smr = data
    assert smr.dxl is not None and np.allclose(smr.dxl, 0.02648, rtol=1e-3)
    assert smr.dxw is not None
    assert desm.dx is not None and desm.dxl is None
    assert len(smr.x) == len(smr.y) > 100
    assert smr.sample.thickness == pytest.approx(0.92)
    assert 0 < smr.sample.transmission < 1


def _nxcheck(exe, path) -> str:
    proc = subprocess.run(
        [exe, str(path), "-a", "NXcanSAS"], capture_output=True, text=True, timeout=120
    )
    return proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "sample,blank",
    [
        ("calib/usaxs/FY1_1HF_1.h5", "calib/usaxs/Air_1.h5"),
        ("calib/waxs/FY1_1HF_1.hdf", "calib/waxs/Air_1.hdf"),
        ("step/SRM3600_0349.h5", None),
    ],
)
def test_nxcheck_no_errors(facility, nxcheck, sample, blank):
    h5 = reduce_file(
        facility(sample), facility(blank) if blank else None, require_blank=False, plot=False
    )[0]
    out = _nxcheck(nxcheck, h5)
    assert "Total number of errors: 0" in out, out
    assert "Application Definition: NXcanSAS" in out


def test_nxcheck_catches_broken_file(tmp_path, nxcheck):
    """The check is real: a SASdata without Q fails it."""
    import h5py

    q = np.geomspace(0.001, 0.1, 20)
    path = write_nxcansas(
        tmp_path / "x.h5",
        [ReducedCurve(q, q**-2, q**-2 / 10, q / 100, None, False, {"absolute": True})],
    )
    with h5py.File(path, "a") as f:
        del f["sasentry01/sasdata01/Q"]
    assert "Total number of errors: 0" not in _nxcheck(nxcheck, path)


def test_never_overwrite(tmp_path):
    q = np.geomspace(0.001, 0.1, 20)
    curve = ReducedCurve(q, q**-2, q**-2 / 10, q / 100, None, False, {})
    path = write_nxcansas(tmp_path / "a.h5", [curve])
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        write_nxcansas(path, [curve])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5"]
