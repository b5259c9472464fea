"""SAXS / WAXS reduction of NXsas frames with pyFAI azimuthal integration.

Absolute scale (Nika convention, the one the facility's ``I_scaling`` refers to)::

    I(q) = K / (I0/I0_gain) / t_cm / (p^2 / L^2) * ( S(q)/T - (I0/I0_b) * B(q) )

S and B are the solid-angle corrected (cos^3 2theta, pyFAI) mean counts per
pixel of sample and blank frames, K = /entry/Metadata/I_scaling, p the pixel
size, L the distance, T the transmission from the recorded diode counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .common import ReducedCurve, ReductionError, read_scalar, read_text

__all__ = ["AreaFrame", "detect_area_kind", "integrate", "read_area_frame", "reduce_area"]

#: Eiger counts at or above this value are gap / dead / saturated flags
_EIGER_FLAG = 2**31


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
        energy=read_scalar(f, f"{md}/monoE", 12.398419843 / wavelength),
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


def integrator(frame: AreaFrame):
    """pyFAI AzimuthalIntegrator for the frame's geometry.

    Nika's BCX runs along the slow (row) axis of the stored array and BCY along
    the fast (column) axis, hence the swap into Fit2D's centerX/centerY.
    """
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    ai = AzimuthalIntegrator()
    tilt, rot = _fit2d_tilt(frame.tilt_x, frame.tilt_y)
    ai.setFit2D(
        directDist=frame.distance,
        centerX=frame.center_y,
        centerY=frame.center_x,
        tilt=tilt,
        tiltPlanRotation=rot,
        pixelX=frame.pixel_y * 1000.0,
        pixelY=frame.pixel_x * 1000.0,
    )
    ai.wavelength = frame.wavelength * 1e-10
    return ai


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


def integrate(
    frame: AreaFrame, npt: int, mask: np.ndarray, radial_range: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solid-angle corrected mean counts per pixel vs q (1/A) with Poisson sigma."""
    ai = integrator(frame)
    res = ai.integrate1d(
        frame.data.astype(np.float64),
        npt,
        mask=mask.astype(np.int8),
        correctSolidAngle=True,
        error_model="poisson",
        unit="q_A^-1",
        radial_range=radial_range,
    )
    return np.asarray(res.radial), np.asarray(res.intensity), np.asarray(res.sigma)


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
    npt: int | None = None,
    beamstop_radius_px: float | None = None,
    transmission_override: float | None = None,
) -> ReducedCurve:
    """Integrate, normalise, subtract the blank and put on absolute scale.

    Without a blank the result is the normalised sample (counts per pixel per
    I0, not absolute).
    """
    if npt is None:
        npt = 200 if sample.kind == "SAXS" else max(sample.data.shape) // 2
    if beamstop_radius_px is None:
        beamstop_radius_px = 8.0 if sample.kind == "SAXS" else 0.0
    if sample.i0 <= 0:
        raise ReductionError(f"{sample.path}: I0 counts are zero")
    mask = make_mask(sample, beamstop_radius_px)
    if blank is not None:
        if blank.data.shape != sample.data.shape or blank.kind != sample.kind:
            raise ReductionError(f"{blank.path}: blank frame does not match {sample.path}")
        mask |= make_mask(blank, beamstop_radius_px)
    q, s, ds = integrate(sample, npt, mask)
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
        qb, b, db = integrate(blank, npt, mask, radial_range=(float(q[0]), float(q[-1])))
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
    q, inten, idev = q[ok], inten[ok], idev[ok]
    qdev = np.gradient(q) / np.sqrt(12.0) if len(q) > 1 else np.zeros_like(q)
    return ReducedCurve(q=q, i=inten, idev=idev, qdev=qdev, dql=None, smeared=False, metadata=meta)
