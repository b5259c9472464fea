"""Find runs in the catalog by user, sample name, plan and dates; format them as a table.

Criteria become Tiled queries (``Eq``, ``Comparison`` and a case-insensitive
``Regex`` for the sample: what the embedded SQLite catalog and a
PostgreSQL-backed server both run in the database, with the indexes of
:mod:`.indexes`). :mod:`.direct` runs the same criteria as one SQL query on
the embedded catalog without Tiled; both return the same runs.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contract.names import PLAN_NAME, TECHNIQUE, TITLE, USER_NAME
from .files import FILES_KEY, FileRecord

MAX_SERVER_PAGE = 300  # Tiled's largest page[limit]
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(text: str, *, option: str, end_of_day: bool = False) -> float:
    """Return the epoch time (s) of an ISO date or date-time, read in local time if naive.

    A bare date means its first instant, or with ``end_of_day`` the first
    instant of the next day (so an exclusive upper bound covers that day).
    Raises ``ValueError`` naming ``option`` when ``text`` is not ISO 8601.
    """
    text = text.strip()
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{option}: {text!r} is not an ISO date or time (e.g. 2026-11-24 or 2026-11-24T13:30)"
        ) from None
    if end_of_day and _DATE_ONLY.match(text):
        when += datetime.timedelta(days=1)
    return when.timestamp()


def sample_regex(pattern: str) -> str:
    """The regex (Python and PostgreSQL syntax) of a sample pattern: a glob or else a substring.

    ``*`` and ``?`` are glob wildcards (then the whole name must match); every
    other character is literal. Match it case-insensitively.
    """
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    if not any(c in pattern for c in "*?"):
        body = f".*{body}.*"
    return f"(?s)^{body}$"


@dataclass(frozen=True)
class Criteria:
    """What to look for; ``None`` means any. Times are epoch seconds, ``until`` exclusive."""

    user: str | None = None
    sample: str | None = None
    plan: str | None = None
    since: float | None = None
    until: float | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError(
                f"--since ({_fmt_time(self.since)}) must be before "
                f"--until ({_fmt_time(self.until)})"
            )

    @classmethod
    def parse(
        cls,
        *,
        user: str | None = None,
        sample: str | None = None,
        plan: str | None = None,
        since: str | float | None = None,
        until: str | float | None = None,
    ) -> Criteria:
        """Return criteria from ISO strings or epoch s (a bare ``until`` date covers that day).

        Raises ``ValueError`` quoting the values as typed when ``since`` is not before ``until``.
        """
        lo, hi = _as_time(since, "--since"), _as_time(until, "--until")
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(
                f"--since {since!r} must be before --until {until!r}"
                + (" (a bare --until date includes that day)" if isinstance(until, str) else "")
            )
        return cls(user=user or None, sample=sample or None, plan=plan or None, since=lo, until=hi)

    def describe(self) -> str:
        """Return the criteria as ``name=value`` pairs (``any run`` when none)."""
        parts = [f"{k}={v!r}" for k in ("user", "sample", "plan") if (v := getattr(self, k))]
        if self.since is not None:
            parts.append(f"since={_fmt_time(self.since)}")
        if self.until is not None:
            parts.append(f"until={_fmt_time(self.until)}")
        return ", ".join(parts) or "any run"

    def sample_matches(self, name: str) -> bool:
        """True when ``name`` matches the sample pattern (always, without one)."""
        if self.sample is None:
            return True
        return re.search(sample_regex(self.sample), name, re.IGNORECASE) is not None


@dataclass(frozen=True)
class RunSummary:
    """One row of a search result, with the files recorded for the run."""

    uid: str
    time: float
    user: str
    sample: str
    plan: str
    scan_id: int | None
    exit_status: str | None
    technique: str = ""
    proposal_id: str = ""
    files: tuple[FileRecord, ...] = field(default=())

    def files_of(self, *kinds: str) -> list[FileRecord]:
        """Return the recorded files of the given kinds."""
        return [f for f in self.files if f.kind in kinds]


def summarize(uid: str, node: Any) -> RunSummary:
    """Return the summary of run node ``node`` (key ``uid``)."""
    return summary_of_metadata(uid, node.metadata)


def summary_of_metadata(uid: str, metadata: dict[str, Any]) -> RunSummary:
    """Return the summary of run ``uid`` from its catalog metadata (start, stop, files)."""
    start = metadata.get("start", {})
    stop = metadata.get("stop") or {}
    return RunSummary(
        uid=uid,
        time=float(start.get("time", 0.0)),
        user=str(start.get(USER_NAME, "")),
        sample=str(start.get(TITLE, "")),
        plan=str(start.get(PLAN_NAME, "")),
        scan_id=start.get("scan_id"),
        exit_status=stop.get("exit_status"),
        technique=str(start.get(TECHNIQUE) or ""),
        proposal_id=str(start.get("proposal_id") or ""),
        files=tuple(FileRecord.from_dict(item) for item in metadata.get(FILES_KEY) or []),
    )


def search_catalog(catalog: Any, criteria: Criteria) -> Any:
    """Return the catalog narrowed by queries for ``criteria``."""
    from tiled.queries import Comparison, Eq, Regex

    results = catalog
    if criteria.user:
        results = results.search(Eq("start.user_name", criteria.user))
    if criteria.plan:
        results = results.search(Eq("start.plan_name", criteria.plan))
    if criteria.since is not None:
        results = results.search(Comparison("ge", "start.time", float(criteria.since)))
    if criteria.until is not None:
        results = results.search(Comparison("lt", "start.time", float(criteria.until)))
    if criteria.sample:
        pattern = sample_regex(criteria.sample)
        results = results.search(Regex("start.title", pattern, case_sensitive=False))
    return results


def iter_matches(catalog: Any, criteria: Criteria) -> Iterator[tuple[str, Any]]:
    """Yield ``(uid, node)`` of every run matching ``criteria``, in catalog order."""
    yield from search_catalog(catalog, criteria).items()


def search_runs(catalog: Any, criteria: Criteria) -> list[RunSummary]:
    """Return the summaries of the runs matching ``criteria``, oldest first."""
    runs = [summarize(uid, node) for uid, node in iter_matches(catalog, criteria)]
    return sorted(runs, key=lambda r: r.time)


@dataclass(frozen=True)
class Page:
    """One page of a search: ``runs`` (newest first) from ``offset``, of ``total`` matches."""

    total: int
    offset: int
    runs: list[RunSummary]


def search_page(catalog: Any, criteria: Criteria, *, limit: int, offset: int = 0) -> Page:
    """Return ``limit`` runs matching ``criteria`` from ``offset``, newest first, with the total."""
    check_page(limit, offset)
    results = search_catalog(catalog, criteria).sort(("start.time", -1))
    total = len(results)
    end = min(offset + limit, total)
    runs = []
    for first in range(offset, end, MAX_SERVER_PAGE):  # the server caps one request's page
        items = results.items()[first : min(first + MAX_SERVER_PAGE, end)]
        runs.extend(summarize(uid, node) for uid, node in items)
    return Page(total, offset, runs)


def check_page(limit: int, offset: int) -> None:
    """Raise ``ValueError`` unless ``limit`` >= 1 and ``offset`` >= 0."""
    if limit < 1 or offset < 0:
        raise ValueError(f"a page needs limit >= 1 and offset >= 0, got {limit} and {offset}")


def explain_no_match(catalog: Any, criteria: Criteria) -> str:
    """Return one line saying why nothing matches ``criteria`` (which criterion fails alone)."""
    for alone, text in alone_checks(criteria):
        if len(search_catalog(catalog, alone)) == 0:
            return text
    return f"no run matches {criteria.describe()}"


def alone_checks(criteria: Criteria) -> list[tuple[Criteria, str]]:
    """The user, plan and sample criteria alone, each with the line saying it matches nothing."""
    checks = []
    if criteria.user:
        checks.append(
            (Criteria(user=criteria.user), f"no run of user {criteria.user!r} in the catalog")
        )
    if criteria.plan:
        checks.append(
            (Criteria(plan=criteria.plan), f"no run of plan {criteria.plan!r} in the catalog")
        )
    if criteria.sample:
        text = f"no sample name in the catalog matches {criteria.sample!r}"
        checks.append((Criteria(sample=criteria.sample), text))
    return checks


def find_runs(
    data_dir: str | Path | None = None,
    *,
    user: str | None = None,
    sample: str | None = None,
    plan: str | None = None,
    since: str | float | None = None,
    until: str | float | None = None,
    uri: str | None = None,
    api_key: str | None = None,
    catalog: Any = None,
) -> list[RunSummary]:
    """Return the runs matching every given criterion, oldest first.

    ``sample`` is a case-insensitive substring, or a glob with ``*``/``?``;
    ``since``/``until`` are ISO strings (a bare ``until`` date includes that
    day) or epoch seconds. Pass an open ``catalog``, or ``data_dir``/``uri``.
    """
    if catalog is None:
        from .store import open_catalog

        catalog = open_catalog(data_dir, uri=uri, api_key=api_key, create=False)
    criteria = Criteria.parse(user=user, sample=sample, plan=plan, since=since, until=until)
    return search_runs(catalog, criteria)


def _as_time(value: str | float | None, option: str) -> float | None:
    """Epoch seconds of ``value``; a bare date for ``--until`` means the end of that day."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return parse_time(value, option=option, end_of_day=option == "--until")
    return float(value)


def _fmt_time(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def format_runs(runs: list[RunSummary]) -> str:
    """Return a fixed-width table: time, user, sample, plan, scan id, raw/reduced files, uid."""
    header = (
        f"{'time':19}  {'user':12}  {'sample':24}  {'plan':14}  {'scan':>5}  "
        f"{'raw':>3}  {'red':>3}  uid"
    )
    lines = [header]
    for r in runs:
        lines.append(
            f"{_fmt_time(r.time):19}  {r.user[:12]:12}  {r.sample[:24]:24}  {r.plan[:14]:14}  "
            f"{r.scan_id if r.scan_id is not None else '':>5}  "
            f"{len(r.files_of('raw')):>3}  {len(r.files_of('reduced')):>3}  {r.uid}"
        )
    return "\n".join(lines)
