"""``usaxs reduce``: raw USAXS / SAXS / WAXS files to NXcanSAS (+ PNG) in ``reduced/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    """Check and reduce every file first; write only when all of them succeeded."""
    from ..reduction import ReductionError
    from ..reduction.pipeline import reduce_curves, reduced_paths, write_reduced

    if args.blank is None:
        print(
            "usaxs reduce: error: --blank FILE (the empty-beam measurement) is needed",
            file=sys.stderr,
        )
        return 2
    jobs = []
    try:
        for path in args.files:
            targets = reduced_paths(path, args.out, plot=not args.no_plot)
            jobs.append((targets, reduce_curves(path, args.blank)))
        for targets, curves in jobs:
            for written in write_reduced(targets, curves, extra_notes={"blank_choice": "--blank"}):
                print(written)
            method = str(curves[0].metadata.get("msaxs_method", ""))
            if method.startswith("not applied"):
                print(f"usaxs reduce: note: no MSAXS correction, {method[13:]}", file=sys.stderr)
    except ReductionError as exc:
        print(f"usaxs reduce: error: {exc}", file=sys.stderr)
        return 2
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``reduce`` sub-command."""
    p = sub.add_parser(
        "reduce",
        help="reduce raw files to NXcanSAS (+ PNG) in a reduced/ folder beside them",
        description="Reduce USAXS fly/step scans and SAXS/WAXS frames against a blank. "
        "Every file is checked and reduced before anything is written; "
        "a bad file writes nothing and exits with status 2.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="raw HDF5 file(s)")
    p.add_argument("--blank", type=Path, default=None, help="blank (empty-beam) raw file")
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default: reduced/ beside each file)"
    )
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG quick look")
    p.set_defaults(func=_run)
