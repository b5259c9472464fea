"""Suspend scans while there is no beam and resume them when it is back.

A suspender trips when the storage ring current falls below a threshold or
the mono shutter closes. The RunEngine then stops the motors, rewinds the
plan to its last ``checkpoint`` (dropping a reading still being bundled)
and waits; once the beam is back for ``resume_delay_s`` it replays the
messages since that checkpoint. A plan that checkpoints before each point
(``bps.checkpoint()``; ``bp.scan`` and the tunes do) therefore neither
loses nor duplicates a point. A plan without checkpoints in its run is
replayed from the start of its run.
"""

from __future__ import annotations

from bluesky import RunEngine
from bluesky.suspenders import SuspendBoolLow, SuspenderBase, SuspendFloor

from ..instrument import Instrument

#: Storage ring current (mA) below which there is no usable beam.
MIN_CURRENT_MA = 2.0


def beam_suspenders(
    inst: Instrument,
    *,
    min_current_mA: float = MIN_CURRENT_MA,  # noqa: N803 - unit in the name
    resume_current_mA: float | None = None,  # noqa: N803
    resume_delay_s: float = 10.0,
) -> list[SuspenderBase]:
    """The suspenders on ``beam_current`` (mA) and ``mono_shutter.state`` (not yet installed).

    ``resume_current_mA`` (default ``min_current_mA``) must be reached again,
    and held for ``resume_delay_s`` seconds, before the scan resumes.
    """
    resume = min_current_mA if resume_current_mA is None else resume_current_mA
    if resume < min_current_mA:
        raise ValueError(
            f"resume_current_mA ({resume}) must be >= min_current_mA ({min_current_mA})"
        )
    return [
        SuspendFloor(
            inst.beam_current,
            suspend_thresh=min_current_mA,
            resume_thresh=resume,
            sleep=resume_delay_s,
            tripped_message=(f"no beam: {inst.beam_current.pvname} below {min_current_mA:g} mA"),
        ),
        SuspendBoolLow(
            inst.mono_shutter.state,
            sleep=resume_delay_s,
            tripped_message=f"mono shutter closed ({inst.mono_shutter.state.pvname} = 0)",
        ),
    ]


def install_beam_suspenders(
    RE: RunEngine,
    inst: Instrument,
    *,
    min_current_mA: float = MIN_CURRENT_MA,  # noqa: N803
    resume_current_mA: float | None = None,  # noqa: N803
    resume_delay_s: float = 10.0,
) -> list[SuspenderBase]:
    """Install :func:`beam_suspenders` on ``RE``; return them (for ``RE.remove_suspender``)."""
    suspenders = beam_suspenders(
        inst,
        min_current_mA=min_current_mA,
        resume_current_mA=resume_current_mA,
        resume_delay_s=resume_delay_s,
    )
    for suspender in suspenders:
        RE.install_suspender(suspender)
    return suspenders
