"""The ``usaxs`` command: ``usaxs sim``, ``usaxs demo``, ``usaxs find``.

Each sub-command returns an exit status; errors are one clear line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

DATA_DIR_ENV = "USAXS_DATA_DIR"


def default_data_dir() -> Path:
    """``$USAXS_DATA_DIR`` or ``./usaxs_data``."""
    return Path(os.environ.get(DATA_DIR_ENV, "usaxs_data"))


def _cmd_sim(args: argparse.Namespace) -> int:
    from usaxs_sim.__main__ import main as sim_main

    argv = ["--port", str(args.port), "--repeater-port", str(args.repeater_port)]
    argv += ["--prefix", args.prefix, "--time-scale", str(args.time_scale)]
    return sim_main(argv) or 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(data_dir=args.data_dir, time_scale=args.time_scale, user_name=args.user)
    return 0


def _cmd_find(args: argparse.Namespace) -> int:
    from .catalog.search import find_runs, format_runs

    runs = find_runs(
        args.data_dir, user=args.user, sample=args.sample, plan=args.plan, uri=args.uri
    )
    print(format_runs(runs))
    if not runs:
        print("no run matches", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``usaxs`` command."""
    parser = argparse.ArgumentParser(prog="usaxs", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("sim", help="run the simulated instrument (caproto IOC) in the foreground")
    sim.add_argument("--port", type=int, default=5064, help="CA server port (default 5064)")
    sim.add_argument("--repeater-port", type=int, default=5065, help="CA repeater port")
    sim.add_argument("--prefix", default="", help="prefix added to every PV name")
    sim.add_argument("--time-scale", type=float, default=0.05, help="sim seconds per real second")
    sim.set_defaults(func=_cmd_sim)

    demo = sub.add_parser(
        "demo", help="start the sim, run a short experiment into the catalog, stop"
    )
    demo.add_argument("--data-dir", type=Path, default=default_data_dir())
    demo.add_argument("--time-scale", type=float, default=0.02)
    demo.add_argument("--user", default="demo_user", help="user name recorded with each run")
    demo.set_defaults(func=_cmd_demo)

    find = sub.add_parser("find", help="list runs of the catalog matching criteria")
    find.add_argument("--data-dir", type=Path, default=default_data_dir())
    find.add_argument(
        "--uri", default=None, help="Tiled server URI instead of the embedded catalog"
    )
    find.add_argument("--user", default=None)
    find.add_argument("--sample", default=None, help="case-insensitive substring of the name")
    find.add_argument("--plan", default=None)
    find.set_defaults(func=_cmd_find)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``usaxs`` console script."""
    # tiled's in-process client imports starlette's test client, which warns on every start
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, LookupError) as exc:
        print(f"usaxs {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
