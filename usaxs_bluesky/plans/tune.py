"""Tuning plans: step an axis across its optimum, fit it, move there and store the centre.

Each ``tune_*`` plan opens one run (``plan_name`` = the plan's name) with

* ``primary``: the axis readback, the scaler channels, ``upd_autorange_lurange``
  and ``upd_ratio`` at every point;
* ``tune_result`` (one event): ``tune_success`` (bool), ``tune_center``,
  ``tune_fwhm``, ``tune_peak``, ``tune_previous`` (axis position before the
  tune) and ``tune_reason`` (empty on success);

and returns a :class:`~usaxs_bluesky.plans.peaks.TuneResult`. On success the
axis ends at the centre and the centre PV (``terms.ar_center``,
``terms.mr_center``, ``terms.diode_dx``, ``terms.diode_dy``) holds it; the
analyzer piezo ``a2rp`` has no centre PV: its optimum is the motor position
itself (recorded in ``tune_result`` and every baseline as ``a_stage_r2p``).
When no peak is found (no beam, flat signal, peak at the edge, fit failure,
unphysical width) the axis goes back where it was, the PV is unchanged, a
warning is logged and the result says why; nothing is raised.

The scan is centred on the stored centre (PV) when there is one, else on
the axis position. Every tune first puts the instrument in USAXS mode and
opens only the USAXS (fast) shutter, closing it afterwards; the mono shutter
is left as it is, so a closed mono shutter makes the tune fail (no beam).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky import preprocessors as bpp
from bluesky.utils import Msg
from ophyd import Signal

from ..instrument import Instrument
from ..plan_stubs.modes import USAXS, set_mode
from .common import current_user, run_metadata
from .peaks import TuneResult, find_peak, find_plateau

logger = logging.getLogger(__name__)

ARCSEC = 1.0 / 3600.0
#: Below this monitor rate (I0 counts/s, averaged over the scan) there is no beam.
MIN_I0_RATE = 1000.0


@dataclass(frozen=True)
class TuneSpec:
    """What one tune scans and how it finds the optimum.

    ``axis`` and ``center_pv`` are dotted instrument attributes
    (``"a_stage.r"``, ``"terms.ar_center"``); ``signal`` is the data key
    fitted (``"upd_ratio"`` or a scaler channel such as ``"I0"``); ``shape``
    is ``"lorentzian_squared"``, ``"gaussian"`` or ``"plateau"``;
    ``min_width``/``max_width`` bound the physical FWHM (plateau width as a
    fraction of ``terms.upd_size`` when ``relative_width``).
    """

    plan_name: str
    axis: str
    center_pv: str | None
    width: float
    num: int
    count_time: float
    signal: str
    shape: str
    min_width: float
    max_width: float
    relative_width: bool = False
    ar_at_center: bool = False


SPECS: dict[str, TuneSpec] = {
    "tune_mr": TuneSpec(
        "tune_mr", "m_stage.r", "terms.mr_center", 12 * ARCSEC, 31, 0.2, "I0",
        "lorentzian_squared", 0.5 * ARCSEC, 15 * ARCSEC,
    ),
    "tune_ar": TuneSpec(
        "tune_ar", "a_stage.r", "terms.ar_center", 8 * ARCSEC, 31, 0.2, "upd_ratio",
        "lorentzian_squared", 0.5 * ARCSEC, 10 * ARCSEC,
    ),
    "tune_a2rp": TuneSpec(
        "tune_a2rp", "a_stage.r2p", None, 16.0, 31, 0.2, "upd_ratio", "gaussian", 1.0, 20.0,
        ar_at_center=True,
    ),
    "tune_dx": TuneSpec(
        "tune_dx", "d_stage.x", "terms.diode_dx", 11.0, 45, 0.2, "upd_ratio", "plateau",
        0.5, 1.5, relative_width=True, ar_at_center=True,
    ),
    "tune_dy": TuneSpec(
        "tune_dy", "d_stage.y", "terms.diode_dy", 11.0, 45, 0.2, "upd_ratio", "plateau",
        0.5, 1.5, relative_width=True, ar_at_center=True,
    ),
}  # fmt: skip
"""Defaults of every tune: widths cover several FWHM (AR 2", MR 3", piezo 4 V,
photodiode plateau UPDsize 5.4 mm with 0.3 mm edges) with >= 4 points per FWHM."""

PRE_USAXS_ORDER = ("tune_mr", "tune_ar", "tune_a2rp", "tune_dx", "tune_dy")
"""preUSAXStune order: the collimator first (it defines the beam every later
tune sees, and its signal is I0), then the analyzer angle, the analyzer
piezo at the AR peak, and last the photodiode position with AR at its centre."""


def _attr(inst: Instrument, dotted: str) -> Any:
    device, *rest = dotted.split(".")
    obj = getattr(inst, device)
    for part in rest:
        obj = getattr(obj, part)
    return obj


class _ResultSignals:
    """Soft signals read once into the ``tune_result`` stream."""

    def __init__(self) -> None:
        self.success = Signal(name="tune_success", value=False)
        self.center = Signal(name="tune_center", value=math.nan)
        self.fwhm = Signal(name="tune_fwhm", value=math.nan)
        self.peak = Signal(name="tune_peak", value=math.nan)
        self.previous = Signal(name="tune_previous", value=math.nan)
        self.reason = Signal(name="tune_reason", value="")

    def record(self, result: TuneResult, previous: float) -> Generator[Msg, Any, None]:
        # plain puts: local soft signals, and a set() would wait forever for a NaN to "arrive"
        self.success.put(bool(result.success))
        self.center.put(float(result.center))
        self.fwhm.put(float(result.fwhm))
        self.peak.put(float(result.peak))
        self.previous.put(float(previous))
        self.reason.put(result.reason)
        yield from bps.trigger_and_read(
            [self.success, self.center, self.fwhm, self.peak, self.previous, self.reason],
            name="tune_result",
        )


def evaluate(spec: TuneSpec, x: np.ndarray, y: np.ndarray, upd_size: float) -> TuneResult:
    """Find the optimum of one tune's scan data (``x`` positions, ``y`` signal)."""
    scale = upd_size if spec.relative_width else 1.0
    if spec.shape == "plateau":
        return find_plateau(
            x, y, min_width=spec.min_width * scale, max_width=spec.max_width * scale
        )
    return find_peak(x, y, model=spec.shape, min_fwhm=spec.min_width, max_fwhm=spec.max_width)


