"""Metadata requests: loading and validating a request file (YAML, bounded, unique keys)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .policy import MetadataError
from .request_model import SOURCES, TYPES, MetadataItem, MetadataRequests
from .request_values import is_strictly

ITEM_KEYS = ("name", "source", "value", "type", "pv", "units", "required", "description")
TOP_KEYS = ("requested_by", "items")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


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
        elif type_name in TYPES and not is_strictly(raw["value"], type_name):
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
