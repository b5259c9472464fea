"""Check a command file outside a RunEngine, with the same checks as ``run_command_file``.

The stage limits come from the first source that answers, and the report says
which: the live motor records (instrument or simulator reachable), the
sample-stage limits recorded in the newest catalog baseline, or the PV map's
optional ``limits`` section (``limits: {s_stage: {x: [low, high], y: [...]}}``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..instrument import build_instrument
from ..metadata.request_model import MetadataRequests
from ..plans.command_file import CheckContext, command_file_problems
from ..plans.command_parser import Command

AXES = {"sx": "x", "sy": "y"}
"""Command-file axis name -> axis of ``s_stage``."""
SAMPLE_STAGE = "s_stage"
BASELINE_RUNS = 50
"""How many of the newest catalog runs are searched for a baseline with the limits."""

LIVE = "live"
CATALOG = "catalog"
PV_MAP = "pv map"
NONE = "none"


@dataclass
class CheckReport:
    """The result of :func:`check_file`: commands, problems, and what they were checked against."""

    commands: list[Command]
    problems: list[str]
    limits: dict[str, tuple[float, float]]
    limits_source: str
    limits_detail: str
    user: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file has no problem."""
        return not self.problems


def _limits_pair(low: Any, high: Any) -> tuple[float, float] | None:
    try:
        pair = (float(low), float(high))
    except (TypeError, ValueError):
        return None
    return pair if all(math.isfinite(v) for v in pair) else None


def live_context(
    config: dict[str, Any],
    *,
    user_name: str | None,
    requests: MetadataRequests | None,
    timeout: float,
) -> tuple[CheckContext, str] | None:
    """Read limits, user name and sample PVs from the instrument; None when unreachable.

    Returns the context and the motor records whose limits were read.
    """
    inst = build_instrument(config)
    stage = inst.devices[SAMPLE_STAGE]
    motors = {axis: getattr(stage, attr) for axis, attr in AXES.items()}
    signals = [m.low_limit_travel for m in motors.values()]
    signals += [m.high_limit_travel for m in motors.values()]
    signals += [inst.user_data.user_name, inst.sample_data.title, inst.sample_data.thickness]
    try:
        for signal in signals:
            signal.wait_for_connection(timeout=timeout)
        limits = {
            axis: (float(m.low_limit_travel.get()), float(m.high_limit_travel.get()))
            for axis, m in motors.items()
        }
        user = user_name or str(inst.user_data.user_name.get() or "").strip()
        title = str(inst.sample_data.title.get() or "").strip()
        thickness = float(inst.sample_data.thickness.get())
    except (TimeoutError, OSError):
        return None
    sample_pvs = (
        inst.sample_data.title.pvname,
        inst.sample_data.thickness.pvname,
        title,
        thickness,
    )
    where = ", ".join(m.prefix for m in motors.values())
    return CheckContext(limits, requests, user, sample_pvs), where


def catalog_limits(catalog: Any) -> tuple[dict[str, tuple[float, float]], str] | None:
    """Sample-stage limits from the newest run whose baseline records them, and its uid."""
    newest = min(BASELINE_RUNS, len(catalog))
    for run in catalog.values()[-1 : -newest - 1 : -1] if newest else []:  # newest first
        if "baseline" not in run:
            continue
        data_keys = run["baseline"].metadata.get("data_keys", {})
        limits = {}
        for axis, attr in AXES.items():
            key = data_keys.get(f"{SAMPLE_STAGE}_{attr}_user_setpoint", {})
            pair = _limits_pair(key.get("lower_ctrl_limit"), key.get("upper_ctrl_limit"))
            if pair is not None:
                limits[axis] = pair
        if len(limits) == len(AXES):
            return limits, run.metadata["start"]["uid"]
    return None


def config_limits(config: dict[str, Any]) -> dict[str, tuple[float, float]] | None:
    """The PV map's ``limits.s_stage`` section as {"sx": (low, high), ...}, None when absent.

    Raises ValueError when the section is present but not two finite numbers per axis.
    """
    section = (config.get("limits") or {}).get(SAMPLE_STAGE)
    if section is None:
        return None
    limits = {}
    for axis, attr in AXES.items():
        values = section.get(attr)
        pair = (
            _limits_pair(*values) if isinstance(values, list | tuple) and len(values) == 2 else None
        )
        if pair is None:
            raise ValueError(
                f"PV map limits.{SAMPLE_STAGE}.{attr}: want [low, high], got {values!r}"
            )
        limits[axis] = pair
    return limits


def check_file(
    path: str | Path,
    *,
    config: dict[str, Any],
    catalog: Any | None = None,
    user_name: str | None = None,
    requests: MetadataRequests | None = None,
    timeout: float = 2.0,
    live: bool = True,
) -> CheckReport:
    """Check ``path`` against the best limits available; return a :class:`CheckReport`.

    ``live=False`` skips the instrument. Offline, the user name is checked
    only when given and the sample PVs (which tune lines take) are not
    checked; the report's notes say so.
    """
    notes: list[str] = []
    found = None
    if live:
        found = live_context(config, user_name=user_name, requests=requests, timeout=timeout)
    if found is not None:
        context, where = found
        source, detail = LIVE, f"motor records {where}"
    else:
        context = CheckContext({}, requests, user_name, None)
        source, detail = NONE, "no limits known: sample positions not checked"
        recorded = catalog_limits(catalog) if catalog is not None else None
        configured = config_limits(config)
        if recorded is not None:
            source, detail = CATALOG, f"baseline of run {recorded[1]}"
            context = CheckContext(recorded[0], requests, user_name, None)
        elif configured is not None:
            source, detail = PV_MAP, "limits section of the PV map"
            context = CheckContext(configured, requests, user_name, None)
        if user_name is None:
            notes.append("user name not checked (instrument not reachable; give --user)")
        notes.append("sample PVs for tune lines not checked (instrument not reachable)")
    if requests is None:
        notes.append("no metadata request given: per-sample values must be absent")
    commands, problems = command_file_problems(path, context)
    return CheckReport(commands, problems, context.limits, source, detail, context.user, notes)


def format_report(report: CheckReport, path: str | Path) -> str:
    """Human-readable report: limits used, notes, then every problem (or 'OK')."""
    limits = ", ".join(f"{a} {lo:g}..{hi:g} mm" for a, (lo, hi) in report.limits.items())
    lines = [
        f"limits: {report.limits_source} ({report.limits_detail})"
        + (f": {limits}" if limits else "")
    ]
    lines += [f"note: {n}" for n in report.notes]
    if report.ok:
        lines.append(f"{path}: OK, {len(report.commands)} command(s)")
    else:
        lines += report.problems
        lines.append(f"{path}: {len(report.problems)} problem(s)")
    return "\n".join(lines)
