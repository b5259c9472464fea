"""Run a batch command file (text or .xlsx, see :mod:`.command_parser`) line by line.

Everything is checked before anything moves: the file (actions, numbers,
quotes, sample names, thickness), the sample positions against the sample
stage limits (read from the motor records) and the run metadata (user
name; for tune lines the sample PVs; each sample line's per-sample values
against the loaded metadata request). Each line then runs as its own
run(s), so a failure keeps the data of the earlier lines; the failure is
raised as :class:`~.command_parser.CommandFileError` naming ``file:line``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bluesky import plan_stubs as bps
from bluesky.utils import Msg, RequestAbort, RequestStop

from ..contract.names import SAXS_EXP, THICKNESS_MM, TITLE, USAXS_SCAN, USER_NAME, WAXS_EXP
from ..instrument import Instrument
from ..metadata.policy import metadata_problems
from ..metadata.request_model import MetadataRequests
from ..metadata.requests import per_sample_problems
from ..plan_stubs.modes import OUT_OF_BEAM, SAXS, USAXS, WAXS, set_mode
from .area_detector import saxsExp, waxsExp
from .command_parser import (
    Command,
    CommandFileError,
    limit_problems,
    parse_command_file,
    per_sample_line_problems,
)
from .common import PER_SAMPLE, current_user, loaded_requests, requested_metadata
from .transmission import measure_transmission
from .tune import TUNES, preUSAXStune
from .usaxs import USAXSscan

logger = logging.getLogger(__name__)

Plan = Generator[Msg, Any, Any]
PlanSource = Callable[[], Plan] | Plan

MODES = {"mode_usaxs": USAXS, "mode_saxs": SAXS, "mode_waxs": WAXS, "mode_out": OUT_OF_BEAM}
SAMPLE_PLANS = {USAXS_SCAN: USAXSscan, SAXS_EXP: saxsExp, WAXS_EXP: waxsExp}
#: Transmission measured before each sample line of these actions (technique of the stub).
TRANSMISSION = {USAXS_SCAN: "usaxs", SAXS_EXP: "saxs"}


def _plan(source: PlanSource) -> Plan:
    return source() if callable(source) else source


def stage_limits(inst: Instrument) -> Generator[Msg, Any, dict[str, tuple[float, float]]]:
    """The sample stage's soft limits (mm) from the motor records (reads only)."""
    limits = {}
    for name, motor in (("sx", inst.s_stage.x), ("sy", inst.s_stage.y)):
        low = yield from bps.rd(motor.low_limit_travel)
        high = yield from bps.rd(motor.high_limit_travel)
        limits[name] = (float(low), float(high))
    return limits


@dataclass(frozen=True)
class CheckContext:
    """What a command file is checked against besides its own text.

    ``limits``: {"sx": (low, high), "sy": ...} in mm (low >= high: no limits);
    ``requests``: the loaded metadata request (None: none loaded); ``user``:
    the user name ('' when unknown); ``sample_pvs``: (title PV name, thickness
    PV name, title, thickness) that tune lines take, or None to skip that check.
    """

    limits: dict[str, tuple[float, float]]
    requests: MetadataRequests | None
    user: str | None
    sample_pvs: tuple[str, str, str, float] | None


def command_file_problems(
    path: str | Path, context: CheckContext
) -> tuple[list[Command], list[str]]:
    """Return the commands of the file and every problem, each as ``file:line: ...``.

    Plain Python: what :func:`check_command_file` checks, on values already read.
    """
    commands, problems = parse_command_file(path)
    problems += limit_problems(commands, context.limits)
    problems += per_sample_line_problems(
        commands, lambda values: per_sample_problems(context.requests, values)
    )
    if context.user == "":
        problems.append(f"{path}: no user name (argument user_name or the user PV)")
    tunes = [c for c in commands if c.action in TUNES or c.action == "preUSAXStune"]
    if tunes and context.sample_pvs is not None:
        title_pv, thickness_pv, title, thickness = context.sample_pvs
        md = {TITLE: title, THICKNESS_MM: thickness, USER_NAME: context.user or "-"}
        for p in metadata_problems(md):
            problems.append(
                f"{tunes[0].where}: tune lines take the sample PVs"
                f" ({title_pv}, {thickness_pv}): {p}"
            )
    return commands, problems


