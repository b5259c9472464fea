"""``usaxs reduce``: NXcanSAS + PNG beside the raw files; bad input writes nothing."""

from __future__ import annotations

import h5py
import pytest

from usaxs_bluesky.cli import main
from usaxs_bluesky.reduction import read_nxcansas


def _reduce(capsys, *args) -> tuple[int, str, str]:
    status = main(["reduce", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_reduce_waxs_and_usaxs(facility, capsys):
    waxs = facility("calib/waxs/FY1_1HF_1.hdf")
    status, out, err = _reduce(capsys, waxs, "--blank", facility("calib/waxs/Air_1.hdf"))
    assert status == 0, err
    reduced = waxs.parent / "reduced"
    assert sorted(p.name for p in reduced.iterdir()) == ["FY1_1HF_1.nxcansas.h5", "FY1_1HF_1.png"]
    assert out.split() == [str(reduced / "FY1_1HF_1.nxcansas.h5"), str(reduced / "FY1_1HF_1.png")]
    (curve,) = read_nxcansas(reduced / "FY1_1HF_1.nxcansas.h5")
    assert curve.metadata["absolute"] and curve.metadata["blank_choice"] == "--blank"

    usaxs = facility("calib/usaxs/FY1_1HF_1.h5")
    out_dir = usaxs.parent / "elsewhere"
    status, _, err = _reduce(
        capsys, usaxs, "--blank", facility("calib/usaxs/Air_1.h5"), "--out", out_dir, "--no-plot"
    )
    assert status == 0, err
    desmeared, smeared = read_nxcansas(out_dir / "FY1_1HF_1.nxcansas.h5")
    assert smeared.smeared and not desmeared.smeared
    assert not (out_dir / "FY1_1HF_1.png").exists()


def _bad_thickness(path):
    with h5py.File(path, "a") as f:
        del f["entry/sample/thickness"]


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize(
    ("sample", "blank", "damage", "message"),
    [
        ("calib/usaxs/FY1_1HF_1.h5", None, None, "--blank"),
        ("step/SRM3600_0349.h5", "calib/usaxs/Air_1.h5", None, "energy"),
        ("calib/usaxs/FY1_1HF_1.h5", "calib/saxs/Air_1.hdf", None, "blank is a saxs file"),
        ("calib/usaxs/FY1_1HF_1.h5", "calib/usaxs/Air_1.h5", _bad_thickness, "thickness"),
        ("calib/usaxs/FY1_1HF_1.h5", "calib/usaxs/Air_1.h5", _truncate, "HDF5"),
    ],
)
def test_bad_input_writes_nothing(facility, capsys, sample, blank, damage, message):
    path = facility(sample)
    if damage:
        damage(path)
    args = [path] + (["--blank", facility(blank)] if blank else [])
    status, out, err = _reduce(capsys, *args)
    assert status == 2 and out == ""
    assert err.startswith("usaxs reduce: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (path.parent / "reduced").exists()


def test_wrong_file_type(tmp_path, facility, capsys):
    notes = tmp_path / "notes.h5"
    notes.write_text("not hdf5")
    status, _, err = _reduce(capsys, notes, "--blank", facility("calib/usaxs/Air_1.h5"))
    assert status == 2 and "HDF5" in err
    assert not (tmp_path / "reduced").exists()


def test_one_bad_file_writes_nothing_for_all(facility, capsys):
    good = facility("calib/waxs/FY1_1HF_1.hdf")
    bad = facility("calib/waxs/Air_1.hdf").with_name("broken.hdf")
    bad.write_bytes(b"\0" * 100)
    status, _, err = _reduce(capsys, good, bad, "--blank", facility("calib/waxs/Air_1.hdf"))
    assert status == 2 and "broken.hdf" in err
    assert not (good.parent / "reduced").exists()


def test_batch_picks_the_blank_among_the_files(facility, capsys):
    """``usaxs reduce *.h5``: one process, the latest earlier blank of the files given."""
    import os
    import shutil

    blank = facility("calib/usaxs/Air_1.h5")
    sample = facility("calib/usaxs/FY1_1HF_1.h5")
    second = sample.with_name("FY1_again_2.h5")
    shutil.copyfile(sample, second)
    for t, p in ((1000, blank), (2000, sample), (3000, second)):
        os.utime(p, (t, t))
    status, out, err = _reduce(capsys, blank, sample, second, "--no-plot")
    assert status == 0, err
    reduced = sample.parent / "reduced"
    assert out.split() == [
        str(reduced / "FY1_1HF_1.nxcansas.h5"),
        str(reduced / "FY1_again_2.nxcansas.h5"),
    ]
    assert err.strip() == f"usaxs reduce: note: {blank} is a blank: not reduced"
    (desmeared, _) = read_nxcansas(reduced / "FY1_again_2.nxcansas.h5")
    assert "Air_1.h5" in desmeared.metadata["blank_choice"]
    # --blank listed among the files is skipped, not reduced against itself
    status, out, err = _reduce(
        capsys, blank, sample, "--blank", blank, "--no-plot", "--out", sample.parent / "o2"
    )
    assert status == 0 and "is the blank: not reduced" in err and len(out.split()) == 1


def test_batch_without_any_blank(facility, capsys):
    sample = facility("calib/usaxs/FY1_1HF_1.h5")
    status, out, err = _reduce(capsys, sample)
    assert status == 2 and out == ""
    assert "no usaxs blank" in err and "--blank" in err
