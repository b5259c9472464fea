"""``usaxs demo``: start the sim, run a short experiment into the catalog, stop."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..livepage.defaults import DEFAULT_PORT
from .common import default_data_dir


def _run(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    run_demo(
        data_dir=args.data_dir,
        time_scale=args.time_scale,
        user_name=args.user,
        live_port=args.live_port or None,
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` sub-command."""
    p = sub.add_parser("demo", help="start the sim, run a short experiment into the catalog, stop")
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--time-scale", type=float, default=0.02, help="wall s per simulated s")
    p.add_argument("--user", default="demo_user", help="user name recorded with each run")
    p.add_argument(
        "--live-port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port of the live page (default {DEFAULT_PORT}; 0: no live page)",
    )
    p.set_defaults(func=_run)
