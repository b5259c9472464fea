"""Opening the embedded catalog (the IPython profile, the queue server, any script) prints
nothing: tiled's "Tiled version" banner and starlette's test-client warning are dropped
also without the ``usaxs`` command."""

from __future__ import annotations

import subprocess
import sys

from usaxs_bluesky.catalog.store import TILED_BANNER

SCRIPT = """
import sys
from usaxs_bluesky.catalog.store import open_catalog
catalog = open_catalog(sys.argv[1], create=True)
print(len(catalog))
"""


def test_opening_the_catalog_prints_no_banner(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
    assert TILED_BANNER not in done.stdout + done.stderr
    assert done.stderr == ""
