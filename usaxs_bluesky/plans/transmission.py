"""Sample transmission: count the transmission diode (scaler channel TRD) against I0.

The diode sits behind the sample; its counts over I0 counts (each divided
by its amplifier gain) give the transmission relative to the blank. The
values go where the reduction finds them:

* USAXS: start keys ``trans_pin_counts``, ``trans_pin_gain``,
  ``trans_pin_time`` (s), ``trans_I0_counts``, ``trans_I0_gain``,
  ``measure_trans_pin`` (the NeXus writer puts them under
  ``/entry/metadata/<key>``) and the PVs ``usxLAX:USAXS:TR_pinCounts``,
  ``TR_pinGain``, ``TR_I0Counts``, ``TR_I0Gain`` (so the baseline has them too
  once ``UsaxsTerms`` reads them);
* SAXS / WAXS: start keys ``Pin_TrPD``, ``Pin_TrPDgain``, ``Pin_TrI0``,
  ``Pin_TrI0gain``, ``Pin_TrTime`` (s) (``/entry/Metadata/<key>`` in NXsas).

Each set also has ``transmission_sources``: {key: source PV}. The plan
stubs here open no run; :func:`transmission` is a plan that does.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

from bluesky import plan_stubs as bps
from bluesky import preprocessors as bpp
from bluesky.utils import Msg
from ophyd import Device

from ..instrument import Instrument
from ..plan_stubs.modes import SAXS, USAXS, WAXS, set_mode
from .common import sample_run_metadata

logger = logging.getLogger(__name__)

#: Below this monitor rate (I0 counts/s) the transmission is logged as measured without beam.
MIN_I0_RATE = 1000.0
TECHNIQUES = {"usaxs": USAXS, "saxs": SAXS, "waxs": WAXS}


def scaler_channel(inst: Instrument, channel_name: str) -> Generator[Msg, Any, Device]:
    """Return the scaler channel whose ``.NMn`` name is ``channel_name`` (names read by ``rd``)."""
    for attr in inst.scaler.channels.component_names:
        channel = getattr(inst.scaler.channels, attr)
        if (yield from bps.rd(channel.chname)) == channel_name:
            return channel
    raise LookupError(f"{inst.scaler.name} has no channel named {channel_name!r}")


def _count(inst: Instrument, count_time: float) -> Generator[Msg, Any, dict[str, Any]]:
    """Count the scaler once with the USAXS shutter open; return counts, gains and PV names."""
    yield from bps.mv(inst.scaler.preset_time, count_time)
    yield from bps.mv(inst.usaxs_shutter, "open")
    try:
        yield from bps.trigger(inst.scaler, wait=True)
    finally:
        yield from bps.mv(inst.usaxs_shutter, "close")
    trd = yield from scaler_channel(inst, "TRD")
    i0 = yield from scaler_channel(inst, "I0")
    values = {
        "pin": float((yield from bps.rd(trd.s))),
        "i0": float((yield from bps.rd(i0.s))),
        "pin_gain": float((yield from bps.rd(inst.amplifier_gains.TRD))),
        "i0_gain": float((yield from bps.rd(inst.amplifier_gains.I0))),
        "pin_pv": trd.s.pvname,
        "i0_pv": i0.s.pvname,
        "pin_gain_pv": inst.amplifier_gains.TRD.pvname,
        "i0_gain_pv": inst.amplifier_gains.I0.pvname,
    }
    if values["i0"] / count_time < MIN_I0_RATE:
        logger.warning(
            "transmission measured without beam: I0 %.3g counts/s < %g",
            values["i0"] / count_time,
            MIN_I0_RATE,
        )
    return values


def measure_usaxs_transmission(
    inst: Instrument, *, count_time: float | None = None
) -> Generator[Msg, Any, dict[str, Any]]:
    """USAXS transmission: mode USAXS, AX to ``TR_AxPosition``, count, AX back; opens no run.

    Skipped (``measure_trans_pin=0`` and no counts) when ``TR_MeasurePinTrans``
    is 0. Writes ``TR_pinCounts``/``TR_pinGain``/``TR_I0Counts``/``TR_I0Gain``
    and returns the USAXS start keys listed in the module docstring.
    """
    tr = inst.terms
    if not int((yield from bps.rd(tr.tr_measure))):
        return {
            "measure_trans_pin": 0,
            "transmission_sources": {"measure_trans_pin": tr.tr_measure.pvname},
        }
    count_time = float(count_time or (yield from bps.rd(tr.tr_count_time)))
    yield from set_mode(inst, USAXS)
    ax0 = yield from bps.rd(inst.a_stage.x)
    yield from bps.mv(inst.a_stage.x, (yield from bps.rd(tr.tr_ax_position)))
    try:
        v = yield from _count(inst, count_time)
    finally:
        yield from bps.mv(inst.a_stage.x, ax0)
    yield from bps.mv(
        tr.tr_pin_counts, v["pin"], tr.tr_pin_gain, v["pin_gain"],
        tr.tr_I0_counts, v["i0"], tr.tr_I0_gain, v["i0_gain"],
    )  # fmt: skip
    return {
        "measure_trans_pin": 1,
        "trans_pin_counts": v["pin"],
        "trans_pin_gain": v["pin_gain"],
        "trans_pin_time": count_time,
        "trans_I0_counts": v["i0"],
        "trans_I0_gain": v["i0_gain"],
        "transmission_sources": {
            "measure_trans_pin": tr.tr_measure.pvname,
            "trans_pin_counts": f"{tr.tr_pin_counts.pvname} (from {v['pin_pv']})",
            "trans_pin_gain": f"{tr.tr_pin_gain.pvname} (from {v['pin_gain_pv']})",
            "trans_pin_time": tr.tr_count_time.pvname,
            "trans_I0_counts": f"{tr.tr_I0_counts.pvname} (from {v['i0_pv']})",
            "trans_I0_gain": f"{tr.tr_I0_gain.pvname} (from {v['i0_gain_pv']})",
        },
    }


def measure_area_transmission(
    inst: Instrument, *, technique: str = "saxs", count_time: float | None = None
) -> Generator[Msg, Any, dict[str, Any]]:
    """SAXS/WAXS transmission: mode of ``technique``, count; opens no run.

    Returns ``Pin_TrPD``, ``Pin_TrPDgain``, ``Pin_TrI0``, ``Pin_TrI0gain``,
    ``Pin_TrTime`` and ``transmission_sources``. (The simulator serves no
    SAXS transmission PVs; the values live in the start document only.)
    """
    if technique not in ("saxs", "waxs"):
        raise ValueError(f"technique must be 'saxs' or 'waxs', got {technique!r}")
    tr = inst.terms
    count_time = float(count_time or (yield from bps.rd(tr.tr_count_time)))
    yield from set_mode(inst, TECHNIQUES[technique])
    v = yield from _count(inst, count_time)
    return {
        "Pin_TrPD": v["pin"],
        "Pin_TrPDgain": v["pin_gain"],
        "Pin_TrI0": v["i0"],
        "Pin_TrI0gain": v["i0_gain"],
        "Pin_TrTime": count_time,
        "transmission_sources": {
            "Pin_TrPD": v["pin_pv"],
            "Pin_TrPDgain": v["pin_gain_pv"],
            "Pin_TrI0": v["i0_pv"],
            "Pin_TrI0gain": v["i0_gain_pv"],
            "Pin_TrTime": inst.scaler.preset_time.pvname,
        },
    }


def measure_transmission(
    inst: Instrument, technique: str, *, count_time: float | None = None
) -> Generator[Msg, Any, dict[str, Any]]:
    """The transmission stub of ``technique`` (``usaxs``, ``saxs`` or ``waxs``); opens no run."""
    if technique == "usaxs":
        return (yield from measure_usaxs_transmission(inst, count_time=count_time))
    return (yield from measure_area_transmission(inst, technique=technique, count_time=count_time))


def transmission_ratio(md: dict[str, Any]) -> float:
    """``(pin / pin_gain) / (I0 / I0_gain)`` from either key set (relative to the blank's)."""
    if "trans_pin_counts" in md:
        keys = ("trans_pin_counts", "trans_pin_gain", "trans_I0_counts", "trans_I0_gain")
    else:
        keys = ("Pin_TrPD", "Pin_TrPDgain", "Pin_TrI0", "Pin_TrI0gain")
    pin, pin_gain, i0, i0_gain = (float(md[k]) for k in keys)
    return (pin / pin_gain) / (i0 / i0_gain) if i0 > 0 else float("nan")


def transmission(
    inst: Instrument,
    x: float,
    y: float,
    thickness_mm: float,
    title: str,
    *,
    technique: str = "usaxs",
    user_name: str | None = None,
    count_time: float | None = None,
    md: dict[str, Any] | None = None,
) -> Generator[Msg, Any, str]:
    """Move the sample to (``x``, ``y``) mm and measure its transmission, as one run.

    Emits one run ``plan_name="transmission"`` whose start document carries
    the keys of :func:`measure_transmission` plus ``technique``, ``sx``,
    ``sy``; streams ``primary`` (one reading of the scaler after the count)
    and ``baseline``. Returns the run uid.
    """
    if technique not in TECHNIQUES:
        raise ValueError(f"technique must be one of {sorted(TECHNIQUES)}, got {technique!r}")
    start_md = yield from sample_run_metadata(
        inst,
        "transmission",
        technique=None,
        title=title,
        thickness_mm=thickness_mm,
        user_name=user_name,
        md={**(md or {}), "sx": x, "sy": y, "technique": technique},
        count_time=count_time,
    )
    yield from bps.mv(inst.s_stage.x, x, inst.s_stage.y, y)
    start_md.update((yield from measure_transmission(inst, technique, count_time=count_time)))

    @bpp.run_decorator(md=start_md)
    def record() -> Generator[Msg, Any, None]:
        yield from bps.create("primary")
        yield from bps.read(inst.scaler)
        yield from bps.save()

    return (yield from record())
