"""Open the run catalog: an embedded Tiled catalog (SQLite) under the data directory, or a server.

The embedded catalog keeps run metadata in ``<data_dir>/catalog/catalog.db``,
event tables in ``<data_dir>/catalog/tables.db`` and arrays under
``<data_dir>/catalog/storage``; any process can open it again and search it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from tiled.client.container import Container

CATALOG_DIR = "catalog"


def embedded_paths(data_dir: Path) -> dict[str, Path]:
    """Return the files and folder of the embedded catalog under ``data_dir``."""
    root = Path(data_dir) / CATALOG_DIR
    return {
        "root": root,
        "catalog": root / "catalog.db",
        "tables": root / "tables.db",
        "storage": root / "storage",
    }


def embedded_adapter(data_dir: str | Path, *, create: bool = False) -> Any:
    """Return the Tiled catalog adapter of the embedded catalog under ``data_dir``.

    Raises ``FileNotFoundError`` when it does not exist and ``create`` is false.
    """
    paths = embedded_paths(Path(data_dir))
    exists = paths["catalog"].exists()
    if not create and not exists:
        raise FileNotFoundError(f"no catalog at {paths['catalog']}")
    paths["storage"].mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from tiled.catalog import from_uri as catalog_from_uri

    return catalog_from_uri(
        f"sqlite:///{paths['catalog']}",
        writable_storage=[str(paths["storage"]), f"sqlite:///{paths['tables']}"],
        init_if_not_exists=create and not exists,
    )


def open_catalog(
    data_dir: str | Path | None = None,
    *,
    uri: str | None = None,
    api_key: str | None = None,
    create: bool = True,
) -> Container:
    """Return a Tiled client on the run catalog.

    ``uri`` (``http://...``) selects a Tiled server; otherwise the embedded
    SQLite catalog under ``data_dir`` is opened (and made if ``create``).
    """
    if uri:
        from tiled.client import from_uri

        return from_uri(uri, api_key=api_key)
    if data_dir is None:
        raise ValueError("open_catalog needs a data directory or a server URI")
    adapter = embedded_adapter(data_dir, create=create)
    logging.getLogger("tiled.server.app").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from tiled.client import Context, from_context
        from tiled.server.app import build_app

        return from_context(Context.from_app(build_app(adapter)))
