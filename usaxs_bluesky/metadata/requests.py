"""Metadata requests: extra metadata users and staff declare before the experiment.

A request file (YAML) lists items; each is ``fixed`` (value in the file), ``pv``
(read from an EPICS PV when a run starts) or ``per_sample`` (given with each
sample in the command file or plan call). :func:`load_requests` parses and
validates the file, :func:`check_requests` also reads every PV, and
:func:`collect` builds the start-document entry (key ``requested_metadata``),
refusing the run when a required item is missing. See docs/metadata.md.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..contract.names import QUANTITY_TYPES
from .policy import MetadataError

START_KEY = "requested_metadata"
MISSING_OPTIONAL_KEY = "_missing_optional"
REQUESTED_BY_KEY = "_requested_by"
REQUIRED_KEY = "_required"
REQUEST_FILE_KEY = "_request_file"
SOURCES = ("fixed", "pv", "per_sample")
TYPES: dict[str, type] = {"str": str, "float": float, "int": int, "bool": bool}
ITEM_KEYS = ("name", "source", "value", "type", "pv", "units", "required", "description")
TOP_KEYS = ("requested_by", "items")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}

PVReader = Callable[[str], Any]
"""Reads one PV by name and returns its value; raises when it cannot."""


@dataclass(frozen=True)
class MetadataItem:
    """One requested metadata item, as declared in the request file."""

    name: str
    source: str
    type: str = "str"
    value: Any = None
    pv: str | None = None
    units: str | None = None
    required: bool = False
    description: str = ""

    @property
    def origin(self) -> str:
        """Return where the value comes from: ``fixed``, the PV name, or ``per_sample``."""
        return self.pv if self.source == "pv" and self.pv else self.source


@dataclass(frozen=True)
class MetadataRequests:
    """The parsed request file: its items, who asked and the file it came from."""

    items: tuple[MetadataItem, ...]
    requested_by: str | None = None
    path: Path | None = None

    def names(self, source: str | None = None) -> list[str]:
        """Return the item names, optionally only those of one ``source``."""
        return [i.name for i in self.items if source is None or i.source == source]

    @property
    def pv_names(self) -> list[str]:
        """Return the PV names of the ``pv`` items, in file order."""
        return [i.pv for i in self.items if i.source == "pv" and i.pv]


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


# ---------------------------------------------------------------- value conversion


def convert(value: Any, type_name: str) -> Any:
    """Return ``value`` converted to the declared type (str, float, int, bool).

    Accepts numpy scalars, one-element arrays, numeric strings and the usual
    boolean words; raises ``ValueError`` for anything else (arrays, NaN, ...).
    """
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"expected one {type_name}, got an array of shape {value.shape}")
        value = value.reshape(-1)[0]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if value is None:
        raise ValueError("no value")
    if type_name == "str":
        return value if isinstance(value, str) else str(value)
    if type_name == "bool":
        return _to_bool(value)
    if isinstance(value, bool):
        raise ValueError(f"expected {type_name}, got a boolean {value!r}")
    if type_name == "float":
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {value!r}")
        return number
    if type_name == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"expected an integer, got {value!r}")
            return int(value)
        return int(value)
    raise ValueError(f"unknown type {type_name!r}")


def _to_bool(value: Any) -> bool:
    """Return ``value`` as a bool (bool, 0/1, or true/false/yes/no/on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"expected a boolean, got {value!r}")


def _is_strictly(value: Any, type_name: str) -> bool:
    """Return True when a fixed value (from YAML) already is of the declared type."""
    if type_name == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, TYPES[type_name])


# ---------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML safe loader that refuses duplicate keys in a mapping."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        keys.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


#: bounds of a request file, checked before any value is built
MAX_REQUEST_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_EXPANDED_NODES = 100_000


