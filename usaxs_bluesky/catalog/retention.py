"""Retention: what the catalog holds by age and user, and removal of runs past the kept period.

The facility keeps data at least 90 days; ``--min-days``,
``USAXS_RETENTION_MIN_DAYS`` and the config can only raise that, and
``prune`` refuses any shorter cut-off. Removing a run first appends (and
fsyncs) its intent to ``<data_dir>/retention_log.jsonl``, then deletes its
recorded files (only ones under the data directory) and catalog entry, then
appends the ``removed`` record; a prune cut short is finished by the next.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tiled.queries import Comparison

from .search import RunSummary, summarize

MIN_DAYS_ENV = "USAXS_RETENTION_MIN_DAYS"
DEFAULT_MIN_DAYS = 90.0
LOG_NAME = "retention_log.jsonl"
DAY_S = 86400.0
BUCKETS = ((0, 30, "< 30 d"), (30, 90, "30-90 d"), (90, 180, "90-180 d"), (180, 365, "180-365 d"))
OLDEST = "> 365 d"
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dw]?)\s*$")


def parse_age_days(text: str) -> float:
    """Return the days of an age like ``120d``, ``16w`` or ``120``; ``ValueError`` otherwise."""
    match = _AGE.match(str(text))
    if not match:
        raise ValueError(f"--older-than: {text!r} is not an age such as 120d or 16w")
    value, unit = float(match[1]), match[2]
    return value * 7 if unit == "w" else value


def _days(source: str, value: Any) -> float:
    """Return ``value`` as days; ValueError unless a finite number >= :data:`DEFAULT_MIN_DAYS`."""
    try:
        days = float(value)
    except (TypeError, ValueError):
        days = math.nan
    if not math.isfinite(days) or days < DEFAULT_MIN_DAYS:
        raise ValueError(
            f"{source}={value!r}: the retention minimum must be a finite number of days"
            f" >= {DEFAULT_MIN_DAYS:g} (it can be raised, never lowered)"
        )
    return days


def minimum_days(
    option: float | str | None = None, config: Mapping[str, Any] | None = None
) -> float:
    """Shortest allowed cut-off (days): the largest of 90 and every source given.

    Sources: ``option`` (``--min-days``), ``$USAXS_RETENTION_MIN_DAYS``, the
    config's ``retention: {min_days: N}``. Each can only raise the minimum:
    nan, inf, negative, 0 or anything under 90 raises ValueError naming it.
    """
    floor = DEFAULT_MIN_DAYS
    retention = (config or {}).get("retention") or {}
    for source, value in (
        ("--min-days", option),
        (f"${MIN_DAYS_ENV}", os.environ.get(MIN_DAYS_ENV)),
        ("config retention.min_days", retention.get("min_days")),
    ):
        if value is not None and value != "":
            floor = max(floor, _days(source, value))
    return floor


def age_bucket(age_days: float) -> str:
    """The report bucket of an age in days."""
    for low, high, label in BUCKETS:
        if low <= age_days < high:
            return label
    return OLDEST


@dataclass(frozen=True)
class ReportRow:
    """Runs, files and bytes of one user in one age bucket."""

    bucket: str
    user: str
    runs: int
    files: int
    bytes: int


def retention_report(catalog: Any, now: float | None = None) -> list[ReportRow]:
    """Return runs, recorded files and bytes by age bucket (youngest first) and user."""
    now = time.time() if now is None else now
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for uid, node in catalog.items():
        run = summarize(uid, node)
        row = totals[(age_bucket((now - run.time) / DAY_S), run.user)]
        row[0] += 1
        row[1] += len(run.files)
        row[2] += sum(f.size for f in run.files)
    order = [label for _, _, label in BUCKETS] + [OLDEST]
    keys = sorted(totals, key=lambda k: (order.index(k[0]), k[1]))
    return [ReportRow(b, u, *totals[(b, u)]) for b, u in keys]


def format_report(rows: list[ReportRow]) -> str:
    """Return the report as a fixed-width table with a total line."""
    lines = [f"{'age':10}  {'user':16}  {'runs':>6}  {'files':>6}  {'bytes':>14}"]
    for r in rows:
        lines.append(f"{r.bucket:10}  {r.user[:16]:16}  {r.runs:>6}  {r.files:>6}  {r.bytes:>14}")
    lines.append(
        f"{'total':10}  {'':16}  {sum(r.runs for r in rows):>6}  "
        f"{sum(r.files for r in rows):>6}  {sum(r.bytes for r in rows):>14}"
    )
    return "\n".join(lines)


def prune_candidates(
    catalog: Any,
    older_than_days: float,
    *,
    min_days: float | None = None,
    now: float | None = None,
) -> list[RunSummary]:
    """Return the runs that started more than ``older_than_days`` ago, oldest first.

    Raises ``ValueError`` when the cut-off is shorter than the retention minimum.
    """
    floor = minimum_days(min_days)
    if older_than_days < floor:
        raise ValueError(
            f"--older-than {older_than_days:g}d is shorter than the retention minimum of "
            f"{floor:g} days (90, raised by --min-days, ${MIN_DAYS_ENV} or the config)"
        )
    now = time.time() if now is None else now
    cutoff = now - older_than_days * DAY_S
    old = catalog.search(Comparison("lt", "start.time", cutoff))
    return sorted((summarize(uid, node) for uid, node in old.items()), key=lambda r: r.time)


def _log(log_path: Path, entry: Mapping[str, Any]) -> None:
    """Append one JSON line to the retention log and fsync it."""
    with open(log_path, "a") as log:
        log.write(json.dumps(entry) + "\n")
        log.flush()
        os.fsync(log.fileno())


def _inside(path: str, root: Path) -> Path:
    """Return ``path`` (relative ones taken from ``root``) resolved; ValueError if outside."""
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root):
        raise ValueError(
            f"prune refused: {path} is outside the catalog's data root {root}; nothing removed"
        )
    return resolved


def _delete(catalog: Any, entry: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """Delete the files and catalog entry an intent names; return the ``removed`` record."""
    removed, missing = [], []
    for path in entry["files"]:
        try:
            os.unlink(_inside(path, root))
            removed.append(path)
        except FileNotFoundError:
            missing.append(path)
    if entry["uid"] in catalog:
        catalog.delete_contents(entry["uid"], recursive=True, external_only=False)
    sizes = entry.get("sizes", {})
    return {
        **entry,
        "state": "removed",
        "removed_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "files_removed": removed,
        "files_already_missing": missing,
        "bytes": sum(int(sizes.get(path, 0)) for path in removed),
    }


def remove_run(catalog: Any, run: RunSummary, log_path: Path, root: Path) -> dict[str, Any]:
    """Log the intent (fsynced), delete ``run``'s files and catalog entry, log and return it."""
    intent = {
        "state": "removing",
        "logged_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "uid": run.uid,
        "user": run.user,
        "sample": run.sample,
        "plan": run.plan,
        "scan_id": run.scan_id,
        "start_time": datetime.datetime.fromtimestamp(run.time).astimezone().isoformat(),
        "files": [f.path for f in run.files],
        "sizes": {f.path: f.size for f in run.files},
    }
    _log(log_path, intent)
    done = _delete(catalog, intent, root)
    _log(log_path, done)
    return done


