"""Counting at a fixed position: the monitor and photodiode with their amplifier ranges."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from bluesky import plan_stubs as bps
from bluesky import plans as bp
from bluesky.utils import Msg

from ..instrument import Instrument
from .common import run_metadata


def count_sample(
    inst: Instrument,
    *,
    title: str,
    thickness_mm: float,
    user_name: str,
    count_time: float = 1.0,
    num: int = 1,
    md: dict[str, Any] | None = None,
) -> Generator[Msg, Any, str]:
    """Count ``num`` times for ``count_time`` s each where the instrument stands.

    Opens both shutters (left open). Emits one run: streams ``primary``
    (scaler channels, ``upd_autorange_lurange``, ``upd_ratio``) and ``baseline``.
    Start keys: ``plan_name="count"``, ``title``, ``sample_thickness_mm``,
    ``user_name``, ``plan_args``.
    Returns the run uid.
    """
    start_md = run_metadata(
        "count",
        title=title,
        thickness_mm=thickness_mm,
        user_name=user_name,
        md=md,
        count_time=count_time,
        num=num,
    )
    yield from bps.mv(inst.scaler.preset_time, count_time)
    yield from bps.mv(inst.mono_shutter, "open", inst.usaxs_shutter, "open")
    uid = yield from bp.count([inst.scaler, inst.upd_autorange, inst.upd_ratio], num, md=start_md)
    return uid
