"""``usaxs retention``: report the catalog by age and user; prune runs past the kept period."""

from __future__ import annotations

import argparse

from .common import add_catalog_options
from .find import open_for


def _report(args: argparse.Namespace) -> int:
    from ..catalog.retention import format_report, retention_report

    print(format_report(retention_report(open_for(args))))
    return 0


def _prune(args: argparse.Namespace) -> int:
    from ..catalog.retention import LOG_NAME, parse_age_days, prune, prune_candidates
    from ..catalog.search import format_runs

    days = parse_age_days(args.older_than)
    catalog = open_for(args)
    runs = prune_candidates(catalog, days, min_days=args.min_days)
    if not runs:
        print(f"no run is older than {days:g} days")
        return 0
    files = sum(len(r.files) for r in runs)
    size = sum(f.size for r in runs for f in r.files)
    print(format_runs(runs))
    if not args.yes:
        print(
            f"dry run: would remove {len(runs)} run(s), {files} file(s), {size} bytes; "
            "add --yes to remove them"
        )
        return 0
    entries = prune(catalog, runs, args.data_dir)
    print(
        f"removed {len(entries)} run(s), {files} file(s), {size} bytes; "
        f"logged in {args.data_dir / LOG_NAME}"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``retention report`` and ``retention prune``."""
    p = sub.add_parser("retention", help="catalog size by age and user; remove old runs")
    actions = p.add_subparsers(dest="action", required=True)
    report = actions.add_parser("report", help="runs, files and bytes by age bucket and user")
    add_catalog_options(report)
    report.set_defaults(func=_report)
    prune = actions.add_parser(
        "prune", help="remove runs older than a cut-off (dry run by default)"
    )
    add_catalog_options(prune)
    prune.add_argument("--older-than", required=True, help="age such as 120d or 16w")
    prune.add_argument("--yes", action="store_true", help="really remove (default: dry run)")
    prune.add_argument(
        "--min-days",
        default=None,
        help="raise the shortest allowed cut-off (days, finite, >= 90); never lowers it",
    )
    prune.set_defaults(func=_prune)
