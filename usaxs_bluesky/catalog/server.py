"""Serve the run catalog over HTTP with Tiled: API keys from a file, each key sees its runs only.

The embedded catalog of a data directory is served as is; the same code
serves a PostgreSQL catalog (``catalog_uri="postgresql+asyncpg://..."``).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from fastapi import Depends, HTTPException, Request
from tiled.server.authentication import get_api_key, get_current_principal, get_current_scopes

from .access import Grant, OwnerAccessPolicy, load_keys
from .store import embedded_adapter, embedded_paths


def catalog_adapter(data_dir: Path | None = None, *, catalog_uri: str | None = None) -> Any:
    """Return the Tiled adapter of the embedded catalog in ``data_dir``, or of ``catalog_uri``.

    Raises ``FileNotFoundError`` when the embedded catalog does not exist.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from tiled.catalog import from_uri as catalog_from_uri
    if catalog_uri:
        # arrays in files under the data directory; event tables in the same database
        storage = [str(embedded_paths(Path(data_dir or "."))["storage"].absolute()), catalog_uri]
        return catalog_from_uri(catalog_uri, writable_storage=storage)
    if data_dir is None:
        raise ValueError("serve needs a data directory or a catalog URI")
    return embedded_adapter(data_dir)


def build_server_app(adapter: Any, grants: dict[str, Grant]) -> Any:
    """Return the Tiled ASGI app on ``adapter`` where each key of ``grants`` sees its runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from tiled.server.app import build_app

    app = build_app(adapter, access_policy=OwnerAccessPolicy(grants))

    def grant_of(api_key: str | None) -> Grant | None:
        if api_key is None:
            return None
        grant = grants.get(api_key)
        if grant is None:
            raise HTTPException(status_code=401, detail="Invalid API key")
        return grant

    async def principal(request: Request, api_key: str | None = Depends(get_api_key)):
        grant = grant_of(api_key)
        request.state.principal = grant.principal() if grant else None
        return request.state.principal

    async def scopes(api_key: str | None = Depends(get_api_key)) -> set[str]:
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
) -> None:
    """Run the server until interrupted (uvicorn)."""
    import uvicorn

    grants = load_keys(keys_file)
    app = build_server_app(catalog_adapter(data_dir, catalog_uri=catalog_uri), grants)
    logging.getLogger("tiled").setLevel(logging.WARNING)
    uvicorn.run(app, host=host, port=port, log_level="warning")
