"""SAXS / WAXS reduction of NXsas frames with pyFAI azimuthal integration.

Absolute scale (Nika convention, the one the facility's ``I_scaling`` refers to)::

    I(q) = K / (I0/I0_gain) / t_cm / (p^2 / L^2) * ( S(q)/T - (I0/I0_b) * B(q) )

S and B are the solid-angle corrected (cos^3 2theta, pyFAI) mean counts per
pixel of sample and blank frames, K = /entry/Metadata/I_scaling, p the pixel
size, L the distance, T the transmission from the recorded diode counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..contract.geometry import energy_from_wavelength
from .common import ReducedCurve, ReductionError, read_scalar, read_text

__all__ = [
    "AreaFrame",
    "binning",
    "detect_area_kind",
    "group_bins",
    "integrate",
    "integrator",
    "log_edges",
    "read_area_frame",
    "reduce_area",
]

#: Eiger counts at or above this value are gap / dead / saturated flags
_EIGER_FLAG = 2**31
#: output bins per decade of q (log spacing), per technique
BINS_PER_DECADE = {"SAXS": 200, "WAXS": 1000}
#: no output bin narrower than this many pixels (in q near the beam)
MIN_BIN_PIXELS = 0.5
#: SAXS pixels below this fraction of their ring's mean count are beam-stop shadow
SHADOW_FRACTION = 0.2
#: ... looked for only in rings with at least this mean count per pixel
SHADOW_MIN_MEAN = 50.0
#: pyFAI's method: bounding-box pixel splitting, histogram (the CSR engine gives the same
#: sums but costs 0.7 s to build for a WAXS frame, more than ten integrations)
PYFAI_METHOD = ("bbox", "histogram", "cython")
#: pyFAI's linear bins per pixel, summed into the output bins
FINE_BINS_PER_PIXEL = 4


@dataclass
class AreaFrame:
    """One area-detector frame with what the reduction needs (mm, deg, A)."""

    path: Path
    kind: str  # "SAXS" or "WAXS"
    data: np.ndarray
    distance: float
    pixel_x: float
    pixel_y: float
    center_x: float  # Nika BCX (pixels)
    center_y: float  # Nika BCY (pixels)
    tilt_x: float
    tilt_y: float
    wavelength: float
    energy: float
    i0: float
    i0_gain: float
    exposure: float
    trans_diode: float | None
    trans_diode_gain: float | None
    trans_i0: float | None
    trans_i0_gain: float | None
    i_scaling: float | None
    thickness_mm: float | None
    sample_name: str
    timestamp: str
    model: str
    metadata: dict[str, Any] = field(default_factory=dict)


def detect_area_kind(f: h5py.File) -> str | None:
    """Return "SAXS", "WAXS" or None for an open HDF5 file."""
    if "entry/data/data" not in f or "entry/Metadata" not in f:
        return None
    if "entry/Metadata/pin_ccd_tilt_x" in f:
        return "SAXS"
    if "entry/Metadata/waxs_ccd_tilt_x" in f:
        return "WAXS"
    return None


def read_area_frame(path: str | Path) -> AreaFrame:
    """Read an NXsas frame written by the areaDetector HDF5 plugin."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ReductionError(f"{path}: not a readable HDF5 file ({exc})") from exc
    with f:
        kind = detect_area_kind(f)
        if kind is None:
            raise ReductionError(f"{path}: not a SAXS/WAXS NXsas frame (no /entry/Metadata tilts)")
        try:
            return _read_frame(path, f, kind)
        except (KeyError, OSError) as exc:
            raise ReductionError(f"{path}: truncated or damaged NXsas file ({exc})") from exc