def check_command_file(
    inst: Instrument, path: str | Path, *, user_name: str | None = None
) -> Generator[Msg, Any, tuple[list[Command], str]]:
    """Parse and check the whole file (reads only); return its commands and the user name.

    Raises :class:`CommandFileError` listing every problem as ``file:line: ...``.
    """
    limits = yield from stage_limits(inst)
    requests = yield from loaded_requests(inst)
    user = yield from current_user(inst, user_name)
    title = str((yield from bps.rd(inst.sample_data.title)) or "").strip()
    thickness = float((yield from bps.rd(inst.sample_data.thickness)))
    sample_pvs = (
        inst.sample_data.title.pvname,
        inst.sample_data.thickness.pvname,
        title,
        thickness,
    )
    commands, problems = command_file_problems(
        path, CheckContext(limits, requests, user, sample_pvs)
    )
    if problems:
        raise CommandFileError(problems)
    return commands, user


def run_command(
    inst: Instrument, command: Command, user: str, *, transmission: bool = True
) -> Generator[Msg, Any, Any]:
    """Run one command; its runs carry ``command_file``, ``command_line``, ``command_text``.

    Sample lines pass their per-sample values as ``md["per_sample"]``; the
    requested metadata is checked before the sample moves.
    Returns what the line's plan returns (run uid, TuneResult(s), moved axes).
    """
    md: dict[str, Any] = {
        "command_file": command.source,
        "command_line": command.line,
        "command_text": command.text,
    }
    if command.action in MODES:
        return (yield from set_mode(inst, MODES[command.action]))
    if command.action == "preUSAXStune":
        return (yield from preUSAXStune(inst, user_name=user, md=md))
    if command.action in TUNES:
        return (yield from TUNES[command.action](inst, user_name=user, md=md))
    md[PER_SAMPLE] = dict(command.per_sample)
    if transmission and command.action in TRANSMISSION:
        yield from requested_metadata(inst, md[PER_SAMPLE])  # refuse before the move
        yield from bps.mv(inst.s_stage.x, command.x, inst.s_stage.y, command.y)
        md.update((yield from measure_transmission(inst, TRANSMISSION[command.action])))
    plan = SAMPLE_PLANS[command.action]
    return (
        yield from plan(
            inst, command.x, command.y, command.thickness_mm, command.title, user_name=user, md=md
        )
    )


def run_command_file(
    inst: Instrument,
    path: str | Path,
    *,
    before: PlanSource | None = None,
    after: PlanSource | None = None,
    every_n: int | None = None,
    hook: Callable[[], Plan] | None = None,
    user_name: str | None = None,
    transmission: bool = True,
) -> Generator[Msg, Any, list[tuple[int, str, Any]]]:
    """Check the whole file, then run ``before``, every line, ``after``.

    ``before``/``after``: a plan (or a callable returning one), e.g.
    ``lambda: preUSAXStune(inst)``. ``hook`` (a callable returning a plan) runs
    after every ``every_n`` sample measurements while lines remain.
    ``transmission``: measure the USAXS/SAXS transmission before each
    USAXSscan/saxsExp line (its keys go into that run's start document).
    Emits the runs of each line's plan; returns [(line, action, result)].
    Raises :class:`CommandFileError` before anything moves when the file is
    wrong, and ``file:line: <action> failed: ...`` when a line fails (the
    runs of earlier lines are complete and kept).
    """
    if (every_n is None) != (hook is None):
        raise ValueError("every_n and hook go together: give both or neither")
    if every_n is not None and every_n < 1:
        raise ValueError(f"every_n must be >= 1, got {every_n}")
    commands, user = yield from check_command_file(inst, path, user_name=user_name)
    if before is not None:
        yield from _plan(before)
    results: list[tuple[int, str, Any]] = []
    samples_done = 0
    for index, command in enumerate(commands):
        logger.info("%s: %s", command.where, command.text)
        try:
            result = yield from run_command(inst, command, user, transmission=transmission)
        except (RequestAbort, RequestStop, GeneratorExit):
            raise
        except Exception as exc:
            raise CommandFileError(
                [f"{command.where}: {command.action} failed: {type(exc).__name__}: {exc}"]
            ) from exc
        results.append((command.line, command.action, result))
        if command.is_sample:
            samples_done += 1
            more = index + 1 < len(commands)
            if hook is not None and more and samples_done % every_n == 0:
                yield from hook()
    if after is not None:
        yield from _plan(after)
    return results
