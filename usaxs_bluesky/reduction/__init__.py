"""Data reduction (pure numpy/scipy/pyFAI): USAXS, SAXS/WAXS, NXcanSAS.

Entry point: :func:`reduce_file`. Building blocks live in ``usaxs_raw``,
``usaxs``, ``areadetector`` and ``nxcansas``.
"""

from .common import ReducedCurve, ReductionError
from .nxcansas import read_nxcansas, write_nxcansas
from .pipeline import detect_kind, reduce_curves, reduce_file

__all__ = [
    "ReducedCurve",
    "ReductionError",
    "detect_kind",
    "read_nxcansas",
    "reduce_curves",
    "reduce_file",
    "write_nxcansas",
]
