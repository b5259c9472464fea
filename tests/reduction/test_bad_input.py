"""Bad input gives ReductionError with a clear message, and writes nothing."""

from __future__ import annotations

import h5py
import pytest

from usaxs_bluesky.reduction import ReductionError, reduce_file


def _nothing_written(path):
    assert not (path.parent / "reduced").exists()


def test_no_blank(facility):
    path = facility("step/SRM3600_0349.h5")
    with pytest.raises(ReductionError, match="blank"):
        reduce_file(path)
    _nothing_written(path)


def test_blank_other_energy(facility):
    path = facility("step/SRM3600_0349.h5")  # 24 keV
    with pytest.raises(ReductionError, match="energy"):
        reduce_file(path, blank=facility("calib/usaxs/Air_1.h5"))  # 21 keV
    _nothing_written(path)


def test_blank_other_technique(facility):
    path = facility("calib/usaxs/FY1_1HF_1.h5")
    with pytest.raises(ReductionError, match="blank"):
        reduce_file(path, blank=facility("calib/saxs/Air_1.hdf"))
    _nothing_written(path)


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_bad_thickness(facility, value):
    path = facility("calib/usaxs/FY1_1HF_1.h5")
    with h5py.File(path, "a") as f:
        f["entry/sample/thickness"][...] = value
    with pytest.raises(ReductionError, match="thickness"):
        reduce_file(path, blank=facility("calib/usaxs/Air_1.h5"))
    _nothing_written(path)


def test_missing_thickness_area(facility):
    path = facility("calib/waxs/FY1_1HF_1.hdf")
    with h5py.File(path, "a") as f:
        del f["entry/sample/thickness"]
    with pytest.raises(ReductionError, match="thickness"):
        reduce_file(path, blank=facility("calib/waxs/Air_1.hdf"))
    _nothing_written(path)


def test_missing_field_named(facility):
    path = facility("calib/usaxs/FY1_1HF_1.h5")
    with h5py.File(path, "a") as f:
        del f["entry/metadata/UPDsize"]
    with pytest.raises(ReductionError, match="UPDsize"):
        reduce_file(path, blank=facility("calib/usaxs/Air_1.h5"))
    _nothing_written(path)


def test_truncated_file(facility, tmp_path):
    src = facility("calib/usaxs/FY1_1HF_1.h5")
    path = tmp_path / "trunc" / "FY1_1HF_1.h5"
    path.parent.mkdir()
    data = src.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ReductionError):
        reduce_file(path, blank=facility("calib/usaxs/Air_1.h5"))
    _nothing_written(path)


def test_truncated_scan(facility):
    path = facility("calib/usaxs/FY1_1HF_1.h5")
    with h5py.File(path, "a") as f:
        for k in ("mca1", "mca2", "mca3"):
            d = f[f"entry/flyScan/{k}"][:5]
            del f[f"entry/flyScan/{k}"]
            f[f"entry/flyScan/{k}"] = d
    with pytest.raises(ReductionError, match="points"):
        reduce_file(path, blank=facility("calib/usaxs/Air_1.h5"))
    _nothing_written(path)


def test_wrong_file_type(tmp_path, facility):
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(ReductionError, match="HDF5"):
        reduce_file(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["entry/x"] = 1
    with pytest.raises(ReductionError, match="unknown file type"):
        reduce_file(other, blank=facility("calib/usaxs/Air_1.h5"))
    assert not (tmp_path / "reduced").exists()


def test_existing_output_refused(facility):
    path = facility("calib/waxs/FY1_1HF_1.hdf")
    blank = facility("calib/waxs/Air_1.hdf")
    written = reduce_file(path, blank)
    stamp = [p.stat().st_mtime_ns for p in written]
    with pytest.raises(ReductionError, match="exists"):
        reduce_file(path, blank)
    assert [p.stat().st_mtime_ns for p in written] == stamp