def _read_frame(path: Path, f: h5py.File, kind: str) -> AreaFrame:
    md = "entry/Metadata"
    det = "entry/instrument/detector"
    pre = "pin_ccd" if kind == "SAXS" else "waxs_ccd"
    data = np.asarray(f["entry/data/data"][()])
    if data.ndim == 3:
        data = data.sum(axis=0)
    if data.ndim != 2 or data.size == 0:
        raise ReductionError(f"{path}: /entry/data/data is not a 2-D frame")
    wavelength = read_scalar(f, "entry/instrument/monochromator/wavelength", required=False)
    wavelength = wavelength or read_scalar(f, f"{md}/wavelength")
    if kind == "SAXS":
        i0 = read_scalar(f, f"{md}/I0_cts")
        tr = ("Pin_TrPD", "Pin_TrPDgain", "Pin_TrI0", "Pin_TrI0gain")
        tvals = [read_scalar(f, f"{md}/{k}", required=False) for k in tr]
    else:
        i0 = read_scalar(f, "entry/control/integral", required=False) or read_scalar(
            f, f"{md}/I0_cts_gated"
        )
        gated = f"{md}/TR_cts_gated" in f
        tvals = [
            read_scalar(f, f"{md}/TR_cts_gated" if gated else f"{md}/TR_cts", required=False),
            read_scalar(f, f"{md}/TR_gain", required=False),
            i0 if gated else read_scalar(f, f"{md}/I0_cts", required=False),
            read_scalar(f, f"{md}/I0_gain", required=False),
        ]
    return AreaFrame(
        path=path,
        kind=kind,
        data=data,
        distance=read_scalar(f, f"{det}/distance", required=False) or read_scalar(f, f"{md}/SDD"),
        pixel_x=read_scalar(f, f"{det}/x_pixel_size", required=False)
        or read_scalar(f, f"{md}/{pre}_pixel_size_x"),
        pixel_y=read_scalar(f, f"{det}/y_pixel_size", required=False)
        or read_scalar(f, f"{md}/{pre}_pixel_size_y"),
        center_x=read_scalar(f, f"{det}/beam_center_x", required=False)
        or read_scalar(f, f"{md}/{pre}_center_x_pixel"),
        center_y=read_scalar(f, f"{det}/beam_center_y", required=False)
        or read_scalar(f, f"{md}/{pre}_center_y_pixel"),
        tilt_x=read_scalar(f, f"{md}/{pre}_tilt_x", 0.0),
        tilt_y=read_scalar(f, f"{md}/{pre}_tilt_y", 0.0),
        wavelength=wavelength,
        energy=read_scalar(f, f"{md}/monoE", energy_from_wavelength(wavelength)),
        i0=i0,
        i0_gain=read_scalar(f, f"{md}/I0_gain"),
        exposure=read_scalar(f, "entry/control/preset", required=False)
        or read_scalar(f, f"{md}/PresetTime"),
        trans_diode=tvals[0],
        trans_diode_gain=tvals[1],
        trans_i0=tvals[2],
        trans_i0_gain=tvals[3],
        i_scaling=read_scalar(f, f"{md}/I_scaling", required=False),
        thickness_mm=read_scalar(f, "entry/sample/thickness", required=False),
        sample_name=read_text(f, f"{md}/SampleTitle") or read_text(f, "entry/sample/name"),
        timestamp=read_text(f, f"{md}/StartTime"),
        model=read_text(f, f"{md}/Model"),
        metadata={"sr_current_mA": read_scalar(f, f"{md}/SRcurrent", required=False)},
    )


def _fit2d_tilt(tilt_x: float, tilt_y: float) -> tuple[float, float]:
    """Nika horizontal/vertical tilts (deg) -> Fit2D (tilt, tiltPlanRotation) in deg."""
    sx, sy = np.sin(np.radians(tilt_x)), np.sin(np.radians(tilt_y))
    tilt = float(np.degrees(np.arcsin(min(np.hypot(sx, sy), 1.0))))
    sign = -1.0 if (tilt_x < 0 or tilt_y < 0) else 1.0
    return tilt, float(sign * np.degrees(np.arctan2(sx, sy)))


Geometry = tuple[float, float, float, float, float, float, float, float]


def geometry(frame: AreaFrame) -> Geometry:
    """The values that define a frame's integrator (mm, px, deg, A)."""
    return (
        float(frame.distance),
        float(frame.pixel_x),
        float(frame.pixel_y),
        float(frame.center_x),
        float(frame.center_y),
        float(frame.tilt_x),
        float(frame.tilt_y),
        float(frame.wavelength),
    )


