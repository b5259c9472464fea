"""Importing the package and all its modules has no side effects."""

import subprocess
import sys

SCRIPT = """
import os, pkgutil, importlib, threading
import ophyd, bluesky, tiled.client  # third-party imports start their own dispatcher threads
before = set(os.listdir("."))
threads = threading.active_count()
import usaxs_bluesky
for mod in pkgutil.walk_packages(usaxs_bluesky.__path__, "usaxs_bluesky."):
    importlib.import_module(mod.name)
import epics.pv
assert not epics.pv._PVcache_, f"PVs created at import: {list(epics.pv._PVcache_)[:5]}"
assert set(os.listdir(".")) == before, "files created at import"
assert threading.active_count() == threads, "threads started at import"
print("clean")
"""


def test_import_has_no_side_effects(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("clean")
