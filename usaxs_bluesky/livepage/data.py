"""Curves and images of a run, read from the files its catalog entry records.

A browser names a run (uid) and, for a download, the index of one of that
run's recorded files; it never names a path. A recorded path is used only
when it resolves (symlinks followed) inside one of the allowed data roots.
Reads are cached by (path, size, mtime).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog.files import FileRecord
from ..reduction import ReductionError
from ..reduction.nxcansas import read_nxcansas
from .runs import LiveRun

#: curve labels of the page
MERGED, DESMEARED, SMEARED = "merged", "desmeared", "smeared"
#: most points sent per curve (log-spaced thinning beyond)
MAX_POINTS = 2000
#: frame images and files' curves kept in memory (the most recent)
CACHE_SIZE = 64
#: colour of masked pixels in frame images
MASK_RGBA = (1.0, 0.0, 1.0, 1.0)


Stamp = tuple[str, int, float]  # (path, size, mtime) of a file read


class NotAllowed(LookupError):
    """A recorded file outside the data roots, or missing (answered with 404)."""


def contained(path: str | Path, roots: Sequence[Path]) -> Path:
    """Return ``path`` resolved when it is an existing file inside one of ``roots``; else raise."""
    resolved = Path(path).resolve()
    for root in roots:
        if resolved.is_relative_to(root.resolve()) and resolved.is_file():
            return resolved
    raise NotAllowed(f"{Path(path).name}: not a file in the data directory")


def _thin(n: int) -> np.ndarray:
    """Indices keeping at most :data:`MAX_POINTS` of ``n`` points, evenly in index."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_POINTS).astype(int))


def _finite_list(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def curve_label(curve: Any) -> str:
    """``merged``, ``smeared`` or ``desmeared`` for USAXS; the technique for SAXS/WAXS."""
    meta = curve.metadata
    where = f"{meta.get('entry', '')}/{meta.get('group', '')}/{meta.get('kind', '')}".lower()
    if "merge" in where or meta.get("merged"):
        return MERGED
    technique = str(meta.get("technique", "")).upper()
    if technique.startswith("USAXS") or curve.dql is not None:
        return SMEARED if curve.smeared else DESMEARED
    return technique or "curve"


def curve_json(curve: Any) -> dict[str, Any]:
    """One curve for the page: label, Q (1/Å), I, dI, units, blank; only points with I > 0."""
    q, i, di = (np.asarray(a, dtype=float) for a in (curve.q, curve.i, curve.idev))
    keep = np.isfinite(q) & np.isfinite(i) & (q > 0) & (i > 0)
    q, i, di = q[keep], i[keep], di[keep]
    index = _thin(len(q))
    meta = curve.metadata
    blank = meta.get("blank_file") or ""
    return {
        "label": curve_label(curve),
        "q": _finite_list(q[index]),
        "i": _finite_list(i[index]),
        "di": _finite_list(di[index]),
        "absolute": bool(meta.get("absolute", False)),
        "units": "1/cm" if meta.get("absolute") else "arbitrary",
        "blank": Path(str(blank)).name if blank else "",
        "blank_choice": str(meta.get("blank_choice", "")),
    }


class RunData:
    """Curves and frame images of runs, from their recorded files under ``roots``."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = [Path(r).resolve() for r in roots]
        self._curves: dict[Stamp, list[dict[str, Any]]] = {}
        self._frames: dict[Stamp, bytes] = {}
        self._lock = threading.Lock()

    def file(self, record: FileRecord) -> Path:
        """The recorded file's path when inside the roots (else :class:`NotAllowed`)."""
        return contained(record.path, self.roots)

    def _stamp(self, path: Path) -> Stamp:
        stat = path.stat()
        return (str(path), stat.st_size, stat.st_mtime)

    def _keep(self, cache: dict[Stamp, Any], stamp: Stamp, value: Any) -> None:
        with self._lock:
            cache[stamp] = value
            while len(cache) > CACHE_SIZE:
                cache.pop(next(iter(cache)))

    def curves(self, run: LiveRun) -> list[dict[str, Any]]:
        """The reduced curves of ``run`` (every NXcanSAS file recorded); [] when none readable."""
        out: list[dict[str, Any]] = []
        for record in run.summary.files_of("reduced"):
            try:
                path = self.file(record)
                stamp = self._stamp(path)
                with self._lock:
                    cached = self._curves.get(stamp)
                if cached is None:
                    cached = [curve_json(c) for c in read_nxcansas(path)]
                    self._keep(self._curves, stamp, cached)
            except (NotAllowed, ReductionError, OSError, KeyError, ValueError):
                continue
            out.extend(cached)
        return out

    def frame_png(self, run: LiveRun) -> bytes:
        """PNG of the run's 2-D frame (log colour, masked pixels magenta); NotAllowed if none."""
        from ..reduction.areadetector import make_mask, read_area_frame

        for record in run.summary.files_of("raw"):
            try:
                path = self.file(record)
                stamp = self._stamp(path)
                with self._lock:
                    cached = self._frames.get(stamp)
                if cached is None:
                    frame = read_area_frame(path)
                    cached = render_frame(frame.data, make_mask(frame), title=frame.sample_name)
                    self._keep(self._frames, stamp, cached)
                return cached
            except (NotAllowed, ReductionError, OSError, KeyError, ValueError):
                continue
        raise NotAllowed("this run has no readable 2-D frame")


def render_frame(data: np.ndarray, mask: np.ndarray, *, title: str = "") -> bytes:
    """PNG bytes of ``data`` on a log colour scale with ``mask`` (True = masked) drawn over it."""
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    image = np.asarray(data, dtype=float)
    shown = np.where(mask | ~np.isfinite(image) | (image <= 0), np.nan, image)
    positive = shown[np.isfinite(shown)]
    vmin = float(positive.min()) if positive.size else 1.0
    vmax = float(positive.max()) if positive.size else 10.0
    if vmax <= vmin:
        vmax = vmin * 10.0
    fig = Figure(figsize=(4.2, 3.6), dpi=100)
    ax = fig.add_subplot()
    shown_image = ax.imshow(shown, norm=LogNorm(vmin=vmin, vmax=vmax), cmap="viridis")
    overlay = np.zeros((*image.shape, 4))
    overlay[np.asarray(mask, dtype=bool)] = MASK_RGBA
    ax.imshow(overlay, interpolation="nearest")
    fig.colorbar(shown_image, ax=ax, label="counts (log)")
    ax.set_title(f"{title}  (magenta: masked)", fontsize=8)
    ax.set_xlabel("pixel")
    ax.set_ylabel("pixel")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
