"""Shared types of the reduction: the error class and the reduced-curve container."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

__all__ = ["ReducedCurve", "ReductionError", "read_scalar", "read_text"]


class ReductionError(ValueError):
    """Input that cannot be reduced (missing field, wrong file, bad blank ...)."""


@dataclass
class ReducedCurve:
    """One reduced 1-D curve.

    q, qdev in 1/angstrom; i, idev in 1/cm when ``metadata["absolute"]`` is
    true (otherwise arbitrary units); ``dql`` is the slit length (1/angstrom)
    of slit-smeared data, ``None`` for pinhole or desmeared data.
    """

    q: np.ndarray
    i: np.ndarray
    idev: np.ndarray
    qdev: np.ndarray
    dql: float | None
    smeared: bool
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.q)
        for name in ("i", "idev", "qdev"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"ReducedCurve.{name} has {len(getattr(self, name))} != {n}")

    def __len__(self) -> int:
        return len(self.q)


def _missing(path: Path | str, field_path: str) -> ReductionError:
    return ReductionError(f"{path}: required field {field_path!r} is missing")


def read_scalar(
    f: h5py.File, field_path: str, default: float | None = None, *, required: bool = True
) -> float | None:
    """Read a numeric scalar (or the first element of a 1-element array)."""
    if field_path not in f:
        if default is not None or not required:
            return default
        raise _missing(f.filename, field_path)
    obj = f[field_path]
    if not isinstance(obj, h5py.Dataset):
        raise ReductionError(f"{f.filename}: {field_path!r} is a group, expected a value")
    value = np.asarray(obj[()]).ravel()
    if value.size == 0:
        if default is not None or not required:
            return default
        raise ReductionError(f"{f.filename}: field {field_path!r} is empty")
    try:
        return float(value[0])
    except (TypeError, ValueError) as exc:
        raise ReductionError(f"{f.filename}: field {field_path!r} is not numeric") from exc


def read_text(f: h5py.File, field_path: str, default: str = "") -> str:
    """Read a string scalar (bytes, str, 1-element arrays, uint8 char arrays)."""
    if field_path not in f:
        return default
    value = f[field_path][()]
    if isinstance(value, np.ndarray):
        if value.dtype == np.uint8:
            return bytes(value).split(b"\0", 1)[0].decode(errors="replace")
        if value.size == 0:
            return default
        value = value.ravel()[0]
    if isinstance(value, bytes):
        return value.decode(errors="replace").strip("\0")
    return str(value)
