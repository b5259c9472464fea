"""Instrument modes: which stages put the USAXS, SAXS or WAXS camera into the beam.

``set_mode`` reads the in/out positions the instrument stores in EPICS,
moves only the stages not already there and then records the mode PV.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from bluesky import plan_stubs as bps
from bluesky.utils import Msg

from ..instrument import Instrument

USAXS = "USAXS in beam"
SAXS = "SAXS in beam"
WAXS = "WAXS in beam"
OUT_OF_BEAM = "out of beam"
MODES = (USAXS, SAXS, WAXS, OUT_OF_BEAM)
POSITION_TOLERANCE_MM = 0.01

# (stage axis, name of the Positions / UsaxsTerms signal holding the target) per mode
_TARGETS: dict[str, list[tuple[str, str]]] = {
    USAXS: [
        ("waxs_stage.x", "positions.waxs_x_out"),
        ("saxs_stage.y", "positions.saxs_y_out"),
        ("saxs_stage.z", "positions.saxs_z_out"),
        ("a_stage.x", "positions.ax_in"),
        ("d_stage.x", "terms.diode_dx"),
    ],
    SAXS: [
        ("waxs_stage.x", "positions.waxs_x_out"),
        ("a_stage.x", "positions.ax_out"),
        ("d_stage.x", "positions.diode_dx_out"),
        ("saxs_stage.x", "positions.saxs_x_in"),
        ("saxs_stage.y", "positions.saxs_y_in"),
        ("saxs_stage.z", "positions.saxs_z_in"),
    ],
    WAXS: [
        ("saxs_stage.y", "positions.saxs_y_out"),
        ("saxs_stage.z", "positions.saxs_z_out"),
        ("a_stage.x", "positions.ax_out"),
        ("d_stage.x", "positions.diode_dx_out"),
        ("waxs_stage.x", "positions.waxs_x_in"),
    ],
    OUT_OF_BEAM: [
        ("waxs_stage.x", "positions.waxs_x_out"),
        ("saxs_stage.y", "positions.saxs_y_out"),
        ("saxs_stage.z", "positions.saxs_z_out"),
        ("a_stage.x", "positions.ax_out"),
        ("d_stage.x", "positions.diode_dx_out"),
    ],
}


def _resolve(inst: Instrument, dotted: str) -> Any:
    device, _, attr = dotted.partition(".")
    obj = getattr(inst, device)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is a known mode; raise ValueError naming the allowed ones."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")
    return mode


def set_mode(inst: Instrument, mode: str) -> Generator[Msg, Any, list[str]]:
    """Move the stages of ``mode`` that are not yet in place, then set the mode PV.

    Returns the names of the axes that moved (empty when all were in place).
    Opens no run.
    """
    check_mode(mode)
    moves: list[Any] = []
    moved: list[str] = []
    for axis_name, target_name in _TARGETS[mode]:
        axis = _resolve(inst, axis_name)
        target = yield from bps.rd(_resolve(inst, target_name))
        position = yield from bps.rd(axis)
        if abs(position - target) > POSITION_TOLERANCE_MM:
            moves += [axis, target]
            moved.append(axis.name)
    if moves:
        yield from bps.mv(*moves)
    current = yield from bps.rd(inst.mode)
    if current != mode:
        yield from bps.mv(inst.mode, mode)
    return moved
