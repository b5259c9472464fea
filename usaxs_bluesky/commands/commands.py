"""``usaxs commands check FILE``: every problem of a command file, before the beam time."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .common import add_catalog_options


def _check(args: argparse.Namespace) -> int:
    from ..catalog.store import open_catalog
    from ..instrument import load_config
    from ..metadata.request_files import load_requests
    from ..queue.file_check import check_file, format_report

    config = load_config(args.pv_map)
    requests = load_requests(args.requests) if args.requests else None
    catalog = None
    if args.uri or (args.data_dir / "catalog").exists():
        catalog = open_catalog(args.data_dir, uri=args.uri, api_key=args.api_key, create=False)
    report = check_file(
        args.file,
        config=config,
        catalog=catalog,
        user_name=args.user,
        requests=requests,
        timeout=args.timeout,
        live=not args.offline,
    )
    print(format_report(report, args.file))
    return 0 if report.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``commands check``."""
    p = sub.add_parser("commands", help="check a command file without running it")
    csub = p.add_subparsers(dest="commands_command", required=True)
    check = csub.add_parser(
        "check",
        help="every problem of a command file; live stage limits, else the catalog's or PV map's",
    )
    check.add_argument("file", type=Path, help="command file (text or .xlsx)")
    check.add_argument("--user", default=None, help="user name (default: the user-name PV)")
    check.add_argument("--requests", type=Path, default=None, help="metadata request file")
    check.add_argument(
        "--pv-map", default=os.environ.get("USAXS_PV_MAP") or None, help="PV map (default 12-ID-E)"
    )
    check.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for live PVs")
    check.add_argument("--offline", action="store_true", help="do not try the instrument")
    add_catalog_options(check)
    check.set_defaults(func=_check)
