"""Batch command files: parse and check them (plain Python, no devices, no RunEngine).

Text format, one command per line (``#`` starts a comment; blank lines are skipped)::

    # action    sx    sy   thickness  "sample name"
    FlyScan     20.0  0.0  1.0        "spheres in water"
    saxsExp     20.0  0.0  1.0        "spheres in water"
    mode_usaxs
    tune_ar

Actions are case-insensitive: sample actions ``flyscan``/``usaxsscan``
(USAXSscan), ``saxs``/``saxsExp``, ``waxs``/``waxsExp`` take ``sx sy``
(mm), ``thickness`` (mm) and a sample name (quoted when it has spaces),
then optionally the sample's per-sample metadata as ``name=value`` tokens
(``saxs 20 0 1.0 "spheres" solvent=water``; types are checked against the
loaded metadata request, docs/metadata.md);
``mode_usaxs``, ``mode_saxs``, ``mode_waxs``, ``mode_out``, ``tune_ar``,
``tune_mr``, ``tune_a2rp``, ``tune_dx``, ``tune_dy`` and ``preUSAXStune`` take
nothing. An ``.xlsx`` sheet has the same columns (first sheet; a first row
whose first cell is not an action is a header; ``#`` in the first cell
comments a row out). Every problem of every line is collected and reported
together as ``file:line: ...`` in one :class:`CommandFileError`.
"""

from __future__ import annotations

import math
import re
import shlex
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..contract.names import SAXS_EXP, USAXS_SCAN, WAXS_EXP

SAMPLE_ACTIONS = {
    "flyscan": USAXS_SCAN,
    "usaxsscan": USAXS_SCAN,
    "saxs": SAXS_EXP,
    "saxsexp": SAXS_EXP,
    "waxs": WAXS_EXP,
    "waxsexp": WAXS_EXP,
}
MODE_ACTIONS = {
    "mode_usaxs": "mode_usaxs",
    "mode_saxs": "mode_saxs",
    "mode_waxs": "mode_waxs",
    "mode_out": "mode_out",
}
TUNE_ACTIONS = {
    "tune_ar": "tune_ar",
    "tune_mr": "tune_mr",
    "tune_a2rp": "tune_a2rp",
    "tune_dx": "tune_dx",
    "tune_dy": "tune_dy",
    "preusaxstune": "preUSAXStune",
}
ACTIONS = {**SAMPLE_ACTIONS, **MODE_ACTIONS, **TUNE_ACTIONS}
MAX_TITLE_LENGTH = 100
_PER_SAMPLE_RE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_]*)=(?P<value>.*)$", re.DOTALL)


class CommandFileError(ValueError):
    """A command file is wrong (all problems, each as ``file:line: ...``) or a line failed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = f"{len(problems)} problem(s) in command file:\n" if len(problems) > 1 else ""
        super().__init__(head + "\n".join(self.problems))


@dataclass(frozen=True)
class Command:
    """One command: where it is (``source``:``line``), its text and its parsed arguments.

    ``action`` is the canonical name (``USAXSscan``, ``saxsExp``, ``waxsExp``,
    ``mode_*``, ``tune_*``, ``preUSAXStune``); ``x``, ``y``, ``thickness_mm``
    and ``title`` are set for sample actions only; ``per_sample`` holds the
    line's ``name=value`` tokens (values as text).
    """

    source: str
    line: int
    text: str
    action: str
    x: float | None = None
    y: float | None = None
    thickness_mm: float | None = None
    title: str | None = None
    per_sample: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def where(self) -> str:
        """``file:line`` of this command."""
        return f"{self.source}:{self.line}"

    @property
    def is_sample(self) -> bool:
        """True for the sample measurements (USAXSscan, saxsExp, waxsExp)."""
        return self.action in SAMPLE_ACTIONS.values()


def title_problem(title: str) -> str:
    """Why ``title`` is not a safe sample name ('' when it is)."""
    if not title.strip():
        return "sample name is empty"
    if len(title) > MAX_TITLE_LENGTH:
        return f"sample name longer than {MAX_TITLE_LENGTH} characters"
    if any(unicodedata.category(c).startswith("C") for c in title):
        return f"sample name {title!r} contains control characters"
    if "/" in title or "\\" in title:
        return f"sample name {title!r} contains a path separator"
    if not any(c.isalnum() for c in title):
        return f"sample name {title!r} has no letter or digit"
    return ""


def _number(text: object, what: str) -> tuple[float | None, str]:
    try:
        value = float(str(text).strip())
    except ValueError:
        return None, f"{what} {text!r} is not a number"
    if not math.isfinite(value):
        return None, f"{what} {text!r} is not finite"
    return value, ""


def parse_per_sample(where: str, tokens: list[object]) -> tuple[dict[str, str], list[str]]:
    """Parse ``name=value`` tokens; returns {name: value text} and the problems."""
    values: dict[str, str] = {}
    problems = []
    for token in tokens:
        match = _PER_SAMPLE_RE.match(str(token).strip())
        if match is None:
            problems.append(
                f"{where}: extra argument {str(token)!r} is not a per-sample name=value"
                " (quote a sample name with spaces)"
            )
        elif match["name"] in values:
            problems.append(f"{where}: per-sample {match['name']!r} given twice")
        else:
            values[match["name"]] = match["value"].strip()
    return values, problems


def parse_fields(
    source: str, line: int, text: str, fields: list[object]
) -> tuple[Command | None, list[str]]:
    """Build the :class:`Command` of one line's fields; returns it (or None) and its problems."""
    where = f"{source}:{line}"
    name = str(fields[0]).strip()
    action = ACTIONS.get(name.lower())
    if action is None:
        allowed = ", ".join(sorted({*ACTIONS.values()}))
        return None, [f"{where}: unknown action {name!r}; allowed: {allowed}"]
    args = fields[1:]
    if name.lower() not in SAMPLE_ACTIONS:
        if args:
            return None, [f"{where}: {action} takes no arguments, got {len(args)}"]
        return Command(source, line, text, action), []
    if len(args) < 4 or (len(args) > 4 and not any("=" in str(a) for a in args[4:])):
        return None, [
            f'{where}: {action} needs 4 arguments (sx sy thickness "sample name")'
            f" then optional name=value, got {len(args)}"
        ]
    per_sample, problems = parse_per_sample(where, args[4:])
    x, px = _number(args[0], "sx")
    y, py = _number(args[1], "sy")
    thickness, pt = _number(args[2], "thickness")
    problems += [f"{where}: {p}" for p in (px, py, pt) if p]
    if thickness is not None and thickness <= 0:
        problems.append(f"{where}: thickness must be > 0 mm, got {thickness:g}")
    title = str(args[3])
    tp = title_problem(title)
    if tp:
        problems.append(f"{where}: {tp}")
    if problems:
        return None, problems
    return Command(source, line, text, action, x, y, thickness, title.strip(), per_sample), []


