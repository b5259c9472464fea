"""PNG quick looks: one log-log figure, cheap to draw, written exclusively.

matplotlib is imported on first use only (it costs most of a second), with
the Agg backend; tick labels are plain text ("1e-3"), not mathtext, which
alone took longer than the whole reduction.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

__all__ = ["log_log_figure", "save_png"]


def _tick_label(value: float, _pos: Any = None) -> str:
    """``1e-3`` for decades, ``""`` otherwise."""
    if value <= 0:
        return ""
    exponent = math.log10(value)
    return f"1e{round(exponent)}" if abs(exponent - round(exponent)) < 1e-9 else ""


def log_log_figure(width: float = 6.0, height: float = 4.5):
    """(figure, axes) with log-log axes and plain decade labels."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(_tick_label))
        axis.set_minor_formatter(NullFormatter())
    return fig, ax


def save_png(fig: Any, path: Path) -> Path:
    """Write ``fig`` to ``path`` under a temporary name, then link it (never overwrites)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        fig.savefig(tmp, format="png")
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
