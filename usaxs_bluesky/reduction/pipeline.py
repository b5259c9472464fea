"""One call from a raw file to reduced NXcanSAS (+ PNG quick look)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py

from .areadetector import detect_area_kind, read_area_frame, reduce_area
from .common import ReducedCurve, ReductionError
from .nxcansas import write_nxcansas
from .plots import LogLogPlot
from .usaxs import absolute_usaxs, uncalibrated_usaxs
from .usaxs_raw import detect_usaxs_kind, read_usaxs

__all__ = ["detect_kind", "reduce_curves", "reduce_file", "reduced_paths", "write_reduced"]

KINDS = ("usaxs-fly", "usaxs-step", "saxs", "waxs")


def detect_kind(path: str | Path) -> str:
    """One of "usaxs-fly", "usaxs-step", "saxs", "waxs"; ReductionError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ReductionError(f"{path}: no such file")
    try:
        with h5py.File(path, "r") as f:
            usaxs = detect_usaxs_kind(f)
            if usaxs:
                return f"usaxs-{usaxs}"
            area = detect_area_kind(f)
            if area:
                return area.lower()
    except OSError as exc:
        raise ReductionError(f"{path}: not a readable HDF5 file ({exc})") from exc
    raise ReductionError(
        f"{path}: unknown file type (expected a USAXS fly/step scan or a SAXS/WAXS NXsas frame)"
    )


def reduce_curves(
    path: str | Path, blank: str | Path | None = None, *, require_blank: bool = True
) -> list[ReducedCurve]:
    """Reduce without writing. USAXS: [desmeared, smeared]; SAXS/WAXS: [curve].

    With ``require_blank=False`` and no blank, a USAXS file gives R(Q)/R_peak
    (smeared, not calibrated) and an area frame I(q)/I0 (not calibrated).
    """
    kind = detect_kind(path)
    if blank is not None:
        bkind = detect_kind(blank)
        if bkind.split("-")[0] != kind.split("-")[0]:
            raise ReductionError(f"{blank}: blank is a {bkind} file but {path} is {kind}")
        if Path(blank).resolve() == Path(path).resolve():
            raise ReductionError(f"{path}: the blank cannot be the sample file itself")
    elif require_blank:
        raise ReductionError(f"{path}: a blank (empty-beam) file is needed for a {kind} reduction")
    if kind.startswith("usaxs"):
        raw = read_usaxs(path)
        if blank is None:
            return [uncalibrated_usaxs(raw)]
        smeared, desmeared = absolute_usaxs(raw, read_usaxs(blank))
        return [desmeared, smeared] if desmeared is not None else [smeared]
    frame = read_area_frame(path)
    bframe = read_area_frame(blank) if blank is not None else None
    return [reduce_area(frame, bframe)]


def reduce_file(
    path: str | Path,
    blank: str | Path | None = None,
    out_dir: str | Path | None = None,
    *,
    require_blank: bool = True,
    plot: bool = True,
    extra_notes: dict[str, Any] | None = None,
) -> list[Path]:
    """Reduce ``path`` and write ``<out_dir>/<stem>.nxcansas.h5`` (+ ``.png``).

    ``out_dir`` defaults to a ``reduced/`` folder beside the raw file. All
    checks run before anything is written; existing outputs are never
    overwritten (ReductionError). ``extra_notes`` go into the SASprocess
    note. Returns the paths written.
    """
    targets = reduced_paths(path, out_dir, plot=plot)
    curves = reduce_curves(path, blank, require_blank=require_blank)
    return write_reduced(targets, curves, extra_notes=extra_notes)


def reduced_paths(
    path: str | Path, out_dir: str | Path | None = None, *, plot: bool = True
) -> list[Path]:
    """Output paths of ``path`` ([nxcansas] or [nxcansas, png]); ReductionError if one exists."""
    path = Path(path)
    out_dir = Path(out_dir) if out_dir is not None else path.parent / "reduced"
    targets = [out_dir / f"{path.stem}.nxcansas.h5"]
    if plot:
        targets.append(out_dir / f"{path.stem}.png")
    for p in targets:
        if p.exists():
            raise ReductionError(f"{p} exists; reduced files are never overwritten")
    return targets


def write_reduced(
    targets: list[Path], curves: list[ReducedCurve], *, extra_notes: dict[str, Any] | None = None
) -> list[Path]:
    """Write the NXcanSAS file ``targets[0]`` and, if given, the PNG ``targets[1]``.

    On any failure the files already written are removed. Returns ``targets``.
    """
    written = [write_nxcansas(targets[0], curves, extra_notes=extra_notes)]
    try:
        for png in targets[1:]:
            written.append(quicklook_png(png, curves))
    except Exception:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return written


def quicklook_png(path: Path, curves: list[ReducedCurve]) -> Path:
    """Log-log plot of the curves (markers), written exclusively (temp name, then link)."""
    meta = curves[0].metadata
    plot = LogLogPlot(
        title=f"{meta.get('technique', '')} {meta.get('sample_name', '')}",
        ylabel="I (1/cm)" if meta.get("absolute", False) else "I (arb. units)",
    )
    for c in curves:
        label = "slit-smeared" if c.smeared else "desmeared" if "desmearing" in c.metadata else ""
        plot.add(c.q, c.i, label)
    return plot.save(path)
