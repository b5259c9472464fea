"""USAXS measurements: the fly scan, the step scan (uascan) and USAXSscan that picks one."""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky import preprocessors as bpp
from bluesky.utils import Msg

from ..contract.geometry import ar_from_q
from ..contract.names import PLAN_FLY, PLAN_STEP
from ..instrument import Instrument
from ..plan_stubs.modes import USAXS, set_mode
from .common import checked_metadata, plan_run_metadata, write_sample_pvs
from .step_law import step_positions


def dynamic_count_times(base: float, num: int) -> np.ndarray:
    """Count time per point: half of ``base`` in the first third, ``base``, then twice."""
    fraction = np.arange(num) / num
    return np.where(fraction < 1 / 3, base / 2, np.where(fraction < 2 / 3, base, 2 * base))


def _open_shutters(inst: Instrument) -> Generator[Msg, Any, None]:
    yield from bps.mv(inst.mono_shutter, "open", inst.usaxs_shutter, "open")


def Flyscan(  # noqa: N802 - the facility's plan name
    inst: Instrument,
    *,
    title: str,
    thickness_mm: float,
    user_name: str | None = None,
    start_above_center_deg: float = 0.0016,
    md: dict[str, Any] | None = None,
) -> Generator[Msg, Any, str]:
    """USAXS fly scan of the analyzer from above the peak to the Q of ``terms.finish``.

    Moves: mode to USAXS (stages only where needed), AR to its start; the
    fly-scan hardware then drives AR while the multichannel scaler counts.
    Emits one run with streams ``primary`` (per MCS channel: ``flyscan_ar``,
    ``flyscan_clock``, ``flyscan_I0``, ``flyscan_UPD``, ``flyscan_upd_range``),
    ``flyscan_pulses``, ``flyscan_range_changes`` and ``baseline``.
    Start keys: ``plan_name="Flyscan"``, ``title``, ``sample_thickness_mm``,
    ``user_name``, ``plan_args.scan_title``, ``hdf5_path``, ``hdf5_file``,
    ``ar_center_deg``, ``ar_start_deg``, ``q_max``, ``num_pulses``, ``scan_time_s``.
    Afterwards the USAXS shutter is closed and AR returns to its centre.
    A suspension (beam suspenders) during the trajectory aborts it and, on
    resume, flies the whole trajectory again; the run holds only that pass.
    Returns the run uid.
    """
    checked = yield from checked_metadata(
        inst, title=title, thickness_mm=thickness_mm, user_name=user_name, md=md
    )
    return (
        yield from _flyscan(
            inst,
            checked,
            title=title,
            thickness_mm=thickness_mm,
            start_above_center_deg=start_above_center_deg,
        )
    )


def _flyscan(
    inst: Instrument,
    checked: dict[str, Any],
    *,
    title: str,
    thickness_mm: float,
    start_above_center_deg: float = 0.0016,
) -> Generator[Msg, Any, str]:
    """:func:`Flyscan` with its sample metadata already checked (``checked_metadata``)."""
    start_md = yield from plan_run_metadata(
        inst,
        checked,
        PLAN_FLY,
        technique="usaxs",
        title=title,
        thickness_mm=thickness_mm,
        start_above_center_deg=start_above_center_deg,
    )
    terms = inst.terms
    center = yield from bps.rd(terms.ar_center)
    start_md.update(
        ar_center_deg=center,
        ar_start_deg=center + start_above_center_deg,
        q_max=(yield from bps.rd(terms.finish)),
        num_pulses=int((yield from bps.rd(inst.flyscan.num_pulses))),
        scan_time_s=(yield from bps.rd(terms.fs_scan_time)),
    )
    yield from write_sample_pvs(inst, title, thickness_mm)
    yield from set_mode(inst, USAXS)
    yield from bps.mv(
        terms.ar_start, center + start_above_center_deg, inst.upd_autorange.mode, "automatic"
    )
    yield from _open_shutters(inst)

    @bpp.run_decorator(md=start_md)
    def fly() -> Generator[Msg, Any, None]:
        # A suspension (beam loss) aborts the trajectory (UsaxsFlyer.pause) and
        # replays from here: the whole trajectory is flown again, and only the
        # complete pass is collected. After collect nothing is replayed.
        yield from bps.checkpoint()
        yield from bps.kickoff(inst.flyscan, wait=True)
        yield from bps.complete(inst.flyscan, wait=True)
        yield from bps.collect(inst.flyscan)
        yield from bps.checkpoint()

    def cleanup() -> Generator[Msg, Any, None]:
        yield from bps.mv(inst.usaxs_shutter, "close", inst.a_stage.r, center)

    return (yield from bpp.finalize_wrapper(fly(), cleanup()))