def parse_text(text: str, source: str = "<text>") -> tuple[list[Command], list[str]]:
    """Parse the text format; returns the commands and every problem found."""
    commands, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        try:
            fields = shlex.split(raw, comments=True, posix=True)
        except ValueError as exc:
            problems.append(f"{source}:{number}: malformed quotes ({exc})")
            continue
        if not fields:
            continue
        command, found = parse_fields(source, number, raw.strip(), fields)
        problems += found
        if command:
            commands.append(command)
    return commands, problems


def _cell_text(cell: object) -> str:
    return "" if cell is None else str(cell).strip()


def parse_rows(rows: Iterable[tuple[object, ...]], source: str) -> tuple[list[Command], list[str]]:
    """Parse spreadsheet rows (row 1 first); a header row and ``#`` rows are skipped."""
    commands, problems = [], []
    for number, row in enumerate(rows, start=1):
        cells = list(row)
        while cells and _cell_text(cells[-1]) == "":
            cells.pop()
        if not cells or _cell_text(cells[0]).startswith("#"):
            continue
        first = _cell_text(cells[0])
        if number == 1 and first.lower() not in ACTIONS:
            continue  # header
        if first == "":
            problems.append(f"{source}:{number}: the action (first column) is empty")
            continue
        text = "  ".join(_cell_text(c) for c in cells)
        command, found = parse_fields(source, number, text, [_cell_text(c) for c in cells])
        problems += found
        if command:
            commands.append(command)
    return commands, problems


def parse_command_file(path: str | Path) -> tuple[list[Command], list[str]]:
    """Parse a text or ``.xlsx`` command file; return the good commands and all problems."""
    path = Path(path)
    if not path.is_file():
        return [], [f"{path}: no such command file"]
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        try:
            commands, problems = parse_rows(
                book.worksheets[0].iter_rows(values_only=True), str(path)
            )
        finally:
            book.close()
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            return [], [f"{path}: not UTF-8 text ({exc})"]
        commands, problems = parse_text(text, str(path))
    if not commands and not problems:
        problems = [f"{path}: no commands"]
    return commands, problems


def read_command_file(path: str | Path) -> list[Command]:
    """Parse a command file; raise :class:`CommandFileError` listing all its problems."""
    commands, problems = parse_command_file(path)
    if problems:
        raise CommandFileError(problems)
    return commands


def per_sample_line_problems(
    commands: Iterable[Command], check: Callable[[dict[str, str]], list[str]]
) -> list[str]:
    """Problems of each sample line's per-sample values, as ``file:line: ...``.

    ``check`` returns the problems of one line's values (e.g.
    ``metadata.requests.per_sample_problems`` bound to the loaded request).
    """
    return [f"{c.where}: {p}" for c in commands if c.is_sample for p in check(c.per_sample)]


def limit_problems(
    commands: Iterable[Command], limits: dict[str, tuple[float, float]]
) -> list[str]:
    """Problems of sample positions outside ``limits`` ({"sx": (low, high), "sy": ...}).

    A (low, high) pair with low >= high means "no limits" (motor record convention).
    """
    problems = []
    for c in commands:
        if not c.is_sample:
            continue
        for axis, value in (("sx", c.x), ("sy", c.y)):
            low, high = limits.get(axis, (0.0, 0.0))
            if low < high and not low <= value <= high:
                problems.append(
                    f"{c.where}: {axis}={value:g} mm is outside the stage limits {low:g}..{high:g}"
                )
    return problems