def unfinished(log_path: Path) -> list[dict[str, Any]]:
    """Return the logged intents with no ``removed`` record after them (a prune cut short)."""
    pending: dict[str, dict[str, Any]] = {}
    if not log_path.exists():
        return []
    for line in log_path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash
        if entry.get("state") == "removing":
            pending[entry["uid"]] = entry
        elif entry.get("state", "removed") == "removed":
            pending.pop(entry.get("uid"), None)
    return list(pending.values())


def prune(catalog: Any, runs: list[RunSummary], data_dir: Path) -> list[dict[str, Any]]:
    """Finish any prune cut short, then remove every run of ``runs``; return the log records.

    Only files under ``data_dir`` (the catalog's data root) are ever deleted:
    one recorded outside it refuses the whole prune before anything goes.
    Each removal is logged first (intent, fsynced), then done, then logged
    again (``removed``), so a crash leaves a log that the next prune resumes.
    """
    root = Path(data_dir).resolve()
    log_path = root / LOG_NAME
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for run in runs:
        for record in run.files:
            _inside(record.path, root)
    entries = []
    for intent in unfinished(log_path):
        done = _delete(catalog, intent, root)
        _log(log_path, done)
        entries.append(done)
    done_uids = {entry["uid"] for entry in entries}
    entries += [
        remove_run(catalog, run, log_path, root) for run in runs if run.uid not in done_uids
    ]
    return entries
