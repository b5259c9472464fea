"""Metadata requests, the model: items (``fixed``, ``pv``, ``per_sample``) and the parsed file.

See docs/metadata.md. Loading is in :mod:`.request_files`, value conversion in
:mod:`.request_values`, PV reading in :mod:`.request_pvs`, the check report in
:mod:`.request_report` and the start-document entry in :mod:`.requests`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCES = ("fixed", "pv", "per_sample")
TYPES: dict[str, type] = {"str": str, "float": float, "int": int, "bool": bool}

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