def _expanded_nodes(node: yaml.Node, memo: dict[int, int]) -> int:
    """Return the number of nodes ``node`` stands for with every alias expanded (memoized)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    if isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    else:
        children = []
    total = 1 + sum(_expanded_nodes(child, memo) for child in children)
    memo[id(node)] = total
    return total


def _check_bounds(text: str, path: Path) -> None:
    """Raise MetadataError for a file too big, nested too deep or expanding too far (aliases).

    The depth is read from the parser's events (no recursion), the expansion
    from the composed node graph (shared nodes counted once each time they
    are used, in linear time): nothing is expanded to find out.
    """
    if len(text) > MAX_REQUEST_BYTES:
        raise MetadataError(
            f"{path}: {len(text)} characters; a request file holds at most {MAX_REQUEST_BYTES}"
        )
    depth = 0
    for event in yaml.parse(text, Loader=_UniqueKeyLoader):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1
                raise MetadataError(f"{path}: nested deeper than {MAX_DEPTH} levels (line {line})")
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
    node = yaml.compose(text, Loader=_UniqueKeyLoader)
    if node is not None and _expanded_nodes(node, {}) > MAX_EXPANDED_NODES:
        raise MetadataError(
            f"{path}: expands to more than {MAX_EXPANDED_NODES} values through aliases"
            " (a YAML alias bomb?); refused"
        )


def _item_problems(raw: Any) -> list[str]:
    """Return the problems of one raw item mapping (empty when it is valid)."""
    if not isinstance(raw, dict):
        return [f"must be a mapping, got {type(raw).__name__}"]
    problems = []
    unknown = sorted(str(k) for k in raw if k not in ITEM_KEYS)
    if unknown:
        problems.append(f"unknown key(s) {unknown}; allowed: {', '.join(ITEM_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        problems.append(
            f"name {name!r} is not a valid identifier (letter first, then letters, digits, _)"
        )
    source = raw.get("source")
    if source not in SOURCES:
        problems.append(f"source {source!r} not allowed; use one of {', '.join(SOURCES)}")
    type_name = raw.get("type", "str")
    if type_name not in TYPES:
        problems.append(f"type {type_name!r} not allowed; use one of {', '.join(TYPES)}")
    pv = raw.get("pv")
    if source == "pv" and (not isinstance(pv, str) or not pv.strip() or " " in pv.strip()):
        problems.append(f"source pv needs a PV name in 'pv', got {pv!r}")
    if source != "pv" and "pv" in raw:
        problems.append("'pv' is only allowed with source pv")
    if source == "fixed":
        if "value" not in raw or raw["value"] is None:
            problems.append("source fixed needs a 'value'")
        elif type_name in TYPES and not _is_strictly(raw["value"], type_name):
            problems.append(f"fixed value {raw['value']!r} is not of type {type_name}")
    elif "value" in raw:
        problems.append("'value' is only allowed with source fixed")
    units = raw.get("units")
    if units is not None and (not isinstance(units, str) or not units.strip()):
        problems.append(f"units must be a non-empty string, got {units!r}")
    if not isinstance(raw.get("required", False), bool):
        problems.append(f"required must be true or false, got {raw.get('required')!r}")
    if not isinstance(raw.get("description", ""), str):
        problems.append("description must be a string")
    return problems


def _make_item(raw: dict) -> MetadataItem:
    """Return the item of a validated raw mapping."""
    value = raw.get("value")
    if raw["source"] == "fixed" and raw.get("type", "str") == "float":
        value = float(value)
    return MetadataItem(
        name=raw["name"],
        source=raw["source"],
        type=raw.get("type", "str"),
        value=value,
        pv=raw["pv"].strip() if raw["source"] == "pv" else None,
        units=raw["units"].strip() if raw.get("units") else None,
        required=raw.get("required", False),
        description=raw.get("description", "") or "",
    )


def parse_requests(data: Any, filename: str = "<requests>") -> MetadataRequests:
    """Return the requests of already-parsed YAML ``data``; raise MetadataError listing problems."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise MetadataError(
            f"{filename}: must be a mapping with 'items', got {type(data).__name__}"
        )
    unknown = sorted(str(k) for k in data if k not in TOP_KEYS)
    if unknown:
        problems.append(f"unknown top-level key(s) {unknown}; allowed: {', '.join(TOP_KEYS)}")
    requested_by = data.get("requested_by")
    if requested_by is not None and not isinstance(requested_by, str):
        problems.append(f"requested_by must be a string, got {requested_by!r}")
    raw_items = data.get("items")
    if not isinstance(raw_items, list):
        problems.append(f"'items' must be a list, got {raw_items!r}")
        raw_items = []
    items: list[MetadataItem] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_items, start=1):
        label = f"item {index}"
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            label += f" ({raw['name']})"
        item_problems = _item_problems(raw)
        problems += [f"{label}: {p}" for p in item_problems]
        if item_problems:
            continue
        if raw["name"] in seen:
            problems.append(f"{label}: duplicate name, already used by item {seen[raw['name']]}")
            continue
        seen[raw["name"]] = index
        items.append(_make_item(raw))
    if problems:
        raise MetadataError(f"{filename}: " + "; ".join(problems))
    return MetadataRequests(items=tuple(items), requested_by=requested_by)


