"""Metadata requests: converting a value to an item's declared type."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .request_model import TYPES

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def convert(value: Any, type_name: str) -> Any:
    """Return ``value`` converted to the declared type (str, float, int, bool).

    Accepts numpy scalars, one-element arrays, numeric strings and the usual
    boolean words; raises ``ValueError`` for anything else (arrays, NaN, ...).
    """
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"expected one {type_name}, got an array of shape {value.shape}")
        value = value.reshape(-1)[0]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if value is None:
        raise ValueError("no value")
    if type_name == "str":
        return value if isinstance(value, str) else str(value)
    if type_name == "bool":
        return _to_bool(value)
    if isinstance(value, bool):
        raise ValueError(f"expected {type_name}, got a boolean {value!r}")
    if type_name == "float":
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {value!r}")
        return number
    if type_name == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"expected an integer, got {value!r}")
            return int(value)
        return int(value)
    raise ValueError(f"unknown type {type_name!r}")


def _to_bool(value: Any) -> bool:
    """Return ``value`` as a bool (bool, 0/1, or true/false/yes/no/on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"expected a boolean, got {value!r}")


def is_strictly(value: Any, type_name: str) -> bool:
    """Return True when a fixed value (from YAML) already is of the declared type."""
    if type_name == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, TYPES[type_name])
