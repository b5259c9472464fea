"""Read USAXS raw files (fly scans and step scans) into :class:`UsaxsRaw`.

Fly scans are written by the facility's fly-scan saver (``/entry/flyScan``,
``/entry/metadata``); step scans (``uascan``) by the bluesky NeXus writer
(``/entry/data`` columns, ``/entry/instrument/bluesky/{metadata,streams}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..contract.geometry import MASK_TIMES, energy_from_wavelength, range_and_validity
from ..contract.names import PLAN_NAME, STEP_PLAN_NAMES
from .common import ReductionError, read_scalar, read_text

__all__ = [
    "SATURATED_DARK_RATE",
    "UsaxsRaw",
    "clock_rate",
    "detect_usaxs_kind",
    "read_usaxs",
]

#: a dark rate at or above this (counts/s) is a saturated, unusable dark reading
SATURATED_DARK_RATE = 9.0e5
#: fly-scan amplifier model code (usxRIO:femto:model) -> name used in the file
_FLY_AMPLIFIERS = {0: "DLPCA200", 1: "DDPCA300"}


@dataclass
class UsaxsRaw:
    """Raw USAXS scan, one entry per recorded point.

    ``upd_range`` is the amplifier range (0..4) per point; ``valid`` is false
    for points taken while a range change was pending or within the recorded
    mask time after one. Angles in degrees, times in seconds, lengths in mm.
    """

    path: Path
    plan: str  # "fly" or "step"
    ar: np.ndarray
    i0: np.ndarray
    upd: np.ndarray
    time: np.ndarray
    upd_range: np.ndarray
    valid: np.ndarray
    gains: np.ndarray  # V/A per range 0..4
    bkg: np.ndarray  # dark count rate per range (counts/s)
    bkg_err: np.ndarray
    mask_times: np.ndarray
    i0_gain: np.ndarray  # V/A per point
    ar_center: float
    wavelength: float
    energy: float
    upd_size: float
    sdd: float
    thickness_mm: float | None
    sample_name: str
    timestamp: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ar)


def detect_usaxs_kind(f: h5py.File) -> str | None:
    """Return "fly", "step" or None for an open HDF5 file."""
    if "entry/flyScan" in f and "entry/flyScan/mca3" in f:
        return "fly"
    md = f"entry/instrument/bluesky/metadata/{PLAN_NAME}"
    if md in f and read_text(f, md) in STEP_PLAN_NAMES:
        return "step"
    if "entry/data/a_stage_r" in f and ("entry/data/PD_USAXS" in f or "entry/data/UPD" in f):
        return "step"
    return None


def read_usaxs(path: str | Path) -> UsaxsRaw:
    """Read a USAXS fly or step scan; raise ReductionError for bad files."""
    path = Path(path)
    if not path.is_file():
        raise ReductionError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ReductionError(f"{path}: not a readable HDF5 file ({exc})") from exc
    with f:
        kind = detect_usaxs_kind(f)
        try:
            if kind == "fly":
                return _read_fly(path, f)
            if kind == "step":
                return _read_step(path, f)
        except (KeyError, OSError) as exc:
            raise ReductionError(f"{path}: truncated or damaged USAXS file ({exc})") from exc
    raise ReductionError(
        f"{path}: not a USAXS raw file (neither /entry/flyScan/mca3 nor a uascan /entry/data)"
    )


# ----------------------------------------------------------------------------- fly scans


def _dataset(f: h5py.File, name: str) -> np.ndarray:
    if name not in f:
        raise ReductionError(f"{f.filename}: required field {name!r} is missing")
    return np.asarray(f[name][()], dtype=float).ravel()


def clock_rate(ticks_total: float, elapsed: float | None, nominal: float) -> float:
    """Rate (Hz) of the clock counted in mca1.

    The saver records the MCS internal clock (``mca_clock_frequency``, 50 MHz),
    but channel 1 counts a divided reference (1 MHz in the 2025 files, and in
    the simulator, which follows them). The measured rate
    (total of mca1 over the elapsed scan time) decides: within 5 % of
    ``nominal`` it is ``nominal``, otherwise it is snapped to the nearest power
    of ten. Without an elapsed time, ``nominal / 50`` (1 MHz) is assumed.
    """
    if elapsed and elapsed > 0 and ticks_total > 0:
        measured = ticks_total / elapsed
        if abs(measured / nominal - 1) < 0.05:
            return float(nominal)
        return float(10 ** np.round(np.log10(measured)))
    return nominal / 50.0


def _fly_amplifier(f: h5py.File) -> str:
    fs = f["entry/flyScan"]
    nontrivial = [
        name
        for name in _FLY_AMPLIFIERS.values()
        if f"changes_{name}_mcsChan" in fs and fs[f"changes_{name}_mcsChan"].size > 1
    ]
    code = read_scalar(f, "entry/flyScan/upd_flyScan_amplifier", required=False)
    named = _FLY_AMPLIFIERS.get(int(code)) if code is not None else None
    if named and f"changes_{named}_mcsChan" in fs:
        if named in nontrivial or not nontrivial:
            return named
    if len(nontrivial) == 1:
        return nontrivial[0]
    for name in _FLY_AMPLIFIERS.values():
        if f"changes_{name}_mcsChan" in fs:
            return name
    raise ReductionError(f"{f.filename}: no changes_<amplifier>_mcsChan range record in flyScan")


def _meta_array(f: h5py.File, names: list[str], default: tuple[float, ...]) -> np.ndarray:
    out = []
    for k, name in enumerate(names):
        out.append(read_scalar(f, name, default[k] if default else None, required=not default))
    return np.asarray(out, dtype=float)


def _read_fly(path: Path, f: h5py.File) -> UsaxsRaw:
    fs = "entry/flyScan"
    md = "entry/metadata"
    clock = _dataset(f, f"{fs}/mca1")
    i0 = _dataset(f, f"{fs}/mca2")
    upd = _dataset(f, f"{fs}/mca3")
    pulses = _dataset(f, f"{fs}/AR_PulsePositions")
    n = min(len(clock), len(i0), len(upd))
    if n < 10 or len(pulses) < 2:
        raise ReductionError(f"{path}: fly scan has only {n} points (truncated?)")
    if len(pulses) == n + 1:
        ar = 0.5 * (pulses[:-1] + pulses[1:])
    elif len(pulses) >= n:
        ar = pulses[-n:]
    else:
        raise ReductionError(f"{path}: AR_PulsePositions has {len(pulses)} values for {n} points")
    clock, i0, upd = clock[:n], i0[:n], upd[:n]

    elapsed = read_scalar(f, f"{fs}/FS_ElapsedTime", required=False)
    nominal = read_scalar(f, f"{fs}/mca_clock_frequency", 5e7)
    rate = clock_rate(float(clock.sum()), elapsed, nominal)
    t = clock / rate

    amp = _fly_amplifier(f)
    gain_ch = _dataset(f, f"{fs}/changes_{amp}_ampGain")
    req_ch = _dataset(f, f"{fs}/changes_{amp}_ampReqGain")
    chan = _dataset(f, f"{fs}/changes_{amp}_mcsChan")
    m = min(len(gain_ch), len(req_ch), len(chan))

    # gains / backgrounds of the amplifier that was used (DDPCA300 = upd_* PVs)
    gain_names = [f"{md}/{amp}_gain{r}" for r in range(5)]
    if not all(g in f for g in gain_names):
        gain_names = [f"{md}/upd_gain{r}" for r in range(5)]
    gains = _meta_array(f, gain_names, ())
    bkg_prefix = f"{md}/{amp}_bkg" if f"{md}/{amp}_bkg0" in f else f"{md}/upd_bkg"
    bkg = _meta_array(f, [f"{bkg_prefix}{r}" for r in range(5)], ())
    err_prefix = bkg_prefix.replace("_bkg", "_bkgErr")
    bkg_err = np.array(
        [
            read_scalar(f, f"{err_prefix}{r}", required=False)
            or read_scalar(f, f"{bkg_prefix}_err{r}", 0.0)
            for r in range(5)
        ]
    )
    mask_times = _meta_array(f, [f"{md}/upd_amp_change_mask_time{r}" for r in range(5)], MASK_TIMES)
    rng, valid = range_and_validity(n, gain_ch[:m], req_ch[:m], chan[:m], t, mask_times)
    valid &= (clock > 0) & (i0 > 0)

    i0_gain = read_scalar(f, f"{md}/I0AmpGain")
    wavelength = read_scalar(f, f"{md}/DCM_wavelength", required=False) or read_scalar(
        f, "entry/instrument/monochromator/wavelength"
    )
    energy = read_scalar(f, f"{md}/DCM_energy", energy_from_wavelength(wavelength))
    thickness = read_scalar(f, "entry/sample/thickness", required=False)
    meta = {
        "amplifier": amp,
        "clock_rate_Hz": rate,
        "source_file": str(path),
    }
    for key in (
        "trans_pin_counts",
        "trans_pin_gain",
        "trans_pin_time",
        "trans_I0_counts",
        "trans_I0_gain",
        "measure_trans_pin",
    ):
        v = read_scalar(f, f"{md}/{key}", required=False)
        if v is not None:
            meta[key] = v
    return UsaxsRaw(
        path=path,
        plan="fly",
        ar=ar,
        i0=i0,
        upd=upd,
        time=t,
        upd_range=rng,
        valid=valid,
        gains=gains,
        bkg=bkg,
        bkg_err=bkg_err,
        mask_times=mask_times,
        i0_gain=np.full(n, i0_gain),
        ar_center=read_scalar(f, f"{md}/AR_center"),
        wavelength=wavelength,
        energy=energy,
        upd_size=read_scalar(f, f"{md}/UPDsize"),
        sdd=read_scalar(f, f"{md}/detector_distance"),
        thickness_mm=thickness,
        sample_name=read_text(f, "entry/sample/name") or read_text(f, "entry/title"),
        timestamp=read_text(f, f"{md}/timeStamp"),
        metadata=meta,
    )


# ---------------------------------------------------------------------------- step scans

_BL = "entry/instrument/bluesky/streams/baseline"
_MD = "entry/instrument/bluesky/metadata"


def _baseline(f: h5py.File, name: str, default: float | None = None) -> float | None:
    for sub in ("value_start", "value"):
        key = f"{_BL}/{name}/{sub}"
        if key in f:
            return read_scalar(f, key)
    return default


def _column(f: h5py.File, *names: str) -> np.ndarray:
    for name in names:
        if f"entry/data/{name}" in f:
            return np.asarray(f[f"entry/data/{name}"][()], dtype=float).ravel()
    raise ReductionError(f"{f.filename}: required column entry/data/{names[0]!r} is missing")


def _read_step(path: Path, f: h5py.File) -> UsaxsRaw:
    ar = _column(f, "a_stage_r")
    upd = _column(f, "PD_USAXS", "UPD")
    i0 = _column(f, "I0_USAXS", "I0")
    if "entry/data/scaler0_time" in f:
        t = _column(f, "scaler0_time")
    else:
        t = _column(f, "seconds") / (_baseline(f, "scaler0_freq", 1e7) or 1e7)
    req = _column(f, "upd_autorange_controls_reqrange").astype(int)
    gain_col = _column(f, "upd_autorange_controls_gain")
    i0_gain = _column(f, "I0_autorange_controls_gain")
    n = min(map(len, (ar, upd, i0, t, req, gain_col, i0_gain)))
    if n < 10:
        raise ReductionError(f"{path}: step scan has only {n} points (truncated?)")
    ar, upd, i0, t, req, gain_col, i0_gain = (
        x[:n] for x in (ar, upd, i0, t, req, gain_col, i0_gain)
    )
    gains, bkg, bkg_err = [], [], []
    for r in range(5):
        pre = f"upd_autorange_controls_ranges_gain{r}"
        g = _baseline(f, f"{pre}_gain")
        if g is None:
            raise ReductionError(f"{path}: baseline {pre}_gain (UPD gain of range {r}) is missing")
        gains.append(g)
        bkg.append(_baseline(f, f"{pre}_background", 0.0))
        bkg_err.append(_baseline(f, f"{pre}_background_error", 0.0))
    gains_a = np.asarray(gains)
    after = np.clip(req, 0, 4)
    # The range columns are read after the autorange has reacted to the point's
    # counts (as the facility records them): a point was counted in the range
    # recorded at the previous point. The first point's range is unknown.
    rng = np.concatenate(([after[0]], after[:-1]))
    gain_used = np.concatenate(([np.nan], gain_col[:-1]))
    # the recorded gain must match the range's gain, otherwise the range moved
    valid = np.isclose(gain_used, gains_a[rng], rtol=1e-3) & (t > 0) & (i0 > 0)

    wavelength = read_scalar(f, "entry/instrument/monochromator/wavelength", required=False)
    if wavelength is None:
        wavelength = _baseline(f, "monochromator_dcm_wavelength")
    if wavelength is None:
        raise ReductionError(f"{path}: wavelength is missing (entry/instrument/monochromator)")
    energy = read_scalar(
        f, "entry/instrument/monochromator/energy", energy_from_wavelength(wavelength)
    )
    ar_center = _baseline(f, "terms_USAXS_center_AR") or read_scalar(f, f"{_MD}/center")
    upd_size = _baseline(f, "terms_USAXS_diode_upd_size")
    if upd_size is None:
        raise ReductionError(f"{path}: baseline terms_USAXS_diode_upd_size (UPDsize) is missing")
    sdd = read_scalar(f, f"{_MD}/SDD_mm", required=False) or _baseline(f, "terms_USAXS_SDD")
    if sdd is None:
        raise ReductionError(f"{path}: SDD (metadata SDD_mm / baseline terms_USAXS_SDD) missing")
    thickness = read_scalar(f, f"{_MD}/sample_thickness_mm", required=False)
    if thickness is None:
        thickness = read_scalar(f, "entry/sample/thickness", required=False)
    meta: dict[str, Any] = {"amplifier": "upd_autorange", "source_file": str(path)}
    for key, name in (
        ("trans_pin_counts", "terms_USAXS_transmission_diode_counts"),
        ("trans_pin_gain", "terms_USAXS_transmission_diode_gain"),
        ("trans_I0_counts", "terms_USAXS_transmission_I0_counts"),
        ("trans_I0_gain", "terms_USAXS_transmission_I0_gain"),
        ("trans_pin_time", "terms_USAXS_transmission_count_time"),
        ("measure_trans_pin", "terms_USAXS_transmission_measure"),
    ):
        v = _baseline(f, name)
        if v is not None:
            meta[key] = v
    return UsaxsRaw(
        path=path,
        plan="step",
        ar=ar,
        i0=i0,
        upd=upd,
        time=t,
        upd_range=rng,
        valid=valid,
        gains=gains_a,
        bkg=np.asarray(bkg),
        bkg_err=np.asarray(bkg_err),
        mask_times=np.zeros(5),
        i0_gain=i0_gain,
        ar_center=ar_center,
        wavelength=wavelength,
        energy=energy,
        upd_size=upd_size,
        sdd=sdd,
        thickness_mm=thickness,
        sample_name=read_text(f, "entry/sample/name") or read_text(f, f"{_MD}/title"),
        timestamp=read_text(f, "entry/start_time") or read_text(f, f"{_MD}/iso8601"),
        metadata=meta,
    )