def load_requests(path: str | Path) -> MetadataRequests:
    """Return the validated requests of a YAML file; raise MetadataError naming file and item."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataError(f"{path}: cannot read request file: {exc}") from exc
    try:
        _check_bounds(text, path)
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise MetadataError(f"{path}: not valid YAML: {exc}") from exc
    parsed = parse_requests(data, str(path))
    return MetadataRequests(items=parsed.items, requested_by=parsed.requested_by, path=path)


# ---------------------------------------------------------------- reading PVs


class EpicsPVReader:
    """A :data:`PVReader` using pyepics: all PVs start connecting at once, one shared deadline.

    The CA environment (``EPICS_CA_ADDR_LIST``, ``EPICS_CA_SERVER_PORT``, ...) is taken
    from the process environment when pyepics creates its context.
    Enum and character-array PVs are read as strings.
    """

    def __init__(self, pv_names: list[str], timeout: float = 5.0) -> None:
        import epics

        self._deadline = time.monotonic() + timeout
        self._pvs = {name: epics.get_pv(name, connect=False) for name in dict.fromkeys(pv_names)}

    def __call__(self, name: str) -> Any:
        """Return the value of PV ``name``; raise TimeoutError when it does not connect."""
        import epics

        pv = self._pvs.get(name) or epics.get_pv(name, connect=False)
        remaining = max(self._deadline - time.monotonic(), 0.05)
        if not pv.wait_for_connection(timeout=remaining):
            raise TimeoutError(f"PV {name} not connected")
        as_string = bool(pv.enum_strs) or (pv.type in ("char", "ctrl_char", "time_char"))
        value = pv.get(as_string=as_string, timeout=remaining)
        if value is None:
            raise TimeoutError(f"PV {name} connected but no value read")
        return value


def _read(item: MetadataItem, read_pv: PVReader) -> tuple[Any, str]:
    """Return (converted value, '') or (None, problem) for a ``pv`` item."""
    try:
        raw = read_pv(item.pv)
    except Exception as exc:  # reported, never swallowed: the caller lists it
        return None, f"PV {item.pv} unreachable: {exc}"
    try:
        return convert(raw, item.type), ""
    except (ValueError, TypeError) as exc:
        return None, f"PV {item.pv} value {raw!r} is not {item.type}: {exc}"


# ---------------------------------------------------------------- check


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
            value, message = _read(item, read_pv)
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


# ---------------------------------------------------------------- collect


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
    value, problem = _read(item, read_pv)
    return (value, None) if not problem else (None, problem)


def requests_to_md(
    requests: MetadataRequests,
    per_sample: Mapping[str, Any] | None = None,
    read_pv: PVReader | None = None,
    timeout: float = 5.0,
) -> dict[str, Any]:
    """Return ``{"requested_metadata": collect(...)}``, ready to merge into a plan's ``md``."""
    return {START_KEY: collect(requests, per_sample, read_pv=read_pv, timeout=timeout)}
