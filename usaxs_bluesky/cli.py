"""The ``usaxs`` command. Sub-commands live in :mod:`usaxs_bluesky.commands`, one module each.

Each sub-command returns an exit status; errors are one clear line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings
from collections.abc import Sequence

from . import commands
from .catalog.store import quiet_tiled_banner


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``usaxs`` command with every sub-command."""
    parser = argparse.ArgumentParser(prog="usaxs", description="APS USAXS/SAXS/WAXS instrument")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``usaxs`` console script."""
    # tiled's in-process client imports starlette's test client, which warns on every start
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    quiet_tiled_banner()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, LookupError) as exc:
        print(f"usaxs {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
