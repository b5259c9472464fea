"""Retention: what the catalog holds by age and user, and removal of runs past the kept period.

The facility keeps data at least ``USAXS_RETENTION_MIN_DAYS`` (90 days by
default); ``prune`` refuses any shorter cut-off. Removing a run deletes its
recorded files, then its catalog entry, then appends one JSON line saying
what went to ``<data_dir>/retention_log.jsonl``.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import time
from collections import defaultdict
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


def minimum_days(option: float | None = None) -> float:
    """Shortest allowed cut-off (days).

    The facility's minimum is ``$USAXS_RETENTION_MIN_DAYS`` or 90; ``option``
    (``--min-days``) can only raise it, never lower it.
    """
    text = os.environ.get(MIN_DAYS_ENV)
    configured = DEFAULT_MIN_DAYS
    if text:
        try:
            configured = float(text)
        except ValueError:
            raise ValueError(f"${MIN_DAYS_ENV}={text!r} is not a number of days") from None
    return configured if option is None else max(float(option), configured)


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
            f"{floor:g} days (the minimum: ${MIN_DAYS_ENV} or 90, raised by --min-days)"
        )
    now = time.time() if now is None else now
    cutoff = now - older_than_days * DAY_S
    old = catalog.search(Comparison("lt", "start.time", cutoff))
    return sorted((summarize(uid, node) for uid, node in old.items()), key=lambda r: r.time)


def remove_run(catalog: Any, run: RunSummary, log_path: Path) -> dict[str, Any]:
    """Delete ``run``'s files and catalog entry; append and return its log record."""
    removed, missing = [], []
    for record in run.files:
        try:
            os.unlink(record.path)
            removed.append(record.path)
        except FileNotFoundError:
            missing.append(record.path)
    catalog.delete_contents(run.uid, recursive=True, external_only=False)
    entry = {
        "removed_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "uid": run.uid,
        "user": run.user,
        "sample": run.sample,
        "plan": run.plan,
        "scan_id": run.scan_id,
        "start_time": datetime.datetime.fromtimestamp(run.time).astimezone().isoformat(),
        "files_removed": removed,
        "files_already_missing": missing,
        "bytes": sum(f.size for f in run.files if f.path in removed),
    }
    with open(log_path, "a") as log:
        log.write(json.dumps(entry) + "\n")
        log.flush()
        os.fsync(log.fileno())
    return entry


def prune(catalog: Any, runs: list[RunSummary], data_dir: Path) -> list[dict[str, Any]]:
    """Remove every run of ``runs`` (files and catalog entry); return the log records."""
    log_path = Path(data_dir) / LOG_NAME
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return [remove_run(catalog, run, log_path) for run in runs]
