"""The USAXS step law: fine analyzer steps near the peak, growing as a power of the distance.

Each step is ``min_step + factor * |x - center| ** exponent``; ``factor`` is
chosen so that ``intervals`` steps go from ``start`` exactly to ``finish``.
Plain arithmetic, tested without a RunEngine.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq


def _walk(
    start: float,
    center: float,
    finish: float,
    min_step: float,
    exponent: float,
    intervals: int,
    factor: float,
) -> np.ndarray:
    sign = 1.0 if finish > start else -1.0
    positions = np.empty(intervals + 1)
    x = start
    positions[0] = x
    limit = 2.0 * abs(finish - start) + abs(start - center)
    for i in range(1, intervals + 1):
        x = x + sign * (min_step + factor * min(abs(x - center), limit) ** exponent)
        positions[i] = x
    return positions


def step_factor(
    start: float, center: float, finish: float, min_step: float, exponent: float, intervals: int
) -> float:
    """Return the factor that makes ``intervals`` steps end exactly at ``finish``."""
    if intervals < 1:
        raise ValueError(f"intervals must be >= 1, got {intervals}")
    if min_step <= 0 or exponent <= 0:
        raise ValueError(f"min_step and exponent must be > 0, got {min_step}, {exponent}")
    span = abs(finish - start)
    if min_step * intervals >= span:
        raise ValueError(
            f"{intervals} steps of at least {min_step} go beyond the range {start}..{finish}"
        )

    def overshoot(factor: float) -> float:
        return (
            abs(_walk(start, center, finish, min_step, exponent, intervals, factor)[-1] - start)
            - span
        )

    high = 1.0
    while overshoot(high) < 0:
        high *= 10.0
    return float(brentq(overshoot, 0.0, high, xtol=1e-15, rtol=1e-13, maxiter=500))


def step_positions(
    start: float, center: float, finish: float, min_step: float, exponent: float, intervals: int
) -> np.ndarray:
    """Return the ``intervals`` measured analyzer positions (degrees).

    As at the instrument, the scan steps first and then counts: the first
    point is one minimum step past ``start`` and the last is ``finish``.
    """
    factor = step_factor(start, center, finish, min_step, exponent, intervals)
    positions = _walk(start, center, finish, min_step, exponent, intervals, factor)[1:]
    positions[-1] = finish
    return positions