def uascan(
    inst: Instrument,
    *,
    title: str,
    thickness_mm: float,
    user_name: str | None = None,
    q_max: float | None = None,
    start_above_center_deg: float = 2.4e-4,
    min_step_deg: float | None = None,
    exponent: float = 1.2,
    intervals: int | None = None,
    count_time: float | None = None,
    dynamic_time: bool = True,
    md: dict[str, Any] | None = None,
) -> Generator[Msg, Any, str]:
    """USAXS step scan of the analyzer with the facility's step law.

    Defaults come from the instrument terms (``Finish`` Q, ``MinStep``,
    ``NumPoints``, ``CountTime``). At each point AR moves and the analyzer
    (``a_stage.x``) and photodiode (``d_stage.x``) follow the scattered beam
    (``SAD``/``SDD`` times tan of the angle), then the scaler counts.
    Emits one run: ``primary`` (``a_stage_r``, ``a_stage_x``, ``d_stage_x``,
    scaler channels ``I0``, ``I00``, ``UPD``, ``TRD``, ``scaler_time``,
    ``upd_autorange_lurange``, ``upd_ratio``) and ``baseline``.
    Start keys: ``plan_name="uascan"``, ``title``, ``sample_thickness_mm``,
    ``user_name``, ``plan_args``, ``hdf5_path``, ``hdf5_file``, ``center``,
    ``start``, ``finish``, ``minStep``, ``exponent``, ``intervals``,
    ``uascan_factor``. Returns the run uid; AR, AX and DX return afterwards.
    """
    checked = yield from checked_metadata(
        inst, title=title, thickness_mm=thickness_mm, user_name=user_name, md=md
    )
    return (
        yield from _uascan(
            inst,
            checked,
            title=title,
            thickness_mm=thickness_mm,
            q_max=q_max,
            start_above_center_deg=start_above_center_deg,
            min_step_deg=min_step_deg,
            exponent=exponent,
            intervals=intervals,
            count_time=count_time,
            dynamic_time=dynamic_time,
        )
    )


def _uascan(
    inst: Instrument,
    checked: dict[str, Any],
    *,
    title: str,
    thickness_mm: float,
    q_max: float | None = None,
    start_above_center_deg: float = 2.4e-4,
    min_step_deg: float | None = None,
    exponent: float = 1.2,
    intervals: int | None = None,
    count_time: float | None = None,
    dynamic_time: bool = True,
) -> Generator[Msg, Any, str]:
    """:func:`uascan` with its sample metadata already checked (``checked_metadata``)."""
    terms = inst.terms
    center = yield from bps.rd(terms.ar_center)
    wavelength = yield from bps.rd(inst.monochromator.wavelength)
    q_max = q_max if q_max is not None else (yield from bps.rd(terms.finish))
    min_step = min_step_deg if min_step_deg is not None else (yield from bps.rd(terms.min_step))
    intervals = int(intervals if intervals is not None else (yield from bps.rd(terms.num_points)))
    base_time = count_time if count_time is not None else (yield from bps.rd(terms.count_time))
    start = center + start_above_center_deg
    finish = float(ar_from_q(q_max, center, wavelength))
    positions = step_positions(start, center, finish, min_step, exponent, intervals)
    times = (
        dynamic_count_times(base_time, intervals) if dynamic_time else np.full(intervals, base_time)
    )

    start_md = yield from plan_run_metadata(
        inst,
        checked,
        PLAN_STEP,
        technique="usaxs",
        title=title,
        thickness_mm=thickness_mm,
        start=start,
        reference=center,
        finish=finish,
        minStep=min_step,
        exponent=exponent,
        intervals=intervals,
        count_time=base_time,
        useDynamicTime=dynamic_time,
    )
    sdd = yield from bps.rd(terms.sdd)
    sad = yield from bps.rd(terms.sad)
    start_md.update(
        center=center,
        start=start,
        finish=finish,
        minStep=min_step,
        exponent=exponent,
        intervals=intervals,
        SDD_mm=sdd,
        SAD_mm=sad,
        q_max=q_max,
    )
    yield from write_sample_pvs(inst, title, thickness_mm)
    yield from set_mode(inst, USAXS)
    ax0 = yield from bps.rd(inst.a_stage.x)
    dx0 = yield from bps.rd(inst.d_stage.x)
    ar0 = yield from bps.rd(inst.a_stage.r)
    yield from bps.mv(inst.upd_autorange.mode, "automatic")
    yield from _open_shutters(inst)
    detectors = [inst.scaler, inst.upd_autorange, inst.upd_ratio]
    motors = [inst.a_stage.r, inst.a_stage.x, inst.d_stage.x]

    @bpp.run_decorator(md=start_md)
    def steps() -> Generator[Msg, Any, None]:
        for ar, t in zip(positions, times, strict=True):
            yield from bps.checkpoint()  # a suspension (beam loss) resumes at this point
            offset = math.tan(math.radians(ar - center))
            yield from bps.mv(
                inst.a_stage.r,
                ar,
                inst.a_stage.x,
                ax0 + sad * offset,
                inst.d_stage.x,
                dx0 + sdd * offset,
                inst.scaler.preset_time,
                float(t),
            )
            yield from bps.trigger_and_read(detectors + motors)

    def cleanup() -> Generator[Msg, Any, None]:
        yield from bps.mv(
            inst.usaxs_shutter,
            "close",
            inst.a_stage.r,
            ar0,
            inst.a_stage.x,
            ax0,
            inst.d_stage.x,
            dx0,
        )

    return (yield from bpp.finalize_wrapper(steps(), cleanup()))


def USAXSscan(  # noqa: N802 - the facility's plan name
    inst: Instrument,
    x: float,
    y: float,
    thickness_mm: float,
    title: str,
    *,
    user_name: str | None = None,
    md: dict[str, Any] | None = None,
) -> Generator[Msg, Any, str]:
    """Move the sample to (``x``, ``y``) mm, then a fly scan (``terms.use_flyscan``) or a uascan.

    The metadata policy is checked and the run metadata built (once) before
    the sample moves. Emits the run of :func:`Flyscan` or :func:`uascan`,
    with ``sx``/``sy`` in its start document. Returns the run uid.
    """
    checked = yield from checked_metadata(
        inst,
        title=title,
        thickness_mm=thickness_mm,
        user_name=user_name,
        md={**(md or {}), "sx": x, "sy": y},
    )
    yield from bps.mv(inst.s_stage.x, x, inst.s_stage.y, y)
    fly = yield from bps.rd(inst.terms.use_flyscan)
    scan = _flyscan if int(fly) else _uascan
    return (yield from scan(inst, checked, title=title, thickness_mm=thickness_mm))
