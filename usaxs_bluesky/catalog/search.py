"""Find runs in the catalog by user, sample name and plan; format them as a table."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from tiled.queries import Eq, Like

from .store import open_catalog


@dataclass(frozen=True)
class RunSummary:
    """One row of a search result."""

    uid: str
    time: float
    user: str
    sample: str
    plan: str
    scan_id: int | None
    exit_status: str | None


def _summary(uid: str, metadata: dict) -> RunSummary:
    start = metadata.get("start", {})
    stop = metadata.get("stop") or {}
    return RunSummary(
        uid=uid,
        time=float(start.get("time", 0.0)),
        user=str(start.get("user_name", "")),
        sample=str(start.get("title", "")),
        plan=str(start.get("plan_name", "")),
        scan_id=start.get("scan_id"),
        exit_status=stop.get("exit_status"),
    )


def find_runs(
    data_dir: str | Path | None,
    *,
    user: str | None = None,
    sample: str | None = None,
    plan: str | None = None,
    uri: str | None = None,
) -> list[RunSummary]:
    """Return the runs matching every given criterion, oldest first.

    ``sample`` matches a case-insensitive substring of the sample name.
    """
    catalog = open_catalog(data_dir, uri=uri, create=False)
    results = catalog
    if user:
        results = results.search(Eq("start.user_name", user))
    if plan:
        results = results.search(Eq("start.plan_name", plan))
    if sample:
        results = results.search(Like("start.title", f"%{sample}%"))
    runs = [_summary(uid, node.metadata) for uid, node in results.items()]
    return sorted(runs, key=lambda r: r.time)


def format_runs(runs: list[RunSummary]) -> str:
    """Return a fixed-width table: time, user, sample, plan, scan id, exit status, uid."""
    header = f"{'time':19}  {'user':12}  {'sample':24}  {'plan':14}  {'scan':>5}  {'status':8}  uid"
    lines = [header]
    for r in runs:
        when = datetime.datetime.fromtimestamp(r.time).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(
            f"{when:19}  {r.user[:12]:12}  {r.sample[:24]:24}  {r.plan[:14]:14}  "
            f"{r.scan_id if r.scan_id is not None else '':>5}  {r.exit_status or '':8}  {r.uid}"
        )
    return "\n".join(lines)
