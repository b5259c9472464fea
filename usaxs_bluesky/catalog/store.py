"""Open the run catalog: an embedded Tiled catalog (SQLite) under the data directory, or a server.

The embedded catalog keeps run metadata in ``<data_dir>/catalog/catalog.db``,
event tables in ``<data_dir>/catalog/tables.db`` and arrays under
``<data_dir>/catalog/storage``; any process can open it again and search it,
also after the whole data directory was moved or copied (:mod:`.relocate`).
Its root carries the ``CatalogOfBlueskyRuns`` spec (a catalog of runs).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from .indexes import ensure_indexes
from .relocate import CATALOG_DIR, data_root, follow_move

if TYPE_CHECKING:
    from tiled.client.container import Container

RUNS_SPECS = [{"name": "CatalogOfBlueskyRuns", "version": "3.0"}]
TILED_BANNER = "Tiled version"


def _not_tiled_banner(record: logging.LogRecord) -> bool:
    """False for the line tiled's server logs at every start (``Tiled version X``)."""
    return not record.getMessage().startswith(TILED_BANNER)


def quiet_tiled_banner() -> None:
    """Drop tiled's start banner from every output. A filter, not a level: importing
    ``tiled.server.app`` sets its logger's level (so a level set before is lost)."""
    logging.getLogger("tiled.server.app").addFilter(_not_tiled_banner)


def embedded_paths(data_dir: Path) -> dict[str, Path]:
    """Return the files and folder of the embedded catalog under ``data_dir``."""
    root = Path(data_root(data_dir)) / CATALOG_DIR
    return {
        "root": root,
        "catalog": root / "catalog.db",
        "tables": root / "tables.db",
        "storage": root / "storage",
    }


def embedded_adapter(data_dir: str | Path, *, create: bool = False) -> Any:
    """Return the Tiled catalog adapter of the embedded catalog under ``data_dir``.

    A catalog last opened in another place is re-rooted here first; the
    search indexes (:mod:`.indexes`) are made when missing.
    Raises ``FileNotFoundError`` when it does not exist and ``create`` is false.
    """
    paths = embedded_paths(Path(data_dir))
    exists = paths["catalog"].exists()
    if not create and not exists:
        raise FileNotFoundError(f"no catalog at {paths['catalog']}")
    paths["storage"].mkdir(parents=True, exist_ok=True)
    if exists:
        follow_move(data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from tiled.catalog import from_uri as catalog_from_uri

    adapter = catalog_from_uri(
        f"sqlite:///{paths['catalog']}",
        writable_storage=[str(paths["storage"]), f"sqlite:///{paths['tables']}"],
        init_if_not_exists=create and not exists,
        specs=RUNS_SPECS,
    )
    if not exists:
        follow_move(data_dir)  # remember where it was made
    ensure_indexes(paths["catalog"])
    return adapter


def open_catalog(
    data_dir: str | Path | None = None,
    *,
    uri: str | None = None,
    api_key: str | None = None,
    create: bool = True,
    mount: str | None = None,
    catalog_uri: str | None = None,
) -> Container:
    """Return a Tiled client on the run catalog.

    ``uri`` (``http://...``) selects a Tiled server: a bare ``http://host:port``
    opens its catalog of runs under ``mount`` (default ``usaxs``), a URI with a
    path (``.../api/v1/metadata/NAME``) that node. ``catalog_uri``
    (``postgresql://...``) opens that database in process (:mod:`.pg`; arrays
    under ``data_dir``). Otherwise the embedded SQLite catalog under
    ``data_dir`` is opened. Either is made first if ``create``.
    """
    from .server import DEFAULT_MOUNT, catalog_app

    if uri:
        from tiled.client import from_uri

        client = from_uri(uri, api_key=api_key)
        if urlparse(uri).path.strip("/") == "":
            client = client[mount or DEFAULT_MOUNT]
        return client
    if data_dir is None:
        raise ValueError("open_catalog needs a data directory or a server URI")
    if catalog_uri:
        from .pg import pg_adapter

        adapter = pg_adapter(catalog_uri, data_dir, create=create)
    else:
        adapter = embedded_adapter(data_dir, create=create)
    quiet_tiled_banner()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        # tiled's in-process client imports starlette's test client, which warns (a UserWarning)
        warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
        from tiled.client import Context, from_context

        return from_context(Context.from_app(catalog_app(adapter)))
