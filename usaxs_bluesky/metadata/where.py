"""``where``: which HDF5 path of a file holds which metadata, and where it came from.

Works on the facility's files (``@epics_pv`` on fly-scan metadata, ``@source``
in bluesky-written files, ``@NDAttrSource`` in areaDetector files) and on ours
(``@epics_pv`` or ``@ophyd_name``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .policy import MetadataError

SOURCE_ATTRS = ("epics_pv", "ophyd_name", "source", "NDAttrSource")
"""Attributes naming where a value came from, in order of preference."""


@dataclass(frozen=True)
class MetadataLocation:
    """One dataset holding metadata.

    ``value`` is the Python scalar (or decoded string) of datasets with one
    element, else a short text ``"array (8000,) float64"``. ``units`` and
    ``source`` are None when the file does not say; ``source_attr`` names the
    attribute ``source`` was read from (``epics_pv``, ``ophyd_name``, ...).
    """

    hdf5_path: str
    value: Any
    units: str | None
    source: str | None
    source_attr: str | None = None


def _text(value: Any) -> str | None:
    """Return an attribute value as a stripped string, None when empty."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, bytes | np.bytes_):
        value = value.decode("utf-8", errors="replace")
    text = str(value).strip() if value is not None else ""
    return text or None


def _short_value(dataset: h5py.Dataset) -> Any:
    """Return the scalar value of a one-element dataset, else a short shape/dtype text."""
    if dataset.size != 1 or dataset.dtype.kind == "V":
        return f"array {dataset.shape} {dataset.dtype}"
    value = dataset[()]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0]
    if isinstance(value, bytes | np.bytes_):
        return value.decode("utf-8", errors="replace")
    return value.item() if isinstance(value, np.generic) else value


def _location(path: str, dataset: h5py.Dataset) -> MetadataLocation | None:
    """Return the location of a dataset that carries metadata attributes, else None."""
    attrs = dataset.attrs
    source = source_attr = None
    for name in SOURCE_ATTRS:
        if name in attrs and _text(attrs[name]):
            source, source_attr = _text(attrs[name]), name
            break
    has_units = "units" in attrs
    if source is None and not has_units:
        return None
    units = _text(attrs["units"]) if has_units else None
    return MetadataLocation(
        "/" + path.lstrip("/"), _short_value(dataset), units, source, source_attr
    )


def _matches(location: MetadataLocation, needle: str) -> bool:
    """Return True when ``needle`` is in the dataset name, its path or its source."""
    hay = (location.hdf5_path.rsplit("/", 1)[-1], location.hdf5_path, location.source or "")
    return any(needle in h.lower() for h in hay)


def where(path: str | Path, name: str | None = None) -> list[MetadataLocation]:
    """Return every metadata dataset of an HDF5 file, in path order.

    A dataset counts when it has an ``epics_pv``, ``ophyd_name``, ``source``,
    ``NDAttrSource`` or ``units`` attribute. ``name`` filters by a
    case-insensitive substring of the dataset name, its path or its source.
    Soft and hard links are listed under each of their paths; external links
    are not followed. Raise MetadataError for a missing or non-HDF5 file.
    """
    path = Path(path)
    if not path.is_file():
        raise MetadataError(f"{path}: no such file")
    if not h5py.is_hdf5(path):
        raise MetadataError(f"{path}: not an HDF5 file")
    found: list[MetadataLocation] = []
    with h5py.File(path, "r") as root:

        def visit(link_path: str, link: Any) -> None:
            if isinstance(link, h5py.ExternalLink):
                return
            obj = root.get(link_path)
            if isinstance(obj, h5py.Dataset):
                location = _location(link_path, obj)
                if location is not None:
                    found.append(location)

        root.visititems_links(visit)
    if name:
        needle = name.lower()
        found = [loc for loc in found if _matches(loc, needle)]
    return sorted(found, key=lambda loc: loc.hdf5_path)


def format_locations(locations: list[MetadataLocation], width: int = 40) -> str:
    """Return a table (path, value, units, source) of the locations, or a 'none found' line."""
    if not locations:
        return "no matching metadata found"
    header = ("hdf5 path", "value", "units", "source")
    rows = []
    for loc in locations:
        value = str(loc.value).replace("\n", " ")
        value = value if len(value) <= width else value[: width - 3] + "..."
        rows.append((loc.hdf5_path, value, loc.units or "", loc.source or ""))
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=False)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, tuple("-" * w for w in widths), *rows)
    ]
    lines.append(f"{len(locations)} dataset(s)")
    return "\n".join(lines)
