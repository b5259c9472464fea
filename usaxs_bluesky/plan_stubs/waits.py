"""Every wait bounded: a plan preprocessor that gives each ``wait`` a timeout from its moves.

:func:`bounded_waits` wraps a plan (install it with
``RE.preprocessors.append(bounded_waits)``; the session does). For every
``wait`` message without a timeout it adds one derived from what its group
waits for: a motor move ``|target - position| / velocity`` plus its
acceleration time, a count (trigger of a device with ``preset_time``) its
preset time, anything else :data:`SET_S`; the timeout is
``SAFETY * longest + margin_s``. A wait that runs out raises
:class:`DeviceTimeoutError` naming the devices and PVs still waited for.
When the plan then ends with another error (its cleanup failing on the same
dead IOC, e.g. the shutter), the first device failure (any error of a set,
trigger, read or wait, named with its device and PV) is raised instead
(the cleanup's error chained to it), so the user and the stop document's
reason name the real cause.
"""

from __future__ import annotations

import math
import os
from collections.abc import Generator, Hashable
from typing import Any

from bluesky.utils import Msg, RequestAbort, RequestStop

WAIT_MARGIN_ENV = "USAXS_WAIT_MARGIN_S"
DEFAULT_MARGIN_S = 30.0
SAFETY = 3.0
SET_S = 10.0
READ_TIMEOUT_S = 2.0
#: messages that talk to a device: an error thrown back at one is a device failure
DEVICE_COMMANDS = frozenset(
    {"set", "trigger", "read", "wait", "locate", "stage", "unstage", "kickoff", "complete",
     "collect"}
)  # fmt: skip


def _control(exc: BaseException) -> bool:
    """True for the RunEngine's own stop/abort requests (not a device failure)."""
    return isinstance(exc, RequestAbort | RequestStop)


class DeviceFailedError(RuntimeError):
    """A device failed a set, trigger, read or wait (named with its PV)."""


class DeviceTimeoutError(TimeoutError):
    """A move or count did not finish in the time it should take (an IOC died, a motor stalled)."""


def margin_from_env(default: float = DEFAULT_MARGIN_S) -> float:
    """Return ``$USAXS_WAIT_MARGIN_S`` (finite, > 0) or ``default``; ValueError if bad."""
    text = os.environ.get(WAIT_MARGIN_ENV)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"${WAIT_MARGIN_ENV}={text!r}: must be a finite number of seconds > 0")
    return value


def _value(signal: Any) -> float | None:
    """Return a signal's value as float, None when unreadable (disconnected, not numeric)."""
    try:
        return float(signal.get(timeout=READ_TIMEOUT_S))
    except Exception:  # noqa: BLE001 - an estimate only: the wait is bounded anyway
        return None


def expected_s(command: str, obj: Any, value: Any = None) -> float:
    """Return the seconds a ``set`` of ``obj`` to ``value`` (or a ``trigger``) should take."""
    if command == "trigger":
        preset = getattr(obj, "preset_time", None)
        seconds = _value(preset) if preset is not None else None
        return seconds if seconds is not None and math.isfinite(seconds) else SET_S
    velocity = getattr(obj, "velocity", None)
    if velocity is None or not isinstance(value, int | float):
        return SET_S
    speed = _value(velocity)
    accel = _value(obj.acceleration) if hasattr(obj, "acceleration") else 0.0
    try:
        distance = abs(float(value) - float(obj.position))
    except Exception:  # noqa: BLE001 - position unknown (disconnected)
        return SET_S
    if not speed or not math.isfinite(speed) or speed <= 0:
        return SET_S
    return distance / speed + 2 * (accel or 0.0)


def _describe(obj: Any) -> str:
    """Return ``name (PV)`` of a device or signal."""
    pv = getattr(obj, "prefix", None) or getattr(obj, "pvname", None) or ""
    return f"{obj.name} ({pv})" if pv else str(getattr(obj, "name", obj))


def _named(msg: Msg, waited: list[tuple[Any, float]], exc: BaseException) -> DeviceFailedError:
    """Return ``exc`` as a DeviceFailedError naming the message's devices and PVs."""
    objects = [obj for obj, _ in waited] or ([msg.obj] if msg.obj is not None else [])
    names = ", ".join(_describe(obj) for obj in objects) or "a device"
    error = DeviceFailedError(f"{msg.command} {names}: {' '.join(str(exc).split())}")
    error.__cause__ = exc
    return error


def _group_of(msg: Msg) -> Hashable | None:
    if msg.command == "wait" and msg.args:
        return msg.args[0]
    return msg.kwargs.get("group")


def bounded_waits(
    plan: Generator[Msg, Any, Any], margin_s: float | None = None
) -> Generator[Msg, Any, Any]:
    """Pass ``plan`` through with every ``wait`` bounded; re-raise the first device failure."""
    margin = margin_from_env() if margin_s is None else margin_s
    groups: dict[Hashable, list[tuple[Any, float]]] = {}
    first: BaseException | None = None
    reply: Any = None
    throw: BaseException | None = None
    while True:
        try:
            msg = plan.throw(throw) if throw is not None else plan.send(reply)
        except StopIteration as stop:
            return stop.value
        except Exception as exc:
            if first is not None and exc is not first:
                raise first from exc
            raise
        throw, reply = None, None
        group = _group_of(msg)
        if msg.command in ("set", "trigger") and group is not None:
            value = msg.args[0] if msg.args else None
            groups.setdefault(group, []).append((msg.obj, expected_s(msg.command, msg.obj, value)))
        waited: list[tuple[Any, float]] = []
        if msg.command == "wait" and msg.kwargs.get("timeout") is None:
            waited = groups.pop(group, [])
            if waited:
                timeout = SAFETY * max(seconds for _, seconds in waited) + margin
                msg = msg._replace(kwargs={**msg.kwargs, "timeout": timeout})
        try:
            reply = yield msg
        except GeneratorExit:
            plan.close()
            raise
        except Exception as exc:  # noqa: BLE001 - rethrown into the plan, a timeout explained
            if waited and isinstance(exc, TimeoutError):
                names = ", ".join(_describe(obj) for obj, _ in waited)
                exc = DeviceTimeoutError(
                    f"{names} did not finish within {msg.kwargs['timeout']:.0f} s"
                    " (IOC down or motor stalled?)"
                )
            if first is None and msg.command in DEVICE_COMMANDS and not _control(exc):
                first = exc if isinstance(exc, DeviceTimeoutError) else _named(msg, waited, exc)
            throw = exc
