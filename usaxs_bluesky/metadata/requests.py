"""Metadata requests: the start-document entry (key ``requested_metadata``) of a run.

A request file (YAML, :mod:`.request_files`) lists items; each is ``fixed``
(value in the file), ``pv`` (read from an EPICS PV when a run starts) or
``per_sample`` (given with each sample in the command file or plan call).
:func:`collect` builds the entry, refusing the run when a required item is
missing; :func:`per_sample_problems` checks per-sample values without
reading any PV. See docs/metadata.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .policy import MetadataError
from .request_model import MetadataItem, MetadataRequests, PVReader
from .request_pvs import EpicsPVReader, read_item
from .request_values import convert

START_KEY = "requested_metadata"
MISSING_OPTIONAL_KEY = "_missing_optional"
REQUESTED_BY_KEY = "_requested_by"
REQUIRED_KEY = "_required"
REQUEST_FILE_KEY = "_request_file"


def collect(
    requests: MetadataRequests,
    per_sample: Mapping[str, Any] | None = None,
    read_pv: PVReader | None = None,
    timeout: float = 5.0,
) -> dict[str, Any]:
    """Return ``{name: {"value", "units", "source"}}`` for the start document.

    ``source`` is ``"fixed"``, the PV name, or ``"per_sample"``. Optional items
    that are missing are omitted and their names listed under
    ``"_missing_optional"`` (always present, possibly empty); ``"_required"``
    lists the required items, ``"_requested_by"`` and ``"_request_file"``
    (when known) say who asked and where. Raise
    MetadataError naming every missing or invalid required item, every
    unknown per-sample name, and every per-sample value of the wrong type.
    """
    per_sample = dict(per_sample or {})
    problems = _unknown_names(requests, per_sample)
    if read_pv is None and requests.pv_names:
        read_pv = EpicsPVReader(requests.pv_names, timeout)
    result: dict[str, Any] = {}
    missing_optional: list[str] = []
    for item in requests.items:
        value, problem = _item_value(item, per_sample, read_pv)
        if problem is None:
            result[item.name] = {"value": value, "units": item.units, "source": item.origin}
        elif problem == "" and not item.required:
            missing_optional.append(item.name)
        elif problem == "":
            problems.append(f"required {item.name} ({item.origin}) missing")
        elif item.required or item.source == "per_sample":
            problems.append(f"{'required ' if item.required else ''}{item.name}: {problem}")
        else:
            missing_optional.append(item.name)
    if problems:
        raise MetadataError("run refused, requested metadata: " + "; ".join(problems))
    result[MISSING_OPTIONAL_KEY] = missing_optional
    result[REQUIRED_KEY] = [item.name for item in requests.items if item.required]
    if requests.requested_by:
        result[REQUESTED_BY_KEY] = requests.requested_by
    if requests.path is not None:
        result[REQUEST_FILE_KEY] = str(requests.path)
    return result


def _unknown_names(requests: MetadataRequests, per_sample: Mapping[str, Any]) -> list[str]:
    """Return a problem for each per-sample name the request does not declare."""
    declared = set(requests.names("per_sample"))
    return [
        f"{key!r} is not a per-sample item of the request"
        f" (per-sample items: {', '.join(sorted(declared)) or 'none'})"
        for key in sorted(set(per_sample) - declared)
    ]


def per_sample_problems(
    requests: MetadataRequests | None, per_sample: Mapping[str, Any] | None
) -> list[str]:
    """Return the problems of one sample's per-sample values, without reading any PV.

    Lists every missing required per-sample item, every value of the wrong
    type and every undeclared name; values given with no request loaded are
    a problem too. Empty when :func:`collect` would accept them.
    """
    per_sample = dict(per_sample or {})
    if requests is None:
        if per_sample:
            return [f"per-sample values {sorted(per_sample)} given but no metadata request loaded"]
        return []
    problems = _unknown_names(requests, per_sample)
    for item in requests.items:
        if item.source != "per_sample":
            continue
        _, problem = _item_value(item, per_sample, None)
        if problem == "" and item.required:
            problems.append(f"required {item.name} (per_sample) missing")
        elif problem:
            problems.append(f"{item.name}: {problem}")
    return problems


def _item_value(
    item: MetadataItem, per_sample: Mapping[str, Any], read_pv: PVReader | None
) -> tuple[Any, str | None]:
    """Return (value, None) when found, (None, '') when absent, (None, problem) when invalid."""
    if item.source == "fixed":
        return item.value, None
    if item.source == "per_sample":
        raw = per_sample.get(item.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None, ""
        try:
            return convert(raw, item.type), None
        except (ValueError, TypeError) as exc:
            return None, f"per-sample value {raw!r} is not {item.type}: {exc}"
    value, problem = read_item(item, read_pv)
    return (value, None) if not problem else (None, problem)


def requests_to_md(
    requests: MetadataRequests,
    per_sample: Mapping[str, Any] | None = None,
    read_pv: PVReader | None = None,
    timeout: float = 5.0,
) -> dict[str, Any]:
    """Return ``{"requested_metadata": collect(...)}``, ready to merge into a plan's ``md``."""
    return {START_KEY: collect(requests, per_sample, read_pv=read_pv, timeout=timeout)}
