"""``usaxs find``: list the runs of the catalog that match criteria."""

from __future__ import annotations

import argparse
import sys

from .common import add_catalog_options


def _run(args: argparse.Namespace) -> int:
    from ..catalog.search import find_runs, format_runs

    runs = find_runs(
        args.data_dir, user=args.user, sample=args.sample, plan=args.plan, uri=args.uri
    )
    print(format_runs(runs))
    if not runs:
        print("no run matches", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``find`` sub-command."""
    p = sub.add_parser("find", help="list runs of the catalog matching criteria")
    add_catalog_options(p)
    p.add_argument("--user", default=None)
    p.add_argument("--sample", default=None, help="case-insensitive substring of the name")
    p.add_argument("--plan", default=None)
    p.set_defaults(func=_run)
