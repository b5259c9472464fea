"""Multiple-small-angle-scattering (MSAXS) correction: I divided by T_pin / T_peak."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from usaxs_bluesky.cli import main
from usaxs_bluesky.reduction import reduce_curves
from usaxs_bluesky.reduction.usaxs import absolute_usaxs, msaxs_correction
from usaxs_bluesky.reduction.usaxs_raw import read_usaxs

FLY_SAMPLE, FLY_BLANK = "calib/usaxs/FY1_1HF_1.h5", "calib/usaxs/Air_1.h5"


def _fly_pin_ratio(path) -> float:
    """(pin/gain)/(I0/gain) read straight from the facility fields."""
    with h5py.File(path, "r") as f:
        v = {k: float(f[f"entry/metadata/{k}"][()][0]) for k in (
            "trans_pin_counts", "trans_pin_gain", "trans_I0_counts", "trans_I0_gain")}  # fmt: skip
    return (v["trans_pin_counts"] / v["trans_pin_gain"]) / (
        v["trans_I0_counts"] / v["trans_I0_gain"]
    )


def _set(path, field, value):
    with h5py.File(path, "a") as f:
        f[field][...] = value


def test_fly_correction_from_the_recorded_pin_transmission(facility):
    sample, blank = facility(FLY_SAMPLE), facility(FLY_BLANK)
    desm, smr = reduce_curves(sample, blank)
    md = smr.metadata
    t_pin = _fly_pin_ratio(sample) / _fly_pin_ratio(blank)
    assert md["transmission_pin_diode"] == pytest.approx(t_pin, rel=1e-12)
    assert t_pin == pytest.approx(0.3113, abs=1e-4)  # the numbers
    assert md["msaxs_correction"] == pytest.approx(t_pin / md["transmission"], rel=1e-12)
    assert md["msaxs_correction"] == pytest.approx(1.455, abs=0.01)
    assert md["msaxs_method"].startswith("MSAXSCorrection = T_pin / T_peak")
    assert desm.metadata["msaxs_correction"] == md["msaxs_correction"]


def test_intensity_is_divided_by_the_factor(facility):
    sample_path, blank_path = facility(FLY_SAMPLE), facility(FLY_BLANK)
    with_pin, _ = absolute_usaxs(
        read_usaxs(sample_path), read_usaxs(blank_path), desmear_data=False
    )
    _set(sample_path, "entry/metadata/measure_trans_pin", 0)
    without, _ = absolute_usaxs(read_usaxs(sample_path), read_usaxs(blank_path), desmear_data=False)
    assert without.metadata["msaxs_correction"] is None
    assert "measure_trans_pin=0" in without.metadata["msaxs_method"]
    assert without.metadata["msaxs_method"].startswith("not applied")
    np.testing.assert_allclose(
        without.i / with_pin.i, with_pin.metadata["msaxs_correction"], rtol=1e-9
    )
    np.testing.assert_allclose(
        without.idev / with_pin.idev, with_pin.metadata["msaxs_correction"], rtol=1e-9
    )


@pytest.mark.parametrize(
    ("which", "field", "value", "reason"),
    [
        ("blank", "entry/metadata/trans_pin_gain", 0.0, "not positive"),
        ("sample", "entry/metadata/trans_I0_counts", -5.0, "not positive"),
        ("sample", "entry/metadata/trans_pin_counts", np.nan, "not positive"),
        ("blank", None, "trans_pin_counts", "not recorded (trans_pin_counts)"),
    ],
)
def test_unusable_pin_values_are_not_applied(facility, which, field, value, reason):
    paths = {"sample": facility(FLY_SAMPLE), "blank": facility(FLY_BLANK)}
    if field is None:
        with h5py.File(paths[which], "a") as f:
            del f[f"entry/metadata/{value}"]
    else:
        _set(paths[which], field, value)
    _, smr = reduce_curves(paths["sample"], paths["blank"])
    md = smr.metadata
    assert md["msaxs_correction"] is None
    assert reason in md["msaxs_method"] and paths[which].name in md["msaxs_method"]


def test_step_scan_reads_the_baseline_transmission(facility):
    _, smr = reduce_curves(
        facility("step/SRM3607_300pts_0097.h5"), facility("step/AirBlank_300pts_0110.h5")
    )
    md = smr.metadata
    # terms_USAXS_transmission_{diode,I0}_{counts,gain}: (0.95351/1.942571e-3)/(1.54798/2.29454e-3)
    assert md["transmission_pin_diode"] == pytest.approx(0.7276, abs=2e-4)
    assert md["msaxs_correction"] == pytest.approx(
        md["transmission_pin_diode"] / md["transmission"]
    )


def test_factor_guards():
    assert msaxs_correction(None, 0.5) is None
    assert msaxs_correction(0.3, 0.0) is None
    assert msaxs_correction(float("inf"), 0.5) is None
    assert msaxs_correction(0.3, 0.2) == pytest.approx(1.5)


def test_recorded_in_sasprocess_and_cli_note(facility, capsys):
    sample, blank = facility(FLY_SAMPLE), facility(FLY_BLANK)
    assert main(["reduce", str(sample), "--blank", str(blank), "--no-plot"]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # recorded: no note
    with h5py.File(sample.parent / "reduced" / "FY1_1HF_1.nxcansas.h5", "r") as f:
        notes = json.loads(f["sasentry01/sasprocess/sasnote/data"][()])
        assert f["sasentry01/sasprocess/sasnote/msaxs_correction"][()] == pytest.approx(
            notes["msaxs_correction"]
        )
    for key in ("transmission", "transmission_pin_diode", "msaxs_correction", "msaxs_method"):
        assert notes[key] is not None, key

    _set(sample, "entry/metadata/measure_trans_pin", 0)
    out_dir = sample.parent / "again"
    assert (
        main(["reduce", str(sample), "--blank", str(blank), "--no-plot", "--out", str(out_dir)])
        == 0
    )
    out, err = capsys.readouterr()
    assert err.strip().splitlines() == [
        "usaxs reduce: note: no MSAXS correction, FY1_1HF_1.h5: pin-diode transmission "
        "not measured (measure_trans_pin=0)"
    ]
    with h5py.File(out_dir / "FY1_1HF_1.nxcansas.h5", "r") as f:
        notes = json.loads(f["sasentry01/sasprocess/sasnote/data"][()])
    assert notes["msaxs_correction"] is None and "not applied" in notes["msaxs_method"]