def tune_metadata(
    inst: Instrument,
    plan_name: str,
    title: str | None,
    thickness_mm: float | None,
    user_name: str | None,
    md: dict[str, Any] | None,
    **plan_args: Any,
) -> Generator[Msg, Any, dict[str, Any]]:
    """Checked start metadata of a tune; title/thickness default to the sample PVs (reads only)."""
    if title is None:
        title = str((yield from bps.rd(inst.sample_data.title)) or "").strip()
    if thickness_mm is None:
        thickness_mm = float((yield from bps.rd(inst.sample_data.thickness)))
    user = yield from current_user(inst, user_name)
    return run_metadata(
        plan_name, title=title, thickness_mm=thickness_mm, user_name=user, md=md, **plan_args
    )


def tune_axis(
    inst: Instrument,
    spec: TuneSpec,
    *,
    width: float | None = None,
    num: int | None = None,
    count_time: float | None = None,
    title: str | None = None,
    thickness_mm: float | None = None,
    user_name: str | None = None,
    md: dict[str, Any] | None = None,
) -> Generator[Msg, Any, TuneResult]:
    """Run the tune described by ``spec`` (see the module docstring); returns its result."""
    width = spec.width if width is None else float(width)
    num = spec.num if num is None else int(num)
    count_time = spec.count_time if count_time is None else float(count_time)
    if not (width > 0 and num >= 5 and count_time > 0):
        raise ValueError(
            f"{spec.plan_name}: width must be > 0, num >= 5 and count_time > 0 s, "
            f"got {width}, {num}, {count_time}"
        )
    axis = _attr(inst, spec.axis)
    center_pv = _attr(inst, spec.center_pv) if spec.center_pv else None
    previous = float((yield from bps.rd(axis)))
    center0 = float((yield from bps.rd(center_pv))) if center_pv is not None else previous
    positions = np.linspace(center0 - width / 2, center0 + width / 2, num)
    low, high = axis.limits
    if low < high and (positions[0] < low or positions[-1] > high):
        raise ValueError(
            f"{spec.plan_name}: scan {positions[0]:.6g}..{positions[-1]:.6g} of {axis.name} "
            f"is outside its limits {low:.6g}..{high:.6g}"
        )
    start_md = yield from tune_metadata(
        inst, spec.plan_name, title, thickness_mm, user_name, md,
        width=width, num=num, count_time=count_time,
    )  # fmt: skip
    start_md.update(
        tune_axis=axis.name,
        tune_signal=spec.signal,
        tune_shape=spec.shape,
        tune_center_pv=getattr(center_pv, "pvname", None),
        tune_start_center=center0,
        tune_previous=previous,
    )
    upd_size = float((yield from bps.rd(inst.terms.upd_size)))

    yield from set_mode(inst, USAXS)
    if spec.ar_at_center:
        yield from bps.mv(inst.a_stage.r, (yield from bps.rd(inst.terms.ar_center)))
    yield from bps.mv(inst.upd_autorange.mode, "automatic", inst.scaler.preset_time, count_time)
    yield from bps.mv(inst.usaxs_shutter, "open")
    detectors = [inst.scaler, inst.upd_autorange, inst.upd_ratio, axis]
    outcome: dict[str, TuneResult] = {}

    @bpp.run_decorator(md=start_md)
    def scan() -> Generator[Msg, Any, None]:
        xs, ys, i0s = [], [], []
        for position in positions:
            yield from bps.checkpoint()
            yield from bps.mv(axis, float(position))
            reading = yield from bps.trigger_and_read(detectors)
            xs.append(reading[axis.name]["value"])
            ys.append(reading[spec.signal]["value"])
            i0s.append(reading["I0"]["value"])
        i0_rate = float(np.mean(i0s)) / count_time
        if i0_rate < MIN_I0_RATE:
            result = TuneResult.failed(
                f"no beam: monitor I0 {i0_rate:.3g} counts/s < {MIN_I0_RATE:g}"
            )
        else:
            result = evaluate(spec, np.asarray(xs), np.asarray(ys), upd_size)
        outcome["result"] = result
        if result.success:
            yield from bps.mv(axis, result.center)
            if center_pv is not None:
                yield from bps.mv(center_pv, result.center)
        else:
            yield from bps.mv(axis, previous)
        yield from _ResultSignals().record(result, previous)

    def cleanup() -> Generator[Msg, Any, None]:
        if "result" not in outcome:
            yield from bps.mv(axis, previous)
        yield from bps.mv(inst.usaxs_shutter, "close")

    yield from bpp.finalize_wrapper(scan(), cleanup())
    result = outcome["result"]
    if result.success:
        logger.info(
            "%s: %s centre %.8g (FWHM %.3g, peak %.4g), was %.8g",
            spec.plan_name, axis.name, result.center, result.fwhm, result.peak, previous,
        )  # fmt: skip
    else:
        logger.warning(
            "%s failed: %s; %s restored to %.8g", spec.plan_name, result.reason, axis.name, previous
        )
    return result


