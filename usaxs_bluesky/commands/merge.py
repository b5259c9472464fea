"""``usaxs merge``: reduced curves of one sample (USAXS desmeared, SAXS, WAXS) into one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    """Merge the files; print the paths written and one line per fitted overlap."""
    from ..reduction import ReductionError
    from ..reduction.merge import merge_files
    from ..reduction.nxcansas import read_nxcansas

    try:
        written = merge_files(args.files, args.out, plot=not args.no_plot)
    except ReductionError as exc:
        print(f"usaxs merge: error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    (merged,) = read_nxcansas(written[0])
    for fit in merged.metadata["merge_fits"]:
        lo, hi = fit["q_range_A"]
        print(
            f"  overlap {lo:.4g}-{hi:.4g} 1/A: scale {fit['scale']:.4g} +- {fit['scale_err']:.2g}, "
            f"background {fit['background_1_per_cm']:.3g} +- {fit['background_err']:.2g} 1/cm, "
            f"splice at {fit['splice_q_A']:.4g} 1/A",
            file=sys.stderr,
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``merge`` sub-command."""
    p = sub.add_parser(
        "merge",
        help="merge reduced NXcanSAS curves of one sample into <name>_<NNNN>_merged.nxcansas.h5",
        description="Merge the reduced curves of one sample (USAXS desmeared, SAXS, WAXS; the "
        "NXcanSAS files of `usaxs reduce`) into one curve, Irena-style: per overlap a scale for "
        "the higher-Q curve and a flat background, fitted; see docs/reduction.md.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="reduced NXcanSAS files")
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default: beside the lowest-Q file)"
    )
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    p.set_defaults(func=_run)
