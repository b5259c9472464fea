"""Peak and plateau arithmetic for the tuning plans (plain numpy/scipy, no RunEngine).

:func:`find_peak` locates a rocking curve or piezo peak: half-height crossings
give a first centre and width, then a peak model (Lorentzian squared or
Gaussian plus a constant) is fitted to the points above a fraction of the
peak. :func:`find_plateau` locates the flat top of the photodiode (the
centre is the mid-point of the two half-height edges). Both return a
:class:`TuneResult` whose ``success`` is False, with a ``reason``, when
there is no usable peak: too few points, flat signal, peak at the edge of
the scan, fit failure or a width outside the physical range.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

from ..contract.geometry import rocking_curve

#: Minimum ratio of peak height (above background) to the point-to-point noise.
MIN_SIGNIFICANCE = 10.0
#: Points below this fraction of the peak (above background) are left out of the fit.
FIT_FRACTION = 0.2


@dataclass(frozen=True)
class TuneResult:
    """Outcome of a peak search: centre, full width and height, or why there is none.

    ``center`` and ``fwhm`` are in the scanned axis' units (NaN on failure);
    ``peak`` is the signal at the centre (fit or maximum); ``reason`` is empty
    on success.
    """

    success: bool
    center: float
    fwhm: float
    peak: float
    reason: str = ""

    @classmethod
    def failed(cls, reason: str, peak: float = math.nan) -> TuneResult:
        """A failed search, saying why."""
        return cls(False, math.nan, math.nan, peak, reason)


def lorentzian_squared(x: np.ndarray, center: float, fwhm: float, height: float, bkg: float):
    """``bkg`` plus the rocking-curve model of the reduction with shape 2 and FWHM ``fwhm``.

    :func:`~usaxs_bluesky.contract.geometry.rocking_curve`:
    ``height / (1 + ((x - center)/a)^2)^2`` with ``a = fwhm / (2 sqrt(sqrt 2 - 1))``.
    """
    return bkg + rocking_curve(x, height, center, fwhm / 2.0, 2.0)


def gaussian(x: np.ndarray, center: float, fwhm: float, height: float, bkg: float):
    """``bkg + height * exp(-(x - center)^2 / (2 sigma^2))`` with FWHM ``fwhm``."""
    sigma = fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    return bkg + height * np.exp(-0.5 * ((np.asarray(x, dtype=float) - center) / sigma) ** 2)


MODELS: dict[str, Callable[..., np.ndarray]] = {
    "lorentzian_squared": lorentzian_squared,
    "gaussian": gaussian,
}


def _clean(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Finite points sorted by x."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.size} and {y.size}")
    keep = np.isfinite(x) & np.isfinite(y)
    order = np.argsort(x[keep], kind="stable")
    return x[keep][order], y[keep][order]


def noise_level(y: np.ndarray) -> float:
    """Robust point-to-point noise: scaled median absolute difference of neighbours."""
    if y.size < 3:
        return 0.0
    return float(1.4826 * np.median(np.abs(np.diff(y))) / math.sqrt(2.0))


def half_height_edges(
    x: np.ndarray, y: np.ndarray, level: float, start: int
) -> tuple[float, float]:
    """Where ``y`` crosses ``level`` walking out both ways from index ``start`` (interpolated).

    ``x`` must be sorted. Returns NaN for a side on which ``y`` never falls
    below ``level`` (the edge is outside the scan).
    """
    left = right = math.nan
    for i in range(start, 0, -1):
        if y[i - 1] < level <= y[i]:
            left = float(np.interp(level, [y[i - 1], y[i]], [x[i - 1], x[i]]))
            break
    for i in range(start, len(y) - 1):
        if y[i + 1] < level <= y[i]:
            right = float(np.interp(level, [y[i + 1], y[i]], [x[i + 1], x[i]]))
            break
    return left, right


def _signal_problem(y: np.ndarray, top: float, bkg: float, min_points: int) -> str:
    if y.size < min_points:
        return f"only {y.size} finite points (need {min_points})"
    noise = noise_level(y)
    if not top > bkg or (top - bkg) < MIN_SIGNIFICANCE * noise:
        return f"no peak: signal flat (height {top - bkg:.3g} vs noise {noise:.3g})"
    return ""


def find_peak(
    x: Sequence[float],
    y: Sequence[float],
    *,
    model: str = "lorentzian_squared",
    min_fwhm: float,
    max_fwhm: float,
) -> TuneResult:
    """Centre, FWHM and height of the single peak in ``y(x)``.

    The model (``"lorentzian_squared"`` for crystal rocking curves,
    ``"gaussian"`` for piezo peaks) is fitted to the points above
    :data:`FIT_FRACTION` of the peak. Fails when the signal is flat, the
    maximum is on the first or last point, a half-height edge is outside the
    scan, the fit does not converge, its centre leaves the scanned range or
    its FWHM is outside [``min_fwhm``, ``max_fwhm``].
    """
    func = MODELS[model]
    x, y = _clean(x, y)
    if y.size == 0:
        return TuneResult.failed("no finite points")
    bkg, top = float(np.min(y)), float(np.max(y))
    problem = _signal_problem(y, top, bkg, 5)
    if problem:
        return TuneResult.failed(problem, top)
    imax = int(np.argmax(y))
    if imax in (0, y.size - 1):
        return TuneResult.failed(f"peak at the edge of the scan (x={x[imax]:.8g})", top)
    left, right = half_height_edges(x, y, bkg + 0.5 * (top - bkg), imax)
    if math.isnan(left) or math.isnan(right):
        return TuneResult.failed("peak not inside the scan (a half-height edge is outside)", top)
    guess = [0.5 * (left + right), right - left, top - bkg, bkg]
    use = y >= bkg + FIT_FRACTION * (top - bkg)
    if use.sum() < 4:
        use = np.ones_like(y, dtype=bool)
    try:
        popt, _ = curve_fit(func, x[use], y[use], p0=guess, maxfev=5000)
    except (RuntimeError, ValueError) as exc:
        return TuneResult.failed(f"fit failed: {exc}", top)
    center, fwhm, height, fit_bkg = (float(v) for v in popt)
    fwhm = abs(fwhm)
    if not all(map(math.isfinite, (center, fwhm, height))) or height <= 0:
        return TuneResult.failed("fit failed: no positive finite peak", top)
    if not x[0] <= center <= x[-1]:
        return TuneResult.failed(f"fitted centre {center:.8g} outside the scan", top)
    if not min_fwhm <= fwhm <= max_fwhm:
        return TuneResult.failed(
            f"unphysical width: FWHM {fwhm:.3g} not in [{min_fwhm:.3g}, {max_fwhm:.3g}]", top
        )
    return TuneResult(True, center, fwhm, height + fit_bkg)


def find_plateau(
    x: Sequence[float], y: Sequence[float], *, min_width: float, max_width: float
) -> TuneResult:
    """Centre (mid-point of the half-height edges) and width of a flat-top window.

    The top level is the median of the points above 3/4 of the maximum; the
    edges are where the signal crosses half of it (above the minimum). Fails
    when the signal is flat, an edge is outside the scan or the width is
    outside [``min_width``, ``max_width``]. ``fwhm`` of the result is the width.
    """
    x, y = _clean(x, y)
    if y.size == 0:
        return TuneResult.failed("no finite points")
    bkg, peak = float(np.min(y)), float(np.max(y))
    problem = _signal_problem(y, peak, bkg, 7)
    if problem:
        return TuneResult.failed(problem, peak)
    top = float(np.median(y[y >= bkg + 0.75 * (peak - bkg)]))
    level = bkg + 0.5 * (top - bkg)
    start = int(np.argmax(y))
    left, right = half_height_edges(x, y, level, start)
    if math.isnan(left) or math.isnan(right):
        return TuneResult.failed("plateau not inside the scan (an edge is outside)", top)
    width = right - left
    if not min_width <= width <= max_width:
        return TuneResult.failed(
            f"unphysical width: {width:.3g} not in [{min_width:.3g}, {max_width:.3g}]", top
        )
    return TuneResult(True, 0.5 * (left + right), width, top)
