"""Field-by-field comparison of our raw files with the facility's, and its documented exceptions.

The exceptions are the table "Facility fields we do not write" in
docs/files.md (one place): kind, facility path pattern (``fnmatch``), reason.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

import h5py

DOCS = Path(__file__).resolve().parents[2] / "docs" / "files.md"
TABLE_TITLE = "## Facility fields we do not write"
KINDS = ("fly", "step", "saxs", "waxs")

#: dtype families: a field must hold the same family of values as the facility's
FAMILIES = {"f": "float", "i": "integer", "u": "integer", "S": "text", "O": "text", "U": "text"}
#: unit spellings that mean the same (lower case)
UNIT_ALIASES = {
    "degrees": "deg",
    "degree": "deg",
    "a": "angstrom",
    "pulses": "counts",
    "1/s": "hz",
    "c/s": "counts/s",
}


@dataclass(frozen=True)
class Field:
    """A dataset of a file: path, rank, dtype family, units."""

    path: str
    rank: int
    family: str
    units: str


def canonical_units(units: str) -> str:
    """Return ``units`` spelled one way (lower case, aliases resolved)."""
    text = units.strip().lower()
    return UNIT_ALIASES.get(text, text)


def fields(path: str | Path) -> dict[str, Field]:
    """Return every dataset of an HDF5 file by each path reaching it (hard links, virtual)."""
    found: dict[str, Field] = {}

    def walk(group: h5py.Group, prefix: str) -> None:
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                continue
            obj, where = group[name], f"{prefix}/{name}"
            if isinstance(obj, h5py.Group):
                if isinstance(link, h5py.HardLink):
                    walk(obj, where)
                continue
            units = obj.attrs.get("units", "")
            units = units.decode() if isinstance(units, bytes) else str(units)
            family = FAMILIES.get(obj.dtype.kind, obj.dtype.kind)
            found[where] = Field(where, obj.ndim, family, units)

    with h5py.File(path, "r") as f:
        walk(f, "")
    return found


def exceptions(kind: str) -> list[tuple[str, str]]:
    """Return the (pattern, reason) rows of docs/files.md's exception table for ``kind``."""
    text = DOCS.read_text()
    start = text.index(TABLE_TITLE)
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("kind", "---"):
            continue
        kinds = [k.strip() for k in cells[0].split(",")]
        if kind in kinds or "all" in kinds:
            for pattern in re.findall(r"`([^`]+)`", cells[1]):
                rows.append((pattern, cells[2]))
    return rows


def differences(ours: str | Path, theirs: str | Path, kind: str) -> list[str]:
    """Return each field of the facility's file that ours lacks or holds differently.

    Fields matching an exception of ``kind`` are not compared.
    """
    mine, real = fields(ours), fields(theirs)
    skip = exceptions(kind)
    problems = []
    for path, field in sorted(real.items()):
        if any(fnmatch.fnmatchcase(path, pattern) for pattern, _ in skip):
            continue
        other = mine.get(path)
        if other is None:
            problems.append(f"{path}: missing")
            continue
        if other.rank != field.rank:
            problems.append(f"{path}: rank {other.rank}, facility {field.rank}")
        if other.family != field.family:
            problems.append(f"{path}: {other.family}, facility {field.family}")
        if field.units and canonical_units(other.units) != canonical_units(field.units):
            problems.append(f"{path}: units {other.units!r}, facility {field.units!r}")
    return problems


def unused_exceptions(theirs: str | Path, kind: str) -> list[str]:
    """Return the exception patterns of ``kind`` that match no field of the facility's file."""
    real = fields(theirs)
    return [p for p, _ in exceptions(kind) if not any(fnmatch.fnmatchcase(f, p) for f in real)]
