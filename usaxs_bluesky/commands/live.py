"""``usaxs live``: the web page of the instrument's status and latest data, or a static snapshot."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..livepage.defaults import (
    DEFAULT_CATALOG_POLL_S,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REFRESH_MS,
    DEFAULT_SESSION_HOURS,
)
from .common import default_data_dir
from .serve import KEYS_ENV

CATALOG_KEY_ENV = "USAXS_LIVE_CATALOG_KEY"
#: Tiled client retries of one catalog read (its defaults: 10 attempts over 45 s), so that
#: a catalog server that went away shows as stale within seconds; read by tiled at import
TILED_RETRIES = {"TILED_RETRY_ATTEMPTS": "2", "TILED_RETRY_TIMEOUT": "2.0"}


def _config(args: argparse.Namespace):
    from ..livepage.service import LiveConfig

    if args.keys is not None and not args.keys.is_file():
        raise FileNotFoundError(f"--keys: no file {args.keys}")
    if not args.refresh_ms >= 100 or not args.catalog_poll >= 0.05:
        raise ValueError("--refresh-ms must be >= 100 and --catalog-poll >= 0.05")
    if args.session_hours <= 0:
        raise ValueError(f"--session-hours must be > 0, got {args.session_hours}")
    return LiveConfig(
        data_dir=args.data_dir.expanduser().resolve(),
        keys_file=args.keys,
        catalog_uri=args.catalog_uri,
        catalog_key=args.catalog_key,
        host=args.host,
        port=args.port,
        base_path=args.base_path,
        public_runs=args.public_runs,
        session_hours=args.session_hours,
        pv_map=args.pv_map,
        monitor_pvs=not args.no_pvs,
        poll_s=args.catalog_poll,
        page_poll_ms=args.refresh_ms,
    )


def _snapshot(config, folder: Path, settle_s: float) -> int:
    import time

    from ..livepage.access import Viewer
    from ..livepage.service import build_model, close_model
    from ..livepage.snapshot import write_snapshot

    model = build_model(config)
    try:
        deadline = time.monotonic() + settle_s  # let the PV monitors deliver first values
        while model.monitor is not None and time.monotonic() < deadline:
            if not model.monitor.snapshot()["disconnected"]:
                break
            time.sleep(0.05)
        written = write_snapshot(model, Viewer(None, config.public_runs), folder)
    finally:
        close_model(model)
    for path in written:
        print(path)
    return 0


def _run(args: argparse.Namespace) -> int:
    for name, value in TILED_RETRIES.items():
        os.environ.setdefault(name, value)  # this process only: the page, not the RunEngine
    from ..livepage.service import serve_live

    config = _config(args)
    if args.snapshot is not None:
        return _snapshot(config, args.snapshot, args.settle)
    print(f"live page of {config.catalog_uri or config.data_dir} on {config.url()}", flush=True)
    serve_live(config)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``live`` sub-command."""
    p = sub.add_parser("live", help="web page of the instrument status and the latest data")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"interface (default {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--base-path", default="", help="URL prefix behind a reverse proxy (e.g. /live)")
    p.add_argument("--data-dir", type=Path, default=default_data_dir(), help="data directory")
    p.add_argument("--catalog-uri", default=None, help="read a Tiled server instead (usaxs serve)")
    p.add_argument(
        "--catalog-key",
        default=os.environ.get(CATALOG_KEY_ENV),
        help=f"staff key for --catalog-uri (default ${CATALOG_KEY_ENV})",
    )
    keys = os.environ.get(KEYS_ENV)
    p.add_argument(
        "--keys",
        type=Path,
        default=Path(keys) if keys else None,
        help=f"the keys file of usaxs serve (default ${KEYS_ENV}); without it: public view only",
    )
    p.add_argument(
        "--public-runs", action="store_true", help="show runs and data without a key (off)"
    )
    p.add_argument(
        "--session-hours",
        type=float,
        default=DEFAULT_SESSION_HOURS,
        help=f"runs started this many hours back are listed (default {DEFAULT_SESSION_HOURS:g})",
    )
    p.add_argument(
        "--refresh-ms",
        type=int,
        default=DEFAULT_REFRESH_MS,
        help=f"page update period (ms, default {DEFAULT_REFRESH_MS})",
    )
    p.add_argument(
        "--catalog-poll",
        type=float,
        default=DEFAULT_CATALOG_POLL_S,
        help=f"catalog read period (s, default {DEFAULT_CATALOG_POLL_S:g})",
    )
    p.add_argument("--pv-map", type=Path, default=None, help="PV map YAML (default 12-ID-E)")
    p.add_argument("--no-pvs", action="store_true", help="no status monitor (catalog only)")
    p.add_argument("--snapshot", type=Path, default=None, metavar="DIR", help="write static files")
    p.add_argument(
        "--settle", type=float, default=5.0, help="snapshot: seconds to wait for PVs (default 5)"
    )
    p.set_defaults(func=_run)
