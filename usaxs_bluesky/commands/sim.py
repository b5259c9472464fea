"""``usaxs sim``: run the simulated instrument in the foreground."""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from usaxs_sim.__main__ import main as sim_main

    argv = ["--port", str(args.port), "--repeater-port", str(args.repeater_port)]
    argv += ["--prefix", args.prefix, "--time-scale", str(args.time_scale)]
    if args.state is not None:
        argv += ["--state", args.state]
    return sim_main(argv) or 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sim`` sub-command."""
    p = sub.add_parser("sim", help="run the simulated instrument (caproto IOC) in the foreground")
    p.add_argument("--port", type=int, default=5064, help="CA server port (default 5064)")
    p.add_argument("--repeater-port", type=int, default=5065, help="CA repeater port")
    p.add_argument("--prefix", default="", help="prefix added to every PV name")
    p.add_argument("--time-scale", type=float, default=0.05, help="wall s per simulated s")
    p.add_argument(
        "--state",
        metavar="FILE",
        default=None,
        help="keep the user name, sample and other user-facing PVs in FILE across restarts",
    )
    p.set_defaults(func=_run)
