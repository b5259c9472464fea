"""Options shared by several sub-commands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DATA_DIR_ENV = "USAXS_DATA_DIR"


def default_data_dir() -> Path:
    """``$USAXS_DATA_DIR`` or ``./usaxs_data``."""
    return Path(os.environ.get(DATA_DIR_ENV, "usaxs_data"))


def add_catalog_options(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` (embedded catalog and files) and ``--uri``/``--api-key`` (a Tiled server)."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help=f"data directory with the embedded catalog (default ${DATA_DIR_ENV} or ./usaxs_data)",
    )
    parser.add_argument(
        "--uri", default=None, help="Tiled server URI instead of the embedded catalog"
    )
    parser.add_argument("--api-key", default=os.environ.get("TILED_API_KEY"), help="Tiled API key")
