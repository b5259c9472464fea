"""A command file as one queue batch: checked whole, then added atomically or not at all.

Each line becomes one ``command_line`` item (:mod:`.plans`) whose ``meta``
says what it measures (``sample_name``, ``command_file``, ``command_line``,
``command_text``), so a queue listing names the sample, not only a uid; the
same keys reach the start documents of its runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..metadata.request_model import MetadataRequests
from ..plans.command_parser import Command
from .file_check import LIVE, CheckReport, check_file

PLAN = "command_line"


@dataclass
class SubmitResult:
    """What :func:`submit_file` did: the check, the items added (uids) and every problem."""

    report: CheckReport
    added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the whole file was added."""
        return not self.problems


def command_fields(command: Command) -> list[str]:
    """The line's fields as the parser reads them (action, then its arguments)."""
    if not command.is_sample:
        return [command.action]
    values = [repr(command.x), repr(command.y), repr(command.thickness_mm), command.title]
    return [command.action, *values, *(f"{k}={v}" for k, v in command.per_sample.items())]


def item_meta(command: Command) -> dict[str, Any]:
    """Queue-item metadata of one line: sample name (None for non-sample lines) and location."""
    return {
        "sample_name": command.title,
        "command_file": command.source,
        "command_line": command.line,
        "command_text": command.text,
    }


def batch_items(commands: list[Command], user_name: str | None) -> list[Any]:
    """One ``command_line`` BPlan per command, in file order."""
    from bluesky_queueserver_api import BPlan

    items = []
    for command in commands:
        item = BPlan(
            PLAN, command.source, command.line, command.text, command_fields(command),
            user_name=user_name,
        )  # fmt: skip
        item.meta = item_meta(command)
        items.append(item)
    return items


def _refusals(response: dict[str, Any], commands: list[Command], path: str | Path) -> list[str]:
    """``file:line: ...`` for every item the manager refused in a failed batch."""
    problems = []
    for command, result in zip(commands, response.get("results", []), strict=False):
        if not result.get("success", False):
            problems.append(f"{command.where}: refused by the queue: {result.get('msg', '')}")
    return problems or [f"{path}: batch refused by the queue: {response.get('msg', '')}"]


def submit_file(
    api: Any,
    path: str | Path,
    *,
    config: dict[str, Any],
    user_name: str | None = None,
    requests: MetadataRequests | None = None,
    timeout: float = 5.0,
) -> SubmitResult:
    """Check ``path`` as ``run_command_file`` does, then add it to the queue as one batch.

    ``api``: a bluesky-queueserver-api client (its ``user``/``user_group`` are
    used). Nothing is added when a line has a problem, when the instrument
    cannot be read (the limits, user PV and sample PVs must be live), or
    when the manager refuses any item.
    """
    report = check_file(
        path, config=config, user_name=user_name, requests=requests, timeout=timeout
    )
    result = SubmitResult(report)
    if report.limits_source != LIVE:
        result.problems.append(f"{path}: instrument not reachable: the file cannot be checked")
    result.problems += report.problems
    if result.problems:
        return result
    try:  # the user checked (given, or read from the user PV) runs every line
        response = api.item_add_batch(batch_items(report.commands, report.user))
    except api.RequestFailedError as exc:
        response = exc.response
    if not response.get("success", False):
        result.problems = _refusals(response, report.commands, path)
        return result
    result.added = [item["item_uid"] for item in response.get("items", [])]
    return result
