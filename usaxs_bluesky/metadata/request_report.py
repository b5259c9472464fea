"""Metadata requests: the check report of every item (``usaxs metadata check``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..contract.names import QUANTITY_TYPES
from .request_model import MetadataItem, MetadataRequests, PVReader
from .request_pvs import EpicsPVReader, read_item


@dataclass(frozen=True)
class ItemStatus:
    """The check of one item: ``status`` is ``ok``, ``warning``, ``error`` or ``per sample``."""

    item: MetadataItem
    status: str
    value: Any = None
    message: str = ""


@dataclass
class RequestReport:
    """What :func:`check_requests` found; ``ok`` is False when any error was found."""

    requests: MetadataRequests
    rows: list[ItemStatus] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return True when no error was found (warnings allowed)."""
        return not self.errors


def check_requests(
    requests: MetadataRequests,
    timeout: float = 5.0,
    read_pv: PVReader | None = None,
    connect: bool = True,
) -> RequestReport:
    """Return a report of every item: fixed values, units, and each PV read and converted.

    Unreachable PVs are listed in ``report.unreachable``; they are errors for
    required items and warnings otherwise. ``connect=False`` skips the PVs.
    """
    report = RequestReport(requests=requests)
    if not requests.items:
        report.warnings.append("the request file has no items")
    if connect and read_pv is None and requests.pv_names:
        read_pv = EpicsPVReader(requests.pv_names, timeout)
    for item in requests.items:
        notes = []
        if item.type in QUANTITY_TYPES and not item.units:
            notes.append(f"{item.name}: {item.type} quantity without units")
        if item.source == "fixed":
            status, value, message = "ok", item.value, ""
        elif item.source == "per_sample":
            status, value, message = "per sample", None, "given with each sample"
        elif not connect:
            status, value, message = "ok", None, "not read (--no-connect)"
        else:
            value, message = read_item(item, read_pv)
            status = "ok" if not message else ("error" if item.required else "warning")
            if message and "unreachable" in message:
                report.unreachable.append(item.pv)
            if message:
                (report.errors if item.required else report.warnings).append(
                    f"{item.name}: {message}"
                )
        report.warnings += notes
        if notes and status == "ok":
            status = "warning"
            message = "; ".join(n.split(": ", 1)[1] for n in notes)
        report.rows.append(ItemStatus(item, status, value, message))
    return report


def _cell(value: Any, width: int = 40) -> str:
    """Return a one-line, bounded text of ``value``."""
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 3] + "..."


def format_report(report: RequestReport) -> str:
    """Return a readable table of the report, then its errors and warnings and a summary."""
    header = ("name", "source", "type", "units", "required", "status", "value / note")
    rows = [
        (
            r.item.name,
            r.item.origin,
            r.item.type,
            r.item.units or "",
            "yes" if r.item.required else "no",
            r.status,
            _cell(r.value if r.value is not None else r.message),
        )
        for r in report.rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    lines = []
    if report.requests.path or report.requests.requested_by:
        lines.append(
            f"requests: {report.requests.path or '-'}"
            f" (requested by {report.requests.requested_by or 'unknown'})"
        )
    for row in (header, tuple("-" * w for w in widths), *rows):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    lines += [f"ERROR: {e}" for e in report.errors]
    lines += [f"warning: {w}" for w in report.warnings]
    if report.unreachable:
        lines.append("unreachable PVs: " + ", ".join(report.unreachable))
    verdict = "OK" if report.ok else "NOT OK"
    lines.append(
        f"{verdict}: {len(report.rows)} item(s), {len(report.errors)} error(s),"
        f" {len(report.warnings)} warning(s)"
    )
    return "\n".join(lines)