@lru_cache(maxsize=8)
def _integrator(geo: Geometry):
    from pyFAI.geometry.fit2d import Fit2dGeometry, convert_from_Fit2d
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    distance, pixel_x, pixel_y, center_x, center_y, tilt_x, tilt_y, wavelength = geo
    tilt, rot = _fit2d_tilt(tilt_x, tilt_y)
    poni = convert_from_Fit2d(
        Fit2dGeometry(
            directDist=distance,
            centerX=center_y,
            centerY=center_x,
            tilt=tilt,
            tiltPlanRotation=rot,
            pixelX=pixel_y * 1000.0,
            pixelY=pixel_x * 1000.0,
            wavelength=wavelength,
        )
    )
    # geometry in the constructor: no setter, so no reset (and no gc.collect) per frame
    return AzimuthalIntegrator(
        dist=poni.dist,
        poni1=poni.poni1,
        poni2=poni.poni2,
        rot1=poni.rot1,
        rot2=poni.rot2,
        rot3=poni.rot3,
        pixel1=poni.detector.pixel1,
        pixel2=poni.detector.pixel2,
        wavelength=wavelength * 1e-10,
    )


def integrator(frame: AreaFrame):
    """pyFAI AzimuthalIntegrator for the frame's geometry, one per geometry (cached).

    Nika's BCX runs along the slow (row) axis of the stored array and BCY along
    the fast (column) axis, hence the swap into Fit2D's centerX/centerY.
    Callers must not change its geometry.
    """
    return _integrator(geometry(frame))


def make_mask(frame: AreaFrame, beamstop_radius_px: float = 0.0) -> np.ndarray:
    """True = masked: negative (Pilatus gaps/bad), flagged/saturated (Eiger), beam stop."""
    d = frame.data
    mask = d < 0
    if np.issubdtype(d.dtype, np.unsignedinteger) or d.max(initial=0) >= _EIGER_FLAG:
        mask |= d >= _EIGER_FLAG
    if beamstop_radius_px > 0:
        rows, cols = np.indices(d.shape)
        mask |= np.hypot(rows - frame.center_x, cols - frame.center_y) < beamstop_radius_px
    return mask


def shadow_mask(frame: AreaFrame, mask: np.ndarray) -> np.ndarray:
    """True = in the beam-stop shadow: pixels below SHADOW_FRACTION of their ring's mean.

    Only rings whose mean is at least SHADOW_MIN_MEAN counts are looked at (a
    Poisson count falls below a fifth of such a mean with probability < 1e-9).
    Rings are one pixel wide in q; the shadow (a few counts where the open
    detector has thousands) is grown by one pixel to cover its penumbra.
    """
    q = q_array(frame)
    ring = ((q - q.min()) / pixel_q_step(frame)).astype(int)
    good = ~mask
    n = np.bincount(ring[good], minlength=ring.max() + 1)
    total = np.bincount(ring[good], frame.data[good].astype(float), minlength=ring.max() + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, 0.0)
    bright = mean[ring] >= SHADOW_MIN_MEAN  # Poisson cannot drop below the fraction there
    low = bright & (frame.data < SHADOW_FRACTION * mean[ring])
    grown = low.copy()
    grown[1:, :] |= low[:-1, :]
    grown[:-1, :] |= low[1:, :]
    grown[:, 1:] |= low[:, :-1]
    grown[:, :-1] |= low[:, 1:]
    return grown & good


def q_array(frame: AreaFrame) -> np.ndarray:
    """q (1/A) of every pixel centre (cached per geometry and shape; do not modify)."""
    return _q_array(geometry(frame), frame.data.shape)


