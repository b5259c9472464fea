"""A data directory that was moved or copied keeps working: its catalog follows it.

Tiled records the event tables and array files of a run as absolute URIs
(``assets.data_uri``) and our file records (``usaxs_files``) hold absolute
paths. The catalog remembers the data directory it was last opened in
(``<data_dir>/catalog/data_root``); when it is opened from another place,
every asset URI and file record under the old directory is rewritten to
the same relative place under the new one, in one transaction, before
Tiled reads anything. The paths a client reads in the start documents
(``hdf5_path``, ``command_file``, ... : every string naming a place under the
old directory) follow too, so the facility's tools (Matilda reads and filters
on ``hdf5_path``) find the files where they now are; the values as the
instrument recorded them are kept under :data:`RECORDED_KEY`. Nothing outside
the old directory is touched, so a copy never refers to (or deletes) the
original's files. The files themselves are never rewritten (their SHA-256
is recorded).
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path, PurePosixPath
from typing import Any

from .files import FILES_KEY

LOCATION_FILE = "data_root"
CATALOG_DIR = "catalog"
TABLES_DB = "tables.db"
START_KEY = "start"
#: run metadata key: {dotted start key: value as recorded} of the start paths a move re-rooted
RECORDED_KEY = "start_as_recorded"


def data_root(data_dir: str | Path) -> str:
    """Return the absolute, normalized path of ``data_dir`` (symlinks kept, as Tiled records)."""
    return os.path.abspath(data_dir)


def _moved(path: str, old: str, new: str) -> str | None:
    """Return ``path`` re-rooted from ``old`` to ``new``, or None when it is not under ``old``."""
    try:
        rest = PurePosixPath(path).relative_to(old)
    except ValueError:
        return None
    return str(PurePosixPath(new) / rest)


def moved_uri(uri: str, old: str, new: str) -> str | None:
    """Return asset ``uri`` re-rooted from ``old`` to ``new``; None when not under ``old``."""
    from tiled.utils import path_from_uri

    try:
        path = str(path_from_uri(uri))
    except ValueError:
        return None
    target = _moved(path, old, new)
    if target is None:
        return None
    at = uri.index(path)
    return uri[:at] + target + uri[at + len(path) :]


def _old_root(db: sqlite3.Connection) -> str | None:
    """The data directory the catalog's event tables were written in (catalogs without a marker)."""
    from tiled.utils import path_from_uri  # imported here: yaml is slow to import

    suffix = f"/{CATALOG_DIR}/{TABLES_DB}"
    for (uri,) in db.execute("SELECT data_uri FROM assets WHERE data_uri LIKE ?", (f"%{suffix}",)):
        try:
            return str(path_from_uri(uri))[: -len(suffix)]
        except ValueError:
            continue
    return None


def rerooted_start(start: dict[str, Any], old: str, new: str) -> tuple[dict, dict[str, str]]:
    """Return ``start`` with every path under ``old`` re-rooted to ``new``, and the originals.

    The originals are ``{dotted key: recorded value}`` of the values that changed
    (``plan_args.file``, ``files[0]`` for nested ones).
    """
    originals: dict[str, str] = {}

    def walk(value: Any, name: str) -> Any:
        if isinstance(value, str):
            target = _moved(value, old, new) if value.startswith("/") else None
            if target is None:
                return value
            originals[name] = value
            return target
        if isinstance(value, dict):
            return {k: walk(v, f"{name}.{k}" if name else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{name}[{i}]") for i, v in enumerate(value)]
        return value

    return walk(start, ""), originals


def moved_roots(recorded: str, actual: str) -> tuple[str, str] | None:
    """Return ``(old root, new root)`` that turn folder ``recorded`` into ``actual``: their
    differing heads, the common tail dropped; None when they are the same folder."""
    old, new = PurePosixPath(recorded).parts, PurePosixPath(actual).parts
    if old == new:
        return None
    tail = 0
    while tail < min(len(old), len(new)) - 1 and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return str(PurePosixPath(*old[: len(old) - tail])), str(PurePosixPath(*new[: len(new) - tail]))


def start_where_found(start: dict[str, Any], path: str | Path) -> tuple[dict, dict[str, str]]:
    """Return ``start`` re-rooted so that its ``hdf5_path`` is the folder of raw file ``path``
    (found elsewhere than recorded, e.g. by a reindex after a move), and the originals as
    :func:`rerooted_start`; unchanged when it is where recorded or names no absolute folder."""
    recorded = start.get("hdf5_path")
    if not isinstance(recorded, str) or not recorded.startswith("/"):
        return start, {}
    roots = moved_roots(recorded, data_root(Path(path).parent))
    if roots is None:
        return start, {}
    return rerooted_start(start, *roots)


def rerooted_metadata(metadata: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """Return a run's metadata with its file records and start paths re-rooted to ``new``.

    The start values as first recorded are kept under :data:`RECORDED_KEY`
    (a second move keeps the first originals).
    """
    out = dict(metadata)
    records = metadata.get(FILES_KEY)
    if records:
        out[FILES_KEY] = [
            dict(r, path=_moved(str(r.get("path", "")), old, new) or r["path"]) for r in records
        ]
    start = metadata.get(START_KEY)
    if isinstance(start, dict):
        out[START_KEY], originals = rerooted_start(start, old, new)
        if originals:
            out[RECORDED_KEY] = {**originals, **(metadata.get(RECORDED_KEY) or {})}
    return out


def _rewrite(db: sqlite3.Connection, old: str, new: str) -> int:
    """Re-root asset URIs, file records and start paths from ``old`` to ``new``; return how many
    changed."""
    changed = 0
    for asset_id, uri in db.execute("SELECT id, data_uri FROM assets").fetchall():
        target = moved_uri(uri, old, new)
        if target is not None:
            db.execute("UPDATE assets SET data_uri = ? WHERE id = ?", (target, asset_id))
            changed += 1
    rows = db.execute(
        "SELECT id, metadata FROM nodes"
        " WHERE json_extract(metadata, ?) IS NOT NULL OR json_extract(metadata, ?) IS NOT NULL",
        (f"$.{FILES_KEY}", f"$.{START_KEY}"),
    ).fetchall()
    for node_id, text in rows:
        metadata = json.loads(text)
        moved = rerooted_metadata(metadata, old, new)
        if moved != metadata:
            db.execute("UPDATE nodes SET metadata = ? WHERE id = ?", (json.dumps(moved), node_id))
            changed += 1
    return changed


def follow_move(data_dir: str | Path) -> str | None:
    """Re-root the embedded catalog of ``data_dir`` if it was last opened elsewhere.

    Returns the old data directory when the catalog was moved (else None).
    Raises ``OSError``/``sqlite3.Error`` naming both places when the moved
    catalog cannot be updated (e.g. a read-only copy).
    """
    new = data_root(data_dir)
    folder = Path(new) / CATALOG_DIR
    marker = folder / LOCATION_FILE
    with closing(sqlite3.connect(folder / "catalog.db", timeout=30, isolation_level=None)) as db:
        old = marker.read_text().strip() if marker.exists() else _old_root(db)
        if old == new:
            return None
        try:
            if old:
                db.execute("BEGIN IMMEDIATE")
                try:
                    _rewrite(db, old, new)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            partial = marker.with_name(f".{LOCATION_FILE}.partial")
            partial.write_text(new + "\n")
            partial.replace(marker)
        except (OSError, sqlite3.Error) as err:
            raise type(err)(
                f"the data directory moved from {old} to {new} and its catalog cannot follow: {err}"
            ) from err
    return old
