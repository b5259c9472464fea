"""LiveReducer: blank choice, background reduction, notes, on_file, errors kept out of the RE."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading

import h5py
import pytest

from usaxs_bluesky.callbacks.reduction import LiveReducer, is_blank_name
from usaxs_bluesky.reduction import read_nxcansas


def _copy(facility, relpath, folder, name=None, mtime=None):
    dst = folder / (name or relpath.rsplit("/", 1)[-1])
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(facility(relpath), dst)
    if mtime is not None:
        os.utime(dst, (mtime, mtime))
    return dst


def _notes(path) -> dict:
    with h5py.File(path, "r") as f:
        return json.loads(f["sasentry01/sasprocess/sasnote/data"][()])


class Recorder:
    """An ``on_file`` that records calls and the thread they came from."""

    def __init__(self):
        self.calls = []
        self.threads = set()

    def __call__(self, uid, path, kind):
        self.calls.append((uid, path, kind))
        self.threads.add(threading.current_thread().name)


def test_blank_words():
    assert all(map(is_blank_name, ["Air_1", "AirBlank_300pts", "empty cell", "water BLANK"]))
    assert all(map(is_blank_name, ["HeaterBlank_0060", "HeaterAir_2", "cellEmpty"]))
    assert not any(map(is_blank_name, ["FY1_1HF_1", "hair", "repair", "spheres", "PPOH_25C"]))


def test_usaxs_sample_uses_latest_earlier_blank_same_energy(facility, tmp_path):
    folder = tmp_path / "11_24_jan_usaxs"
    air = _copy(facility, "calib/usaxs/Air_1.h5", folder, mtime=1000)
    # a later blank at another energy, and a blank measured after the sample: both unusable
    other = _copy(facility, "calib/usaxs/Air_1.h5", folder, "Air_2.h5")
    with h5py.File(other, "a") as f:
        f["entry/metadata/DCM_wavelength"][...] = 0.5166  # 24 keV
    os.utime(other, (1500, 1500))
    _copy(facility, "calib/usaxs/Air_1.h5", folder, "Air_3.h5", mtime=3000)
    sample = _copy(facility, "calib/usaxs/FY1_1HF_1.h5", folder, mtime=2000)
    rec = Recorder()
    reducer = LiveReducer(on_file=rec, data_dir=folder)
    assert sorted(p.name for p in reducer.blanks) == ["Air_1.h5", "Air_2.h5", "Air_3.h5"]

    reducer("uid-sample", sample, "raw")
    reducer("uid-sample", sample, "plot")  # not a raw file: ignored
    assert reducer.join(timeout=120)
    reducer.close()
    assert reducer.errors == []
    nx = folder / "reduced" / "FY1_1HF_1.nxcansas.h5"
    png = folder / "reduced" / "FY1_1HF_1.png"
    assert rec.calls == [("uid-sample", nx, "reduced"), ("uid-sample", png, "plot")]
    assert rec.threads == {"LiveReducer"}  # reduced in the worker, not the caller
    notes = _notes(nx)
    assert notes["blank_file"] == str(air)
    assert notes["blank_choice"].startswith("latest blank")
    assert notes["run_uid"] == "uid-sample"
    desmeared, smeared = read_nxcansas(nx)
    assert desmeared.metadata["absolute"] and smeared.smeared


def test_named_blank_and_blank_run(facility, tmp_path):
    folder = tmp_path / "waxs"
    blank = _copy(facility, "calib/waxs/Air_1.hdf", folder)
    sample = _copy(facility, "calib/waxs/FY1_1HF_1.hdf", folder)
    rec = Recorder()
    reducer = LiveReducer(blank={"WAXS": blank}, on_file=rec)
    reducer("uid-blank", blank, "raw")
    reducer("uid-sample", sample, "raw")
    assert reducer.join(timeout=120)
    reducer.close()
    assert reducer.errors == []
    (blank_curve,) = read_nxcansas(folder / "reduced" / "Air_1.nxcansas.h5")
    assert not blank_curve.metadata["absolute"]  # a blank run is reduced uncalibrated
    assert "this run is a blank" in blank_curve.metadata["blank_choice"]
    notes = _notes(folder / "reduced" / "FY1_1HF_1.nxcansas.h5")
    assert notes["blank_file"] == str(blank) and notes["blank_choice"].startswith("named")
    assert [k for _, _, k in rec.calls] == ["reduced", "plot", "reduced", "plot"]


def test_start_metadata_marks_blank(facility, tmp_path):
    """``is_blank`` in the run's start document (via the catalog) makes a blank."""
    folder = tmp_path / "usaxs"
    odd = _copy(facility, "calib/usaxs/Air_1.h5", folder, "Reference_7.h5", mtime=1000)
    sample = _copy(facility, "calib/usaxs/FY1_1HF_1.h5", folder, mtime=2000)

    class Run:
        metadata = {"start": {"title": "Reference_7", "is_blank": True}}

    reducer = LiveReducer(catalog={"uid-ref": Run()})
    reducer("uid-ref", odd, "raw")
    reducer("uid-sample", sample, "raw")
    assert reducer.join(timeout=120)
    reducer.close()
    assert reducer.errors == []
    assert _notes(folder / "reduced" / "FY1_1HF_1.nxcansas.h5")["blank_file"] == str(odd)


