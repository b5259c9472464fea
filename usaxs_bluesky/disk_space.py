"""Free space before a run: refuse to start one where the raw file would not fit.

The margin comes from ``make_session(min_free_mb=...)``, else
``$USAXS_MIN_FREE_MB``, else the config's ``data: {min_free_mb: ...}``, else
:data:`DEFAULT_MIN_FREE_MB`.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .contract.names import HDF5_PATH

MIN_FREE_ENV = "USAXS_MIN_FREE_MB"
DEFAULT_MIN_FREE_MB = 100.0
MB = 1 << 20


class DiskSpaceError(OSError):
    """Too little free space to start a run."""


def free_space_margin(explicit: float | None, config: Mapping[str, Any]) -> float:
    """Return the margin in MB from the first source given; ValueError unless finite and >= 0."""
    for source, value in (
        ("min_free_mb", explicit),
        (f"${MIN_FREE_ENV}", os.environ.get(MIN_FREE_ENV)),
        ("config data.min_free_mb", (config.get("data") or {}).get("min_free_mb")),
    ):
        if value is None:
            continue
        try:
            margin = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{source}: {value!r} is not a number of MB") from None
        if not math.isfinite(margin) or margin < 0:
            raise ValueError(
                f"{source}: free-space margin must be finite and >= 0 MB, got {value!r}"
            )
        return margin
    return DEFAULT_MIN_FREE_MB


def _existing(path: Path) -> Path:
    """Return ``path`` or its nearest existing parent."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_free_space(folder: str | Path, margin_mb: float) -> int:
    """Return the free bytes at ``folder``; DiskSpaceError if fewer than ``margin_mb`` MB."""
    where = _existing(Path(folder))
    free = shutil.disk_usage(where).free
    if free < margin_mb * MB:
        raise DiskSpaceError(
            f"run refused: only {free / MB:.1f} MB free at {where}, the margin is"
            f" {margin_mb:g} MB; free space there (or lower min_free_mb / ${MIN_FREE_ENV})"
        )
    return free


def space_checked(
    validator: Callable[[dict], None], data_dir: Path, margin_mb: float
) -> Callable[[dict], None]:
    """Return an ``md_validator`` that runs ``validator``, then checks space where the file goes."""

    def validate(md: dict) -> None:
        validator(md)
        check_free_space(md.get(HDF5_PATH) or data_dir, margin_mb)

    return validate
