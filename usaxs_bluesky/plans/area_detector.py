"""SAXS and WAXS exposures on the area detectors."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from bluesky import plan_stubs as bps
from bluesky import preprocessors as bpp
from bluesky.utils import Msg

from ..contract.names import PLAN_SAXS, PLAN_WAXS
from ..instrument import Instrument
from ..plan_stubs.modes import SAXS, WAXS, set_mode
from .common import sample_run_metadata, write_sample_pvs


def _exposure(
    inst: Instrument,
    detector_name: str,
    mode: str,
    plan_name: str,
    x: float,
    y: float,
    thickness_mm: float,
    title: str,
    user_name: str | None,
    acquire_time: float,
    num_images: int,
    md: dict[str, Any] | None,
) -> Generator[Msg, Any, str]:
    if acquire_time <= 0 or num_images < 1:
        raise ValueError(
            f"{plan_name}: acquire_time must be > 0 s and num_images >= 1, "
            f"got {acquire_time} and {num_images}"
        )
    start_md = yield from sample_run_metadata(
        inst,
        plan_name,
        technique=plan_name.lower(),
        title=title,
        thickness_mm=thickness_mm,
        user_name=user_name,
        md={**(md or {}), "sx": x, "sy": y},
        acquire_time=acquire_time,
        num_images=num_images,
    )
    det = getattr(inst, detector_name)
    yield from write_sample_pvs(inst, title, thickness_mm)
    yield from set_mode(inst, mode)
    yield from bps.mv(inst.s_stage.x, x, inst.s_stage.y, y)
    yield from bps.mv(
        det.cam.acquire_time,
        acquire_time,
        det.cam.num_images,
        num_images,
        inst.scaler.preset_time,
        acquire_time * num_images,
    )
    yield from bps.mv(inst.mono_shutter, "open", inst.usaxs_shutter, "open")

    @bpp.run_decorator(md=start_md)
    def expose() -> Generator[Msg, Any, None]:
        yield from bps.trigger_and_read([det, inst.scaler])

    def cleanup() -> Generator[Msg, Any, None]:
        yield from bps.mv(inst.usaxs_shutter, "close")

    return (yield from bpp.finalize_wrapper(expose(), cleanup()))


def saxsExp(  # noqa: N802 - the facility's plan name
    inst: Instrument,
    x: float,
    y: float,
    thickness_mm: float,
    title: str,
    *,
    user_name: str | None = None,
    acquire_time: float = 1.0,
    num_images: int = 1,
    md: dict[str, Any] | None = None,
) -> Generator[Msg, Any, str]:
    """SAXS exposure: mode SAXS, sample to (``x``, ``y``) mm, Pilatus frames with I0 counted.

    Emits one run: ``primary`` (``saxs_det_image`` (rows, columns), frame
    counter, scaler ``I0``... counted over the whole exposure) and
    ``baseline``; the detector geometry is in the descriptor's configuration.
    Start keys: ``plan_name="SAXS"``, ``title``, ``sample_thickness_mm``,
    ``user_name``, ``plan_args``, ``hdf5_path``, ``hdf5_file``, ``sx``, ``sy``.
    Returns the run uid.
    """
    return (
        yield from _exposure(
            inst,
            "saxs_det",
            SAXS,
            PLAN_SAXS,
            x,
            y,
            thickness_mm,
            title,
            user_name,
            acquire_time,
            num_images,
            md,
        )
    )


def waxsExp(  # noqa: N802 - the facility's plan name
    inst: Instrument,
    x: float,
    y: float,
    thickness_mm: float,
    title: str,
    *,
    user_name: str | None = None,
    acquire_time: float = 1.0,
    num_images: int = 1,
    md: dict[str, Any] | None = None,
) -> Generator[Msg, Any, str]:
    """WAXS exposure: as :func:`saxsExp` with the Eiger (``waxs_det``) and mode WAXS.

    Start keys as :func:`saxsExp` with ``plan_name="WAXS"``. Returns the run uid.
    """
    return (
        yield from _exposure(
            inst,
            "waxs_det",
            WAXS,
            PLAN_WAXS,
            x,
            y,
            thickness_mm,
            title,
            user_name,
            acquire_time,
            num_images,
            md,
        )
    )
