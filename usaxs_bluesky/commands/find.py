"""``usaxs find``: list the runs of the catalog that match criteria."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import add_catalog_options


def add_criteria_options(parser: argparse.ArgumentParser) -> None:
    """``--user``, ``--since``, ``--until``, ``--sample``, ``--plan`` (any subset)."""
    parser.add_argument("--user", default=None, help="user name, exactly")
    parser.add_argument("--since", default=None, help="ISO date or time, inclusive")
    parser.add_argument(
        "--until", default=None, help="ISO date (through the end of that day) or time, exclusive"
    )
    parser.add_argument(
        "--sample",
        default=None,
        help="sample name: case-insensitive substring, or glob with * and ?",
    )
    parser.add_argument("--plan", default=None, help="plan name, exactly (e.g. Flyscan, SAXS)")


def open_for(args: argparse.Namespace) -> Any:
    """Return the catalog the common options name (it must exist)."""
    from ..catalog.store import open_catalog

    return open_catalog(args.data_dir, uri=args.uri, api_key=args.api_key, create=False)


def criteria_from(args: argparse.Namespace) -> Any:
    """Return the :class:`~usaxs_bluesky.catalog.search.Criteria` of the options (checked)."""
    from ..catalog.search import Criteria

    return Criteria.parse(
        user=args.user, sample=args.sample, plan=args.plan, since=args.since, until=args.until
    )


def matching_runs(args: argparse.Namespace, criteria: Any, catalog: Any) -> list:
    """Return the runs matching ``criteria``; print why and return [] when none."""
    from ..catalog.search import explain_no_match, search_runs

    runs = search_runs(catalog, criteria)
    if not runs:
        print(f"usaxs {args.command}: {explain_no_match(catalog, criteria)}", file=sys.stderr)
    return runs


def _run(args: argparse.Namespace) -> int:
    from ..catalog.search import format_runs

    criteria = criteria_from(args)
    runs = matching_runs(args, criteria, open_for(args))
    if not runs:
        return 1
    print(format_runs(runs))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``find`` sub-command."""
    p = sub.add_parser("find", help="list runs of the catalog matching criteria")
    add_catalog_options(p)
    add_criteria_options(p)
    p.set_defaults(func=_run)