def test_errors_are_logged_not_raised(facility, tmp_path, caplog):
    folder = tmp_path / "usaxs"
    sample = _copy(facility, "calib/usaxs/FY1_1HF_1.h5", folder)  # no blank anywhere
    broken = folder / "broken.h5"
    broken.write_bytes(b"not hdf5")
    reducer = LiveReducer()
    with caplog.at_level(logging.ERROR, logger="usaxs_bluesky.callbacks.reduction"):
        reducer("uid-1", sample, "raw")  # returns at once, no exception
        reducer("uid-2", broken, "raw")
        assert reducer.join(timeout=120)
    reducer.close()
    assert [(uid, p.name) for uid, p, _ in reducer.errors] == [
        ("uid-1", "FY1_1HF_1.h5"),
        ("uid-2", "broken.h5"),
    ]
    assert "no usaxs blank" in reducer.errors[0][2]
    assert "HDF5" in reducer.errors[1][2]
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 2
    assert not (folder / "reduced").exists()


@pytest.mark.parametrize("kind", ["reduced", "plot"])
def test_non_raw_notifications_start_nothing(tmp_path, kind):
    reducer = LiveReducer()
    reducer("uid", tmp_path / "x.h5", kind)
    assert reducer.join(timeout=1)
    assert reducer.errors == []


def test_sample_merged_when_its_last_technique_is_reduced(facility, tmp_path):
    """The facility layout: MM_DD_user_{usaxs,saxs,waxs}/<name>_<NNNN>.*; merged after WAXS."""
    day = tmp_path / "02_21_user"
    files = {}
    for k, (tech, ext) in enumerate((("usaxs", "h5"), ("saxs", "hdf"), ("waxs", "hdf"))):
        folder = day / f"02_21_user_{tech}"
        _copy(facility, f"session/{tech}/HeaterBlank_0060.{ext}", folder, mtime=1000 + k)
        files[tech] = _copy(
            facility, f"session/{tech}/PPOH_25C_orig_0066.{ext}", folder, mtime=2000 + k
        )
    rec = Recorder()
    reducer = LiveReducer(on_file=rec, data_dir=day)
    reducer("uid-u", files["usaxs"], "raw")
    reducer("uid-s", files["saxs"], "raw")
    assert reducer.join(timeout=300)
    merged = day / "02_21_user_usaxs" / "reduced" / "PPOH_25C_orig_0066_merged.nxcansas.h5"
    assert not merged.exists()  # WAXS not reduced yet
    reducer("uid-w", files["waxs"], "raw")
    assert reducer.join(timeout=300)
    reducer.close()
    assert reducer.errors == []
    assert merged.is_file() and merged.with_suffix("").with_suffix(".png").is_file()
    assert rec.calls[-2:] == [
        ("uid-w", merged, "reduced"),
        ("uid-w", merged.with_suffix("").with_suffix(".png"), "plot"),
    ]
    (curve,) = read_nxcansas(merged)
    assert curve.metadata["technique"] == "USAXS+SAXS+WAXS"
    assert [d["technique"] for d in curve.metadata["merge_inputs"]] == ["USAXS", "SAXS", "WAXS"]
    # a second notification of the same sample does not merge again (nor fail)
    assert sum(p == merged for _, p, _ in rec.calls) == 1
