"""``usaxs find``: list the runs of the catalog that match criteria."""

from __future__ import annotations

import argparse
import sys
from functools import partial
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
    offset = (args.page - 1) * args.limit
    if args.uri:
        from ..catalog.search import explain_no_match, search_page

        catalog = open_for(args)
        page = search_page(catalog, criteria, limit=args.limit, offset=offset)
        explain = partial(explain_no_match, catalog, criteria)
    else:  # plain read-only SQL on the embedded catalog: no Tiled imports
        from ..catalog import direct

        page = direct.page(args.data_dir, criteria, limit=args.limit, offset=offset)
        explain = partial(direct.explain_no_match, args.data_dir, criteria)
    if page.total == 0:
        print(f"usaxs find: {explain()}", file=sys.stderr)
        return 1
    if not page.runs:
        print(
            f"usaxs find: page {args.page} is past the last of {page.total} runs", file=sys.stderr
        )
        return 1
    print(format_runs(page.runs))
    last = offset + len(page.runs)
    more = f"; --page {args.page + 1} for more" if last < page.total else ""
    print(f"runs {offset + 1}-{last} of {page.total}, newest first{more}", file=sys.stderr)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``find`` sub-command."""
    p = sub.add_parser("find", help="list runs of the catalog matching criteria")
    add_catalog_options(p)
    add_criteria_options(p)
    p.add_argument("--limit", type=_positive, default=100, help="runs per page (default 100)")
    p.add_argument("--page", type=_positive, default=1, help="page to show, newest first")
    p.set_defaults(func=_run)
