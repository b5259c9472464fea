"""``usaxs serve``: serve the run catalog over HTTP (Tiled), each API key seeing its own runs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..catalog import DEFAULT_MOUNT
from .common import default_data_dir

KEYS_ENV = "USAXS_TILED_KEYS"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8010


def _run(args: argparse.Namespace) -> int:
    from ..catalog.server import check_mount, serve

    check_mount(args.mount)

    if args.keys is None:
        raise ValueError(f"--keys: give the YAML file of API keys (or set ${KEYS_ENV})")
    if not args.keys.is_file():
        raise FileNotFoundError(f"--keys: no file {args.keys}")
    print(
        f"serving the catalog of {args.catalog_uri or args.data_dir} "
        f"on http://{args.host}:{args.port}/api/v1/metadata/{args.mount}",
        flush=True,
    )
    serve(
        data_dir=args.data_dir,
        keys_file=args.keys,
        host=args.host,
        port=args.port,
        catalog_uri=args.catalog_uri,
        mount=args.mount,
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve`` sub-command."""
    p = sub.add_parser("serve", help="serve the catalog over HTTP with per-user API keys")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"interface (default {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--data-dir", type=Path, default=default_data_dir(), help="data directory")
    p.add_argument(
        "--catalog-uri",
        default=None,
        help="serve this catalog database instead (e.g. postgresql+asyncpg://user@host/db)",
    )
    p.add_argument(
        "--mount",
        default=DEFAULT_MOUNT,
        help=f"name the catalog of runs is served under (default {DEFAULT_MOUNT})",
    )
    keys = os.environ.get(KEYS_ENV)
    p.add_argument(
        "--keys",
        type=Path,
        default=Path(keys) if keys else None,
        help=f"YAML file: key -> {{user, proposals, staff}} (default ${KEYS_ENV})",
    )
    p.set_defaults(func=_run)