@lru_cache(maxsize=8)
def _q_array(geo: Geometry, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(_integrator(geo).array_from_unit(shape, "center", "q_A^-1"))


@dataclass
class FineBins:
    """Sums per fine linear q bin (pyFAI): signal, normalisation (solid angle), variance."""

    q: np.ndarray
    signal: np.ndarray
    norm: np.ndarray
    variance: np.ndarray


def pixel_q_step(frame: AreaFrame) -> float:
    """q step (1/A) of one pixel near the beam: (2 pi / lambda) * pixel / distance."""
    return 2 * np.pi / frame.wavelength * min(frame.pixel_x, frame.pixel_y) / frame.distance


def q_limits(frame: AreaFrame, mask: np.ndarray) -> tuple[float, float]:
    """Smallest and largest q (1/A) of the unmasked pixels."""
    q = q_array(frame)[~mask]
    if q.size == 0:
        raise ReductionError(f"{frame.path}: every pixel is masked")
    return float(q.min()), float(q.max())


def integrate(
    frame: AreaFrame, mask: np.ndarray, radial_range: tuple[float, float], npt: int
) -> FineBins:
    """Solid-angle corrected sums in ``npt`` linear q bins over ``radial_range`` (Poisson)."""
    res = integrator(frame).integrate1d(
        frame.data.astype(np.float64),
        npt,
        mask=mask.astype(np.int8),
        correctSolidAngle=True,
        error_model="poisson",
        unit="q_A^-1",
        radial_range=radial_range,
        method=PYFAI_METHOD,
    )
    return FineBins(
        q=np.asarray(res.radial),
        signal=np.asarray(res.sum_signal, dtype=float).ravel(),
        norm=np.asarray(res.sum_normalization, dtype=float).ravel(),
        variance=np.asarray(res.sum_variance, dtype=float).ravel(),
    )


def log_edges(qmin: float, qmax: float, per_decade: int, min_width: float) -> np.ndarray:
    """Bin edges from qmin to qmax: log-spaced (``per_decade``), never narrower than min_width."""
    ratio = 10 ** (1.0 / per_decade) - 1.0
    edges = [qmin]
    while edges[-1] < qmax:
        edges.append(edges[-1] + max(ratio * edges[-1], min_width))
    edges[-1] = qmax
    return np.asarray(edges)


def group_bins(
    fine: FineBins, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fine bins summed into ``edges``: q (normalisation-weighted), I, sigma, bin width.

    Bins without unmasked pixels are dropped.
    """
    n = len(edges) - 1
    idx = np.clip(np.searchsorted(edges, fine.q, side="right") - 1, 0, n - 1)
    norm = np.bincount(idx, fine.norm, n)
    keep = norm > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.bincount(idx, fine.norm * fine.q, n) / norm
        inten = np.bincount(idx, fine.signal, n) / norm
        sigma = np.sqrt(np.bincount(idx, fine.variance, n)) / norm
    return q[keep], inten[keep], sigma[keep], np.diff(edges)[keep]


def binning(
    frame: AreaFrame, mask: np.ndarray, per_decade: int | None = None
) -> tuple[np.ndarray, tuple[float, float], int, dict[str, Any]]:
    """Output bin edges, the fine pyFAI range and bin count, and the note recorded.

    Rule: from the smallest to the largest q of the unmasked pixels, log-spaced
    (``per_decade`` bins per decade), but no bin narrower than MIN_BIN_PIXELS
    pixels, so the low-q end (SAXS near the beam stop) gets bins of half a
    pixel instead of empty or one-pixel-wide slivers. pyFAI integrates into
    FINE_BINS_PER_PIXEL linear bins per pixel, summed into the output bins.
    """
    per_decade = per_decade or BINS_PER_DECADE[frame.kind]
    if per_decade < 1:
        raise ReductionError(f"{frame.path}: bins per decade must be >= 1, got {per_decade}")
    qmin, qmax = q_limits(frame, mask)
    step = pixel_q_step(frame)
    npt_fine = max(int(np.ceil((qmax - qmin) / step * FINE_BINS_PER_PIXEL)), 1)
    edges = log_edges(qmin, qmax, per_decade, MIN_BIN_PIXELS * step)
    note = {
        "rule": f"log-spaced, {per_decade} per decade, no bin narrower than "
        f"{MIN_BIN_PIXELS} pixel ({MIN_BIN_PIXELS * step:.3g} 1/A)",
        "q_range_A": [qmin, qmax],
        "bins": len(edges) - 1,
        "pyfai": f"integrate1d {PYFAI_METHOD}, {npt_fine} linear bins, solid angle, "
        "poisson, summed",
    }
    return edges, (qmin, qmax), npt_fine, note


def transmission(sample: AreaFrame, blank: AreaFrame) -> float:
    """T from the diode/I0 counts recorded with each frame (sample / blank)."""

    def ratio(fr: AreaFrame) -> float:
        vals = (fr.trans_diode, fr.trans_diode_gain, fr.trans_i0, fr.trans_i0_gain)
        if any(v is None or v <= 0 for v in vals):
            raise ReductionError(f"{fr.path}: transmission counts are missing or zero")
        return (fr.trans_diode / fr.trans_diode_gain) / (fr.trans_i0 / fr.trans_i0_gain)

    return float(ratio(sample) / ratio(blank))


def reduce_area(
    sample: AreaFrame,
    blank: AreaFrame | None,
    *,
    per_decade: int | None = None,
    beamstop_radius_px: float | None = None,
    transmission_override: float | None = None,
) -> ReducedCurve:
    """Integrate, normalise, subtract the blank and put on absolute scale.

    Bins: log-spaced, ``per_decade`` per decade (default BINS_PER_DECADE of the
    technique), never narrower than MIN_BIN_PIXELS pixels (see :func:`binning`).
    Without a blank the result is the normalised sample (counts per pixel per
    I0, not absolute).
    """
    if beamstop_radius_px is None:
        beamstop_radius_px = 8.0 if sample.kind == "SAXS" else 0.0
    if sample.i0 <= 0:
        raise ReductionError(f"{sample.path}: I0 counts are zero")
    mask = make_mask(sample, beamstop_radius_px)
    if blank is not None:
        if blank.data.shape != sample.data.shape or blank.kind != sample.kind:
            raise ReductionError(f"{blank.path}: blank frame does not match {sample.path}")
        mask |= make_mask(blank, beamstop_radius_px)
    if sample.kind == "SAXS":
        shadow = shadow_mask(sample, mask)
        if blank is not None:
            shadow |= shadow_mask(blank, mask)
        mask |= shadow
    edges, fine_range, npt_fine, binning_note = binning(sample, mask, per_decade)
    q, s, ds, width = group_bins(integrate(sample, mask, fine_range, npt_fine), edges)
    mon_s = sample.i0 / sample.i0_gain
    solid = (sample.pixel_x * sample.pixel_y) / sample.distance**2
    meta: dict[str, Any] = {
        "technique": sample.kind,
        "detector": sample.model,
        "sample_name": sample.sample_name,
        "thickness_mm": sample.thickness_mm,
        "wavelength_A": sample.wavelength,
        "energy_keV": sample.energy,
        "sample_file": str(sample.path),
        "blank_file": str(blank.path) if blank is not None else "",
        "sdd_mm": sample.distance,
        "pixel_size_mm": sample.pixel_x,
        "beam_center_px": [sample.center_x, sample.center_y],
        "tilts_deg": [sample.tilt_x, sample.tilt_y],
        "i0": sample.i0,
        "i0_gain": sample.i0_gain,
        "exposure_s": sample.exposure,
        "timestamp": sample.timestamp,
        "masked_pixels": int(mask.sum()),
        "beamstop_shadow_pixels": int(shadow.sum()) if sample.kind == "SAXS" else 0,
        "binning": binning_note,
    }
    if blank is None:
        inten, idev = s / mon_s, ds / mon_s
        meta["absolute"] = False
    else:
        if abs(sample.wavelength - blank.wavelength) / sample.wavelength > 1e-3:
            raise ReductionError(
                f"{sample.path}: blank {blank.path} was measured at another energy "
                f"({blank.energy:.4f} vs {sample.energy:.4f} keV)"
            )
        if sample.thickness_mm is None or not sample.thickness_mm > 0:
            raise ReductionError(f"{sample.path}: sample thickness missing or not positive")
        if not sample.i_scaling or sample.i_scaling <= 0:
            raise ReductionError(f"{sample.path}: /entry/Metadata/I_scaling missing or zero")
        if blank.i0 <= 0:
            raise ReductionError(f"{blank.path}: I0 counts are zero")
        qb, b, db, _ = group_bins(integrate(blank, mask, fine_range, npt_fine), edges)
        b = np.interp(q, qb, b)
        db = np.interp(q, qb, db)
        t = transmission_override if transmission_override else transmission(sample, blank)
        mon_b = blank.i0 / blank.i0_gain
        pref = sample.i_scaling / mon_s / (sample.thickness_mm / 10.0) / solid
        inten = pref * (s / t - (mon_s / mon_b) * b)
        idev = pref * np.sqrt((ds / t) ** 2 + ((mon_s / mon_b) * db) ** 2)
        meta.update(
            absolute=True,
            transmission=t,
            transmission_method="diode/I0 ratio sample/blank",
            i_scaling=sample.i_scaling,
        )
    ok = np.isfinite(inten) & np.isfinite(idev) & (q > 0)
    q, inten, idev, width = q[ok], inten[ok], idev[ok], width[ok]
    qdev = width / np.sqrt(12.0)
    return ReducedCurve(q=q, i=inten, idev=idev, qdev=qdev, dql=None, smeared=False, metadata=meta)
