"""The plans RE Manager exposes: the IPython profile's plans bound to the instrument.

Each plan of :data:`MEASUREMENTS`, :data:`STAFF_PLANS` keeps its name, docstring
and typed parameters minus the leading ``inst`` (bluesky-queueserver reads the
signatures to describe them in ``existing_plans_and_devices.yaml``).
:func:`command_line` runs one line of a command file exactly as
``run_command_file`` does; ``usaxs queue submit`` queues one item per line.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Generator
from typing import Any

from bluesky import plan_stubs as bps
from bluesky.utils import Msg

from ..contract.names import PLAN_FLY, PLAN_STEP, SAXS_EXP, USAXS_SCAN, WAXS_EXP
from ..instrument import Instrument
from ..plan_stubs.modes import set_mode
from ..plans import alignment, area_detector, counting, transmission, tune, usaxs
from ..plans.command_file import run_command, run_command_file
from ..plans.command_parser import CommandFileError, parse_fields
from ..plans.common import current_user
from ..plans.remote_ops import remote_ops as remote_ops_mode
from ..plans.remote_ops import remote_ops_pvs

Plan = Generator[Msg, Any, Any]

MEASUREMENTS: dict[str, Callable[..., Plan]] = {
    USAXS_SCAN: usaxs.USAXSscan,
    PLAN_FLY: usaxs.Flyscan,
    PLAN_STEP: usaxs.uascan,
    SAXS_EXP: area_detector.saxsExp,
    WAXS_EXP: area_detector.waxsExp,
    "count_sample": counting.count_sample,
    "transmission": transmission.transmission,
    "run_command_file": run_command_file,
}
"""Measurement plans (the ``users`` group may run these and :func:`command_line`)."""
STAFF_PLANS: dict[str, Callable[..., Plan]] = {
    "set_mode": set_mode,
    "rocking_curve": alignment.rocking_curve,
    "preUSAXStune": tune.preUSAXStune,
    **tune.TUNES,
}
"""Tunes, alignment and mode changes (``staff`` only; raw moves are bluesky's ``mv``/``mvr``)."""
NOT_QUEUEABLE = {"before", "after", "hook", "every_n"}
"""Parameters taking plans or callables, and ``every_n`` (goes with ``hook``): left at None."""


def _queue_annotation(annotation: Any) -> Any:
    """The annotation as queueserver can rebuild it, or ``inspect.Parameter.empty``."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return inspect.Parameter.empty
    text = inspect.formatannotation(annotation)
    try:
        eval(text, {"typing": typing, "NoneType": type(None)})  # noqa: S307 - what queueserver does
    except Exception:  # noqa: BLE001 - not rebuildable by queueserver either
        return inspect.Parameter.empty
    return annotation if "Any" not in text else inspect.Parameter.empty


def bind(plan: Callable[..., Plan], inst: Instrument) -> Callable[..., Plan]:
    """``plan`` with ``inst`` bound: same name and docstring, signature without ``inst``."""
    signature = inspect.signature(plan, eval_str=True)
    parameters = [
        p.replace(annotation=_queue_annotation(p.annotation))
        for p in list(signature.parameters.values())[1:]
        if p.name not in NOT_QUEUEABLE
    ]

    @functools.wraps(plan)
    def bound(*args: Any, **kwargs: Any) -> Plan:
        return (yield from plan(inst, *args, **kwargs))

    bound.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=inspect.Signature.empty
    )
    return bound


def command_line_plan(inst: Instrument) -> Callable[..., Plan]:
    """The ``command_line`` plan bound to ``inst`` (one command-file line per queue item)."""

    def command_line(
        source: str,
        line: int,
        text: str,
        fields: list[str],
        user_name: str | None = None,
        transmission: bool = True,
    ) -> Plan:
        """Run one command-file line as ``run_command_file`` runs it.

        ``fields``: the line split into action and arguments (as the parser
        splits it); ``source``/``line``/``text`` name it in the runs' start
        documents (``command_file``, ``command_line``, ``command_text``).
        Refused before motion (CommandFileError naming ``source:line``) when
        the line is wrong or there is no user name.
        """
        command, problems = parse_fields(source, line, text, list(fields))
        user = yield from current_user(inst, user_name)
        if not user:
            problems.append(f"{source}:{line}: no user name (argument user_name or the user PV)")
        if problems or command is None:
            raise CommandFileError(problems)
        return (yield from run_command(inst, command, user, transmission=transmission))

    command_line.__signature__ = inspect.signature(command_line, eval_str=True)  # type: ignore[attr-defined]
    return command_line


def remote_ops_plan(inst: Instrument, folders: list[str], timeout: float) -> Callable[..., Plan]:
    """The ``remote_ops`` plan on the PV map's remote-operation PVs (connected here)."""
    pvs = remote_ops_pvs(inst.config)
    pvs.wait_for_connection(timeout=timeout)

    def remote_ops(max_requests: int | None = None) -> Plan:
        """Run the command files whose paths are written to the remote-operation PVs.

        Only files in the folders configured when RE Manager started are
        run; stop the queue item to leave the mode.
        """
        return (yield from remote_ops_mode(inst, pvs, folders, max_requests=max_requests))

    remote_ops.__signature__ = inspect.signature(remote_ops, eval_str=True)  # type: ignore[attr-defined]
    return remote_ops


def queue_plans(inst: Instrument) -> dict[str, Callable[..., Plan]]:
    """Every plan RE Manager exposes, by name, bound to ``inst`` (plus bluesky's mv/mvr)."""
    plans = {name: bind(plan, inst) for name, plan in {**MEASUREMENTS, **STAFF_PLANS}.items()}
    plans["command_line"] = command_line_plan(inst)
    plans["mv"] = bps.mv
    plans["mvr"] = bps.mvr
    return plans
