"""Merge the reduced curves of one sample (desmeared USAXS, SAXS, WAXS) into one curve.

Irena's data-merge method, applied pairwise from low to high Q (the merged
curve so far is "data 1", the next technique "data 2"):

1. **usable range** of each curve: its END_POINTS first and last points are
   dropped (beam-stop edge of SAXS, desmearing end of USAXS), then, from each
   end inwards, points with ``Idev/I > NOISE_LIMIT`` or ``I <= 0``;
2. **overlap**: the common Q range of the two usable ranges, from data 2's
   first usable point over at most a factor OVERLAP_SPAN in Q (where data 2
   is good and data 1 still is); it must hold at least MIN_OVERLAP_POINTS
   points of each curve (else MergeError);
3. **fit**: both curves averaged (inverse variance) in the same FIT_BINS log
   bins of the overlap, then ``I_1 = s * I_2 + b`` by weighted least squares
   with ``sigma^2 = sigma_1^2 + (s sigma_2)^2 + (SYSTEMATIC max(I_1, s I_2))^2``
   (three passes; the systematic term keeps counting statistics of 1e6 counts
   from turning a peak resolved differently by two detectors into a huge
   weight); s scales data 2, b is the flat background of data 1 (data 2 is
   first interpolated log-log onto data 1's points); bins off by more than
   CLIP robust sigmas (a glitch of one curve) are left out and the fit
   repeated. Uncertainties from the covariance, scaled by the reduced chi^2
   when it exceeds 1. A background within BACKGROUND_SIGMAS of its sigma
   from 0 is not significant: b = 0 and s alone is fitted;
4. **splice** at the first overlap point where data 2's relative error is not
   larger than data 1's (else the end of the overlap): data 1 - b below it,
   s * data 2 from it on. Each point keeps its own Idev (times s) and Qdev.

Every input file, overlap, splice point and fitted number is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .common import ReducedCurve, ReductionError

__all__ = [
    "END_POINTS",
    "FIT_BINS",
    "MIN_OVERLAP_POINTS",
    "NOISE_LIMIT",
    "MergeError",
    "OVERLAP_SPAN",
    "OverlapFit",
    "fit_overlap",
    "merge_curves",
    "merge_files",
    "merged_name",
    "overlap_range",
    "pinhole_curve",
    "usable",
]

#: points dropped at each end of every curve before anything else
END_POINTS = 3
#: a point with Idev/I above this is noise at a curve's end
NOISE_LIMIT = 0.3
#: fewest points of each curve in an overlap to fit scale and background
MIN_OVERLAP_POINTS = 8
#: the overlap spans at most this factor in Q from its start
OVERLAP_SPAN = 2.0
#: log bins of the overlap in which both curves are averaged before the fit
FIT_BINS = 10
#: relative uncertainty added to every binned point of the fit (calibration,
#: resolution and Q-scale differences between techniques are never below this)
SYSTEMATIC = 0.03
#: bins whose residual exceeds this many robust sigmas are left out of the fit
CLIP = 3.0
#: the background is kept only when it differs from 0 by this many of its sigmas
BACKGROUND_SIGMAS = 3.0
#: the merged file of ``<name>_<NNNN>`` is ``<name>_<NNNN>_merged.nxcansas.h5``
MERGED_SUFFIX = "_merged"


class MergeError(ReductionError):
    """Curves that cannot be merged (no overlap, too few points, bad fit)."""


@dataclass
class OverlapFit:
    """One overlap: Q range, points used, scale s of data 2 and background b of data 1."""

    q_range: tuple[float, float]
    points: int
    scale: float
    scale_err: float
    background: float
    background_err: float
    chi2: float
    splice_q: float
    rejected: int = 0
    background_fitted: bool = True

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the SASprocess note."""
        return {
            "q_range_A": list(self.q_range),
            "points": self.points,
            "scale": self.scale,
            "scale_err": self.scale_err,
            "background_1_per_cm": self.background,
            "background_err": self.background_err,
            "reduced_chi2": self.chi2,
            "splice_q_A": self.splice_q,
            "rejected_bins": self.rejected,
            "background_fitted": self.background_fitted,
        }


def usable(curve: ReducedCurve) -> np.ndarray:
    """Boolean mask of ``curve``'s usable points (rule 1 of the module docstring)."""
    n = len(curve)
    keep = np.zeros(n, dtype=bool)
    if n <= 2 * END_POINTS:
        return keep
    keep[END_POINTS : n - END_POINTS] = True
    with np.errstate(divide="ignore", invalid="ignore"):
        bad = ~((curve.i > 0) & (curve.idev / curve.i <= NOISE_LIMIT) & np.isfinite(curve.i))
    idx = np.flatnonzero(keep)
    lo, hi = idx[0], idx[-1]
    while lo <= hi and bad[lo]:
        lo += 1
    while hi >= lo and bad[hi]:
        hi -= 1
    keep[:] = False
    keep[lo : hi + 1] = True
    return keep


