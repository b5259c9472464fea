"""Alignment scans: the analyzer rocking curve."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from bluesky import plan_stubs as bps
from bluesky import plans as bp
from bluesky.utils import Msg

from ..instrument import Instrument
from .common import run_metadata


def rocking_curve(
    inst: Instrument,
    *,
    title: str,
    thickness_mm: float,
    user_name: str,
    width_deg: float = 0.004,
    num: int = 41,
    count_time: float = 0.5,
    md: dict[str, Any] | None = None,
) -> Generator[Msg, Any, str]:
    """Step the analyzer angle ``a_stage.r`` across its calibrated centre and count.

    Arguments: sample ``title``, ``thickness_mm`` and ``user_name`` (required
    by the metadata policy), the full ``width_deg`` and ``num`` points of the
    scan, ``count_time`` per point (s).
    Opens both shutters (left open). Emits one run: streams ``primary``
    (``a_stage_r``, scaler channels, the UPD range ``upd_autorange_lurange``
    and ``upd_ratio``) and ``baseline``.
    Start keys: ``plan_name="rocking_curve"``, ``title``,
    ``sample_thickness_mm``, ``user_name``, ``plan_args``, ``ar_center_deg``.
    Returns the run uid.
    """
    start_md = run_metadata(
        "rocking_curve",
        title=title,
        thickness_mm=thickness_mm,
        user_name=user_name,
        md=md,
        width_deg=width_deg,
        num=num,
        count_time=count_time,
    )
    center = yield from bps.rd(inst.terms.ar_center)
    start_md["ar_center_deg"] = center
    yield from bps.mv(inst.scaler.preset_time, count_time)
    yield from bps.mv(inst.mono_shutter, "open", inst.usaxs_shutter, "open")
    detectors = [inst.scaler, inst.upd_autorange, inst.upd_ratio]
    uid = yield from bp.scan(
        detectors,
        inst.a_stage.r,
        center + width_deg / 2,
        center - width_deg / 2,
        num,
        md=start_md,
    )
    return uid
