"""``usaxs metadata check REQUEST.yml`` and ``usaxs metadata where FILE [NAME]``."""

from __future__ import annotations

import argparse
from pathlib import Path


def _check(args: argparse.Namespace) -> int:
    from ..metadata.request_files import load_requests
    from ..metadata.request_report import check_requests, format_report

    report = check_requests(load_requests(args.request), timeout=args.timeout)
    print(format_report(report))
    return 0 if report.ok else 1


def _where(args: argparse.Namespace) -> int:
    from ..metadata.where import format_locations, where

    locations = where(args.file, args.name)
    print(format_locations(locations))
    return 0 if locations else 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``metadata check`` and ``metadata where``."""
    p = sub.add_parser("metadata", help="check a metadata request file; find metadata in a file")
    msub = p.add_subparsers(dest="metadata_command", required=True)
    check = msub.add_parser("check", help="validate a request file (types, units, PVs reachable)")
    check.add_argument("request", type=Path)
    check.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for PVs")
    check.set_defaults(func=_check)
    where = msub.add_parser("where", help="list where each metadata item lives in an HDF5 file")
    where.add_argument("file", type=Path)
    where.add_argument("name", nargs="?", default=None, help="substring of name, path or PV")
    where.set_defaults(func=_where)
