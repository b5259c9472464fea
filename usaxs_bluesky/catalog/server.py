"""Serve the run catalog over HTTP with Tiled: API keys from a file, each key sees its runs only.

The catalog of runs is mounted under a name (:data:`DEFAULT_MOUNT`, as the
facility's server: ``/api/v1/search/usaxs``) and carries the
``CatalogOfBlueskyRuns`` spec, so bluesky-tiled-plugins' client treats it
as a catalog of runs. Queries go through :mod:`.queries` (all run in SQL
or refused with a 400) and :mod:`.http_rules`; ``run.documents()`` replays
a run's documents (bluesky-tiled-plugins' ``application/json-seq``
exporter). The same code serves a PostgreSQL catalog
(``catalog_uri="postgresql+asyncpg://..."``).
"""

from __future__ import annotations

import copy
import logging
import re
import warnings
from pathlib import Path
from typing import Any

from fastapi import Depends, HTTPException, Request
from tiled.server.authentication import (
    StrictAPIKeyHeader,
    get_api_key,
    get_current_principal,
    get_current_scopes,
)

from . import DEFAULT_MOUNT
from .access import Grant, OwnerAccessPolicy, load_keys
from .http_rules import MAX_HEADER_BYTES, CatalogHTTPRules, query_fields
from .queries import server_query_registry
from .store import embedded_adapter

JSON_SEQ = "application/json-seq"
_MOUNT = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER_KEY = StrictAPIKeyHeader(name="Authorization", scheme_name="Apikey", auto_error=False)


def check_mount(name: str) -> str:
    """Return ``name`` if it is a mount name (letters, digits, ``_``, ``-``); else ValueError."""
    if not _MOUNT.match(name):
        raise ValueError(f"--mount: {name!r} is not a name of letters, digits, _ or -")
    return name


def catalog_adapter(data_dir: Path | None = None, *, catalog_uri: str | None = None) -> Any:
    """Return the Tiled adapter of the embedded catalog in ``data_dir``, or of ``catalog_uri``.

    A PostgreSQL ``catalog_uri`` (:mod:`.pg`) keeps arrays under ``data_dir`` and
    event tables in its database. Raises ``FileNotFoundError`` when the embedded
    catalog does not exist.
    """
    if catalog_uri:
        from .pg import pg_adapter

        return pg_adapter(catalog_uri, data_dir or ".")
    if data_dir is None:
        raise ValueError("serve needs a data directory or a catalog URI")
    return embedded_adapter(data_dir)


def _serializers() -> Any:
    """Tiled's serializers plus the json-seq document exporter of bluesky-tiled-plugins."""
    from bluesky_tiled_plugins.exporters import json_seq_exporter
    from tiled.media_type_registration import default_serialization_registry

    registry = copy.deepcopy(default_serialization_registry)
    registry.register("container", JSON_SEQ, json_seq_exporter)
    return registry


async def header_api_key(api_key: str | None = Depends(_HEADER_KEY)) -> str | None:
    """The API key of the ``Authorization: Apikey`` header (never the URL or a cookie)."""
    return api_key


def catalog_app(adapter: Any, *, mount: str = "", access_policy: Any = None) -> Any:
    """Return the Tiled ASGI app on ``adapter``, under ``mount`` when given (else at the root)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from tiled.adapters.mapping import MapAdapter
        from tiled.server.app import build_app

    tree = MapAdapter({check_mount(mount): adapter}) if mount else adapter
    # a mounted catalog's own start-up (database check, caches) runs as if it were the root
    tasks = {
        "startup": list(getattr(adapter, "startup_tasks", [])) if mount else [],
        "shutdown": list(getattr(adapter, "shutdown_tasks", [])) if mount else [],
    }
    registry = server_query_registry()
    app = build_app(
        tree,
        tasks=tasks,
        access_policy=access_policy,
        query_registry=registry,
        serialization_registry=_serializers(),
    )
    app.add_middleware(CatalogHTTPRules, fields=query_fields(registry), runs=mount)
    app.dependency_overrides[get_api_key] = header_api_key
    return app


def build_server_app(adapter: Any, grants: dict[str, Grant], *, mount: str = DEFAULT_MOUNT) -> Any:
    """Return the app serving ``adapter`` under ``mount``; each key of ``grants`` sees its runs."""
    app = catalog_app(adapter, mount=mount, access_policy=OwnerAccessPolicy(grants))

    def grant_of(api_key: str | None) -> Grant | None:
        if api_key is None:
            return None
        grant = grants.get(api_key)
        if grant is None:
            raise HTTPException(status_code=401, detail="Invalid API key")
        return grant

    async def principal(request: Request, api_key: str | None = Depends(header_api_key)):
        grant = grant_of(api_key)
        request.state.principal = grant.principal() if grant else None
        return request.state.principal

    async def scopes(api_key: str | None = Depends(header_api_key)) -> set[str]:
        grant = grant_of(api_key)
        return set(grant.scopes) if grant else set()

    app.dependency_overrides[get_current_principal] = principal
    app.dependency_overrides[get_current_scopes] = scopes
    return app


def serve(
    *,
    data_dir: Path | None,
    keys_file: Path,
    host: str,
    port: int,
    catalog_uri: str | None = None,
    mount: str = DEFAULT_MOUNT,
) -> None:
    """Run the server until interrupted (uvicorn; headers over the bound refused by the parser)."""
    import uvicorn

    grants = load_keys(keys_file)
    adapter = catalog_adapter(data_dir, catalog_uri=catalog_uri)
    app = build_server_app(adapter, grants, mount=mount)
    logging.getLogger("tiled").setLevel(logging.WARNING)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        http="h11",
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
