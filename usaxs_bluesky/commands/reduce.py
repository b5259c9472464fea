"""``usaxs reduce``: raw USAXS / SAXS / WAXS files to NXcanSAS (+ PNG) in ``reduced/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    """Check and reduce every file first; write only when all of them succeeded."""
    from ..reduction import ReductionError
    from ..reduction.pipeline import reduce_curves, reduced_paths, write_reduced

    try:
        plan = _blanks(args.files, args.blank)
        jobs = []
        for path, blank, how in plan:
            targets = reduced_paths(path, args.out, plot=not args.no_plot)
            jobs.append((targets, reduce_curves(path, blank), how))
        for targets, curves, how in jobs:
            for written in write_reduced(targets, curves, extra_notes={"blank_choice": how}):
                print(written)
            method = str(curves[0].metadata.get("msaxs_method", ""))
            if method.startswith("not applied"):
                print(f"usaxs reduce: note: no MSAXS correction, {method[13:]}", file=sys.stderr)
    except ReductionError as exc:
        print(f"usaxs reduce: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _blanks(files: list[Path], blank: Path | None) -> list[tuple[Path, Path, str]]:
    """(sample, blank, how chosen) for every file that is not itself the blank.

    With ``--blank`` that file is every sample's blank (and skipped if listed);
    without it, each sample gets the latest blank among the files given of the
    same technique and energy measured before it (the live reducer's rule).
    Blanks in the list are not reduced (a note says so).
    """
    from ..callbacks.reduction import file_info, pick_blank
    from ..reduction import ReductionError

    if blank is not None:
        me = blank.resolve()
        for path in files:
            if path.resolve() == me:
                print(f"usaxs reduce: note: {path} is the blank: not reduced", file=sys.stderr)
        return [(p, blank, "--blank") for p in files if p.resolve() != me]
    infos = [file_info(p) for p in files]
    blanks = [i for i in infos if i.is_blank]
    out = []
    for info in infos:
        if info.is_blank:
            print(f"usaxs reduce: note: {info.path} is a blank: not reduced", file=sys.stderr)
            continue
        try:
            chosen, how = pick_blank(info, blanks)
        except ReductionError as exc:
            raise ReductionError(f"{exc}; give --blank FILE or list the blank too") from None
        out.append((info.path, chosen, f"{how}: {chosen.name} (among the files given)"))
    return out


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``reduce`` sub-command."""
    p = sub.add_parser(
        "reduce",
        help="reduce raw files to NXcanSAS (+ PNG) in a reduced/ folder beside them",
        description="Reduce USAXS fly/step scans and SAXS/WAXS frames against a blank "
        "(--blank, or the latest earlier blank among the files given). "
        "Every file is checked and reduced before anything is written; "
        "a bad file writes nothing and exits with status 2.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="raw HDF5 file(s)")
    p.add_argument(
        "--blank", type=Path, default=None, help="blank (empty-beam) raw file for every sample"
    )
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default: reduced/ beside each file)"
    )
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG quick look")
    p.set_defaults(func=_run)
