"""The simulator's state file: user-facing PV values kept across restarts.

The file is JSON, ``{"format": "usaxs_sim state", "version": 1, "pvs":
{"usxLAX:userName": "...", ...}}`` (PV names without the IOC prefix). It is
written atomically (a temporary file beside it, then ``os.replace``) and read
once at start. A file that is not exactly that (not a regular file, too big,
not UTF-8 JSON, unknown PV names, wrong types, strings too long) is refused
as a whole: :func:`load_state` says why, and the simulator keeps its defaults.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

FORMAT = "usaxs_sim state"
VERSION = 1
MAX_BYTES = 64 * 1024  # the real content is well under 4 KiB


@dataclass(frozen=True)
class Field:
    """One persisted PV: its Python type (``str`` or ``float``) and, for strings, the byte limit."""

    kind: type
    max_bytes: int = 0


class StateFileRefused(ValueError):
    """The state file exists but is not a valid simulator state file."""


def _check_value(name: str, value: object, field: Field) -> None:
    """Raise :class:`StateFileRefused` unless ``value`` fits ``field``."""
    if field.kind is str:
        if not isinstance(value, str):
            raise StateFileRefused(f"{name} must be a string, not {type(value).__name__}")
        if len(value.encode("utf-8")) > field.max_bytes:
            raise StateFileRefused(f"{name} is longer than {field.max_bytes} bytes")
        if "\x00" in value:
            raise StateFileRefused(f"{name} contains a NUL character")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StateFileRefused(f"{name} must be a number, not {type(value).__name__}")


def _read_bounded(path: Path) -> bytes:
    """The bytes of the regular file ``path`` (never blocks on a FIFO or device)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StateFileRefused("it is not a regular file")
        if info.st_size > MAX_BYTES:
            raise StateFileRefused(f"it is larger than {MAX_BYTES} bytes")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise StateFileRefused(f"it is larger than {MAX_BYTES} bytes")
    return data


def load_state(path: Path, fields: dict[str, Field]) -> dict[str, str | float]:
    """PV values from the state file ``path``; ``{}`` when it does not exist yet.

    Raises :class:`StateFileRefused` (the reason as its message) for anything
    else than a valid file holding only names of ``fields`` with fitting values.
    """
    path = Path(path)
    if not os.path.lexists(path):
        return {}
    try:
        raw = _read_bounded(path)
        document = json.loads(raw.decode("utf-8"))
    except StateFileRefused:
        raise
    except UnicodeDecodeError:
        raise StateFileRefused("it is not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:
        raise StateFileRefused(f"it is not JSON ({str(exc)[:80]})") from None
    except OSError as exc:
        raise StateFileRefused(f"it cannot be read ({exc.strerror or exc})") from None
    if not isinstance(document, dict):
        raise StateFileRefused("it is not a JSON object")
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise StateFileRefused(f'it is not a "{FORMAT}" file of version {VERSION}')
    pvs = document.get("pvs")
    if not isinstance(pvs, dict):
        raise StateFileRefused('its "pvs" is not a JSON object')
    unknown = sorted(set(pvs) - set(fields))
    if unknown:
        raise StateFileRefused(f"it names PVs that are not kept: {', '.join(unknown)[:200]}")
    for name, value in pvs.items():
        _check_value(name, value, fields[name])
    return {name: (float(v) if fields[name].kind is float else v) for name, v in pvs.items()}


def save_state(path: Path, values: dict[str, str | float]) -> None:
    """Write ``values`` to ``path`` atomically (temporary file, fsync, ``os.replace``).

    A symbolic link at ``path`` is replaced by the file, never written through.
    """
    path = Path(path)
    document = {"format": FORMAT, "version": VERSION, "pvs": values}
    text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False)
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        if os.path.lexists(handle.name):
            os.unlink(handle.name)
        raise


def describe_defaults(defaults: dict[str, str | float]) -> str:
    """``name=value`` pairs of the defaults, for the refusal message."""
    return ", ".join(f"{name}={value!r}" for name, value in defaults.items())