def _loglog(q: np.ndarray, qq: np.ndarray, yy: np.ndarray) -> np.ndarray:
    return np.exp(np.interp(np.log(q), np.log(qq), np.log(yy)))


def _bin_means(
    q: np.ndarray, y: np.ndarray, dy: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse-variance means (q, y, sigma) of the points in each bin; empty bins dropped."""
    n = len(edges) - 1
    idx = np.clip(np.searchsorted(edges, q, side="right") - 1, 0, n - 1)
    w = 1.0 / dy**2
    sw = np.bincount(idx, w, n)
    keep = sw > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        qm = np.bincount(idx, w * q, n) / sw
        ym = np.bincount(idx, w * y, n) / sw
    return qm[keep], ym[keep], 1.0 / np.sqrt(sw[keep])


def _linear_fit(
    x: np.ndarray, dx: np.ndarray, y: np.ndarray, dy: np.ndarray, *, background: bool = True
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Weighted least squares ``y = s x (+ b)``: (s, b, 2x2 covariance, weights), three passes."""
    design = np.vstack([x, np.ones_like(x)]).T if background else x[:, None]
    scale = float(np.sum(y * x) / np.sum(x * x))
    for _ in range(3):
        w = 1.0 / (dy**2 + (scale * dx) ** 2 + (SYSTEMATIC * np.maximum(y, scale * x)) ** 2)
        cov = np.linalg.inv(design.T @ (design * w[:, None]))
        params = cov @ (design.T @ (w * y))
        scale = float(params[0])
    if not background:
        return scale, 0.0, np.array([[cov[0, 0], 0.0], [0.0, 0.0]]), w
    return scale, float(params[1]), cov, w


def overlap_range(low: ReducedCurve, high: ReducedCurve) -> tuple[float, float, np.ndarray]:
    """Overlap (rule 2): from data 2's first usable Q over at most OVERLAP_SPAN in Q.

    Returns (qlo, qhi, mask of data 1's points in it).
    """
    ul, uh = usable(low), usable(high)
    if not ul.any() or not uh.any():
        raise MergeError("a curve has no usable points (all noisy or non-positive)")
    qlo = max(low.q[ul].min(), high.q[uh].min())
    qhi = min(low.q[ul].max(), high.q[uh].max(), OVERLAP_SPAN * qlo)
    in_low = ul & (low.q >= qlo) & (low.q <= qhi)
    in_high = uh & (high.q >= qlo) & (high.q <= qhi)
    if qhi <= qlo or in_low.sum() < MIN_OVERLAP_POINTS or in_high.sum() < MIN_OVERLAP_POINTS:
        raise MergeError(
            f"no usable overlap: data 1 ends at {low.q[ul].max():.4g} 1/A, data 2 starts at "
            f"{high.q[uh].min():.4g} 1/A ({int(in_low.sum())} and {int(in_high.sum())} points "
            f"in common, {MIN_OVERLAP_POINTS} needed)"
        )
    return float(qlo), float(qhi), in_low


def fit_overlap(low: ReducedCurve, high: ReducedCurve) -> OverlapFit:
    """Fit ``I_low = s I_high + b`` in the overlap (rules 2-4 of the module docstring).

    Both curves are first averaged in the same FIT_BINS log bins of the overlap,
    so that their different resolutions and point densities weigh alike.
    """
    qlo, qhi, in_low = overlap_range(low, high)
    uh = usable(high)
    q1 = low.q[in_low]
    x_pts = _loglog(q1, high.q[uh], high.i[uh])  # data 2 at data 1's points
    dx_pts = np.interp(q1, high.q[uh], high.idev[uh])
    edges = np.geomspace(qlo, qhi * (1 + 1e-12), FIT_BINS + 1)
    _, y, dy = _bin_means(q1, low.i[in_low], low.idev[in_low], edges)
    _, x, dx = _bin_means(q1, x_pts, dx_pts, edges)
    keep = np.ones(len(y), dtype=bool)
    for _ in range(2):  # fit, reject bins off by more than CLIP robust sigmas, refit
        if keep.sum() < 3:
            raise MergeError(f"only {int(keep.sum())} bins left in {qlo:.4g}-{qhi:.4g} 1/A")
        scale, background, cov, w = _linear_fit(x[keep], dx[keep], y[keep], dy[keep])
        norm = (y - scale * x - background) / np.sqrt(
            dy**2 + (scale * dx) ** 2 + (SYSTEMATIC * np.maximum(y, scale * x)) ** 2
        )
        mad = 1.4826 * np.median(np.abs(norm[keep] - np.median(norm[keep])))
        keep = np.abs(norm - np.median(norm[keep])) <= CLIP * max(mad, 1.0)
    if keep.sum() < 3:
        raise MergeError(f"only {int(keep.sum())} bins left in {qlo:.4g}-{qhi:.4g} 1/A")
    scale, background, cov, w = _linear_fit(x[keep], dx[keep], y[keep], dy[keep])
    chi2 = float(np.sum(w * (y - scale * x - background)[keep] ** 2) / max(keep.sum() - 2, 1))
    with_background = abs(background) >= BACKGROUND_SIGMAS * np.sqrt(cov[1, 1] * max(chi2, 1.0))
    if not with_background:  # not significant: scale alone
        scale, background, cov, w = _linear_fit(
            x[keep], dx[keep], y[keep], dy[keep], background=False
        )
    resid = (y - scale * x - background)[keep]
    chi2 = float(np.sum(w * resid**2) / max(int(keep.sum()) - 1 - int(with_background), 1))
    cov = cov * max(chi2, 1.0)
    if not (np.isfinite(scale) and scale > 0):
        raise MergeError(f"fitted scale {scale!r} is not positive in {qlo:.4g}-{qhi:.4g} 1/A")
    # splice: first overlap point of data 1 where data 2 is at least as precise
    rel_low = low.idev[in_low] / np.abs(low.i[in_low] - background)
    better = np.flatnonzero(dx_pts / x_pts <= rel_low)
    splice = float(q1[better[0]] if better.size else qhi)
    return OverlapFit(
        q_range=(qlo, qhi),
        points=int(keep.sum()),
        rejected=int((~keep).sum()),
        scale=float(scale),
        scale_err=float(np.sqrt(cov[0, 0])),
        background=float(background),
        background_err=float(np.sqrt(cov[1, 1])),
        chi2=chi2,
        splice_q=splice,
        background_fitted=bool(with_background),
    )


def _splice(low: ReducedCurve, high: ReducedCurve, fit: OverlapFit) -> ReducedCurve:
    ul, uh = usable(low), usable(high)
    a = ul & (low.q < fit.splice_q)
    b = uh & (high.q >= fit.splice_q)
    return ReducedCurve(
        q=np.concatenate([low.q[a], high.q[b]]),
        i=np.concatenate([low.i[a] - fit.background, fit.scale * high.i[b]]),
        idev=np.concatenate([low.idev[a], fit.scale * high.idev[b]]),
        qdev=np.concatenate([low.qdev[a], high.qdev[b]]),
        dql=None,
        smeared=False,
        metadata={},
    )


def merge_curves(curves: list[ReducedCurve]) -> tuple[ReducedCurve, list[OverlapFit]]:
    """One curve from pinhole/desmeared curves of one sample, sorted by their lowest Q.

    The lowest-Q curve keeps its absolute scale; each next curve is scaled to
    it and each lower part loses its fitted flat background. Returns the
    merged curve (metadata: inputs and every fit) and the fits.
    """
    if len(curves) < 2:
        raise MergeError(f"merging needs at least two curves, got {len(curves)}")
    for c in curves:
        if c.smeared:
            raise MergeError(
                f"{c.metadata.get('sample_file', '?')}: slit-smeared data cannot be merged with "
                "pinhole data; use the desmeared curve"
            )
    techniques = [str(c.metadata.get("technique", "")) for c in curves]
    if len(set(techniques)) != len(techniques):
        raise MergeError(f"one curve per technique is merged, got {techniques}")
    ordered = sorted(curves, key=lambda c: float(np.min(c.q)))
    merged, fits = ordered[0], []
    for nxt in ordered[1:]:
        fit = fit_overlap(merged, nxt)
        fits.append(fit)
        merged = _splice(merged, nxt, fit)
    order = np.argsort(merged.q, kind="stable")
    q = merged.q[order]
    if np.any(np.diff(q) <= 0):
        raise MergeError("merged curve has repeated Q values")
    first = ordered[0].metadata
    meta = {
        "technique": "+".join(str(c.metadata.get("technique", "?")) for c in ordered),
        "absolute": all(bool(c.metadata.get("absolute")) for c in ordered),
        "sample_name": first.get("sample_name", ""),
        "thickness_mm": first.get("thickness_mm"),
        "wavelength_A": first.get("wavelength_A"),
        "sample_file": first.get("sample_file", ""),
        "blank_file": first.get("blank_file", ""),
        "merge_method": "Irena-style: per overlap I_1 = s I_2 + b (s scales the higher-Q "
        "curve, b is the lower curve's flat background), weighted least squares; "
        f"ends trimmed ({END_POINTS} points, Idev/I > {NOISE_LIMIT}); splice where the "
        "higher-Q curve becomes the more precise",
        "merge_inputs": [
            {
                "technique": c.metadata.get("technique"),
                "file": c.metadata.get("reduced_file", c.metadata.get("sample_file", "")),
                "sample_file": c.metadata.get("sample_file", ""),
                "blank_file": c.metadata.get("blank_file", ""),
                "q_range_A": [float(c.q.min()), float(c.q.max())],
            }
            for c in ordered
        ],
        "merge_fits": [f.as_dict() for f in fits],
    }
    out = ReducedCurve(
        q=q,
        i=merged.i[order],
        idev=merged.idev[order],
        qdev=merged.qdev[order],
        dql=None,
        smeared=False,
        metadata=meta,
    )
    return out, fits


def merged_name(path: str | Path) -> str:
    """``<name>_<NNNN>_merged`` for a reduced or raw file ``<name>_<NNNN>[.nxcansas].h5``."""
    stem = Path(path).name
    for suffix in (".nxcansas.h5", ".h5", ".hdf", ".hdf5", ".nxs"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return f"{stem}{MERGED_SUFFIX}"


def pinhole_curve(path: str | Path) -> ReducedCurve:
    """The desmeared (USAXS) or only (SAXS/WAXS) curve of a reduced NXcanSAS file."""
    from .nxcansas import read_nxcansas

    path = Path(path)
    if not path.is_file():
        raise MergeError(f"{path}: no such file")
    try:
        curves = [c for c in read_nxcansas(path) if not c.smeared]
    except (OSError, KeyError, ValueError) as exc:
        raise MergeError(f"{path}: not a readable NXcanSAS file ({exc})") from exc
    if not curves:
        raise MergeError(f"{path}: no pinhole or desmeared SASdata in the file")
    curve = curves[0]
    curve.metadata["reduced_file"] = str(path)
    return curve


def merge_files(
    paths: list[str | Path], out_dir: str | Path | None = None, *, plot: bool = True
) -> list[Path]:
    """Merge reduced NXcanSAS files of one sample; write ``<name>_<NNNN>_merged.nxcansas.h5``.

    The output goes beside the lowest-Q input (or into ``out_dir``), with a PNG
    of the merged curve and its parts when ``plot``. Existing outputs are never
    overwritten. Returns the paths written.
    """
    from .nxcansas import write_nxcansas

    resolved = [Path(p).resolve() for p in paths]
    if len(set(resolved)) != len(resolved):
        raise MergeError("the same file is given twice")
    curves = [pinhole_curve(p) for p in paths]
    merged, fits = merge_curves(curves)
    first = min(curves, key=lambda c: float(np.min(c.q)))
    src = Path(first.metadata["reduced_file"])
    folder = Path(out_dir) if out_dir is not None else src.parent
    name = merged_name(src)
    targets = [folder / f"{name}.nxcansas.h5"] + ([folder / f"{name}.png"] if plot else [])
    for t in targets:
        if t.exists():
            raise MergeError(f"{t} exists; merged files are never overwritten")
    written = [
        write_nxcansas(
            targets[0], [merged], title=f"{first.metadata.get('sample_name', '')} merged"
        )
    ]
    try:
        if plot:
            written.append(merged_png(targets[1], merged, curves, fits))
    except Exception:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return written


def merged_png(
    path: Path, merged: ReducedCurve, parts: list[ReducedCurve], fits: list[OverlapFit]
) -> Path:
    """Log-log plot of the merged curve over its parts, overlaps shaded; written exclusively."""
    from .plots import LogLogPlot

    plot = LogLogPlot(
        title=f"{merged.metadata.get('sample_name', '')} merged",
        ylabel="I (1/cm)" if merged.metadata.get("absolute") else "I (arb. units)",
        width=760,
        height=540,
    )
    for c in sorted(parts, key=lambda c: float(np.min(c.q))):
        plot.add(c.q, c.i, str(c.metadata.get("technique")))
    plot.add(merged.q, merged.i, "merged", color="black", line=True)
    for f in fits:
        plot.span(*f.q_range)
        at = float(np.interp(f.splice_q, merged.q, merged.i))
        if at > 0:
            plot.note(f.splice_q, at, f"s={f.scale:.3g} b={f.background:.3g}")
    return plot.save(path)