def _tune_plan(name: str):
    spec = SPECS[name]

    def plan(
        inst: Instrument,
        *,
        width: float | None = None,
        num: int | None = None,
        count_time: float | None = None,
        title: str | None = None,
        thickness_mm: float | None = None,
        user_name: str | None = None,
        md: dict[str, Any] | None = None,
    ) -> Generator[Msg, Any, TuneResult]:
        return (
            yield from tune_axis(
                inst, spec, width=width, num=num, count_time=count_time, title=title,
                thickness_mm=thickness_mm, user_name=user_name, md=md,
            )
        )  # fmt: skip

    plan.__name__ = plan.__qualname__ = name
    unit = "V" if spec.shape == "gaussian" else ("mm" if spec.shape == "plateau" else "deg")
    plan.__doc__ = (
        f"Tune ``{spec.axis}`` on ``{spec.signal}`` ({spec.shape}); stores the centre in "
        f"``{spec.center_pv or 'the motor position only'}``.\n\n"
        f"Defaults: ``width={spec.width:.6g}`` {unit} (full), ``num={spec.num}`` points, "
        f"``count_time={spec.count_time}`` s. ``title``/``thickness_mm`` default to the sample "
        "PVs, ``user_name`` to the user PV. One run, streams ``primary``, ``tune_result``, "
        "``baseline``; returns a :class:`~usaxs_bluesky.plans.peaks.TuneResult`."
    )
    return plan


TUNES = {name: _tune_plan(name) for name in SPECS}
tune_mr = TUNES["tune_mr"]
tune_ar = TUNES["tune_ar"]
tune_a2rp = TUNES["tune_a2rp"]
tune_dx = TUNES["tune_dx"]
tune_dy = TUNES["tune_dy"]


def preUSAXStune(  # noqa: N802 - the facility's plan name
    inst: Instrument,
    *,
    tunes: tuple[str, ...] = PRE_USAXS_ORDER,
    title: str | None = None,
    thickness_mm: float | None = None,
    user_name: str | None = None,
    md: dict[str, Any] | None = None,
) -> Generator[Msg, Any, dict[str, TuneResult]]:
    """Run the tunes in ``tunes`` (default :data:`PRE_USAXS_ORDER`), one run each.

    A failed tune restores its axis and the next ones still run (each
    starts from the stored centres). Returns {tune name: TuneResult}.
    """
    unknown = [t for t in tunes if t not in TUNES]
    if unknown:
        raise ValueError(f"preUSAXStune: unknown tunes {unknown}; allowed: {list(TUNES)}")
    results: dict[str, TuneResult] = {}
    for name in tunes:
        results[name] = yield from TUNES[name](
            inst, title=title, thickness_mm=thickness_mm, user_name=user_name, md=md
        )
    return results
