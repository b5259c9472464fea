"""``usaxs export``: copy the raw and reduced files of matching runs, with a checksum manifest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_catalog_options
from .find import add_criteria_options, criteria_from, matching_runs, open_for


def _progress(index: int, total: int, item, status: str) -> None:
    print(f"[{index}/{total}] {status:8} {item.relpath} ({item.size} bytes)", file=sys.stderr)


def _verify(args: argparse.Namespace) -> int:
    from ..catalog.export import verify_export

    problems = verify_export(args.to)
    for problem in problems:
        print(problem)
    if problems:
        print(f"usaxs export: {len(problems)} problem(s) in {args.to}", file=sys.stderr)
        return 1
    print(f"{args.to}: every file matches MANIFEST.sha256")
    return 0


def _run(args: argparse.Namespace) -> int:
    from ..catalog.export import check_destination, check_space, export_runs, plan_export

    if args.verify:
        return _verify(args)
    check_destination(args.to, args.data_dir)
    criteria = criteria_from(args)
    runs = matching_runs(args, criteria, open_for(args))
    if not runs:
        return 1
    plan = plan_export(runs, args.to)
    if not plan.todo and not plan.done:
        print(
            f"usaxs export: the {len(runs)} matching run(s) have no raw or reduced files recorded",
            file=sys.stderr,
        )
        return 1
    extra = sum(i.size for i in plan.todo + plan.done) if args.archive else 0
    needed, free = check_space(plan, extra)
    print(
        f"{len(runs)} run(s), {len(plan.todo)} file(s) to copy, {len(plan.done)} already there; "
        f"{needed} bytes needed, {free} bytes free at {args.to}",
        file=sys.stderr,
    )
    result = export_runs(
        runs, args.to, archive=args.archive, progress=_progress, data_dir=args.data_dir
    )
    print(
        f"exported to {args.to}: {result.copied} copied and verified, "
        f"{result.skipped} already there"
        + (f"; archive {result.archive}" if result.archive else "")
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` sub-command."""
    p = sub.add_parser(
        "export", help="copy raw and reduced files of matching runs, with a SHA-256 manifest"
    )
    add_catalog_options(p)
    add_criteria_options(p)
    p.add_argument("--to", type=Path, required=True, help="destination folder")
    p.add_argument("--archive", type=Path, default=None, help="also write FILE.zip or FILE.tar")
    p.add_argument(
        "--verify", action="store_true", help="only check the files in --to against its manifest"
    )
    p.set_defaults(func=_run)
