"""The one range-and-validity law: the fly-scan device and the reduction give one answer.

Checked on the facility's real fly scans (against the facility's own reduction,
Matilda), on the simulator's amplifier (against the range it really counted
in), and with records that start after channel 0 (before the first record).
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from ophyd.sim import make_fake_device
from usaxs_sim import physics

from usaxs_bluesky.contract.geometry import MASK_TIMES, range_and_validity
from usaxs_bluesky.devices.flyscan import UsaxsFlyer
from usaxs_bluesky.reduction.usaxs_raw import read_usaxs

FLY_SCANS = (
    "calib/usaxs/Air_1.h5",
    "calib/usaxs/FY1_1HF_1.h5",
    "session/usaxs/PPOH_25C_orig_0066.h5",
    "session/usaxs/HeaterBlank_0060.h5",
)
FS = "entry/flyScan"
AMP = "DDPCA300"


def records(f: h5py.File) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The file's change records: gain, requested gain, channel."""
    return tuple(
        np.asarray(f[f"{FS}/changes_{AMP}_{name}"][()], dtype=float).ravel()
        for name in ("ampGain", "ampReqGain", "mcsChan")
    )


def device_ranges(n: int, gain, requested, channel) -> np.ndarray:
    """``flyscan_upd_range`` as the fly-scan device collects it (fake signals, no CA)."""
    flyer = make_fake_device(UsaxsFlyer)(
        pvs={"start": "s:", "mcs": "m:", "pulses": "p:", "changes": "c:"}, name="fly"
    )
    for signal, value in (
        (flyer.clock, np.ones(n)),
        (flyer.i0, np.ones(n)),
        (flyer.upd, np.ones(n)),
        (flyer.pulse_positions, np.arange(n + 1.0)),
        (flyer.range_mcs_channel, channel),
        (flyer.range_gain, gain),
        (flyer.range_requested, requested),
    ):
        signal.sim_put(np.asarray(value))
    primary = next(iter(flyer.collect_pages()))
    return np.asarray(primary["data"]["flyscan_upd_range"])


def matilda_gains(testdata: Path, copy_dir: Path, name: str) -> np.ndarray:
    """The UPD gain per channel that Matilda uses (NaN where it masks the channel)."""
    folder = testdata.parents[1] / "clients" / "matilda" / "matilda"
    if not (folder / "supportFunctions.py").is_file():
        pytest.skip(f"Matilda not found at {folder}")
    os.environ.setdefault("MPLBACKEND", "Agg")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    try:
        support = importlib.import_module("supportFunctions")
    except ImportError as exc:
        pytest.skip(f"Matilda cannot be imported: {exc}")
    raw = support.importFlyscan(str(copy_dir), name)
    return np.asarray(support.calculatePD_Fly({"RawData": raw})["UPD_gains"], dtype=float)


@pytest.mark.parametrize("relpath", FLY_SCANS)
def test_facility_fly_scans_one_answer(testdata, tmp_path, relpath):
    source = testdata / relpath
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    raw = read_usaxs(copy)
    with h5py.File(copy, "r") as f:
        gain, requested, channel = records(f)
        gains = np.array([float(f[f"entry/metadata/{AMP}_gain{r}"][()][0]) for r in range(5)])
    n = len(raw.ar)
    assert channel[0] == 0, "the facility records the start range at channel 0"
    ranges, valid = range_and_validity(n, gain, requested, channel, raw.time, raw.mask_times)
    np.testing.assert_array_equal(device_ranges(n, gain, requested, channel), ranges)
    np.testing.assert_array_equal(raw.upd_range, ranges)
    np.testing.assert_array_equal(raw.valid, valid & (raw.time > 0) & (raw.i0 > 0))
    # the facility's reduction: same gain wherever both use a channel, and it masks
    # at most a channel per record that we keep (its loops skip the last records)
    theirs = matilda_gains(testdata, tmp_path, source.name)
    both = valid & np.isfinite(theirs)
    assert both.sum() > 0.9 * n
    np.testing.assert_allclose(theirs[both], gains[ranges[both]], rtol=1e-12)
    assert (valid & ~np.isfinite(theirs)).sum() <= len(channel) + 1
    assert (~valid & np.isfinite(theirs)).sum() <= len(channel) + 1


def test_simulator_amplifier_one_answer():
    rng = np.random.default_rng(3)
    n = 4000
    currents = np.geomspace(1e-4, 1e-11, n) * (1 + 0.05 * rng.standard_normal(n))
    times = np.full(n, 0.005)
    _, truth, changes = physics.simulate_fly_upd(currents, None, times, rng)
    gain, requested, channel = (np.array([c[k] for c in changes], dtype=float) for k in range(3))
    assert len(changes) > 5 and channel[0] == 0
    ranges, valid = range_and_validity(n, gain, requested, channel, times, physics.MASK_TIMES)
    np.testing.assert_array_equal(ranges, truth)
    np.testing.assert_array_equal(device_ranges(n, gain, requested, channel), ranges)
    # every change makes its channel and the dead time after it invalid
    for k in channel[1:].astype(int):
        assert not valid[k]
    assert valid.sum() > 0.9 * n


def _first_record_at(gain, requested, channel, start: int):
    """The records without those before ``start`` (the scan's start range left unrecorded)."""
    keep = channel >= start
    return gain[keep], requested[keep], channel[keep]


def test_before_the_first_record_one_answer(testdata, tmp_path):
    source = testdata / FLY_SCANS[0]
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    with h5py.File(copy, "r+") as f:
        gain, requested, channel = _first_record_at(*records(f), start=50)
        names = ("ampGain", "ampReqGain", "mcsChan")
        for name, values in zip(names, (gain, requested, channel), strict=True):
            del f[f"{FS}/changes_{AMP}_{name}"]
            f[f"{FS}/changes_{AMP}_{name}"] = values
    first = int(channel[0])
    raw = read_usaxs(copy)
    n = len(raw.ar)
    ranges, valid = range_and_validity(n, gain, requested, channel, raw.time, raw.mask_times)
    # before the first record: the last record's range (as the facility fills it), invalid
    assert first > 0
    assert (ranges[:first] == int(gain[-1])).all() and not valid[:first].any()
    np.testing.assert_array_equal(raw.upd_range, ranges)
    assert not raw.valid[:first].any()
    np.testing.assert_array_equal(device_ranges(n, gain, requested, channel), ranges)


@pytest.mark.parametrize(
    "gain, requested, channel",
    [
        ([], [], []),  # no record at all
        ([np.nan, 1.0], [1.0, 1.0], [0.0, 3.0]),  # a damaged record is ignored
        ([1.0, 2.0], [1.0, 2.0], [7.0, 2.0]),  # out of order
        ([1.0, 2.0], [1.0, 2.0], [-5.0, 1e9]),  # outside the scan
    ],
)
def test_hostile_records(gain, requested, channel):
    n = 10
    ranges, valid = range_and_validity(n, gain, requested, channel, np.full(n, 1.0), MASK_TIMES)
    assert ranges.shape == valid.shape == (n,)
    assert ((ranges >= 0) & (ranges < 5)).all()
    np.testing.assert_array_equal(device_ranges(n, gain, requested, channel), ranges)
    if not len(gain):
        assert not valid.any()
    if channel == [7.0, 2.0]:
        assert list(ranges) == [1, 1, 2, 2, 2, 2, 2, 1, 1, 1]
        assert not valid[:2].any()
    if channel == [-5.0, 1e9]:
        assert (ranges == 1).all() and valid[1:].all()
