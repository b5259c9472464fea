"""Fixtures of the fault tests: a real ``usaxs serve`` process that a test can kill and restart."""

from __future__ import annotations

import subprocess
import warnings

import pytest
from catalog.conftest import empty_catalog, filled, fresh  # noqa: F401 - the catalog tests' fixtures
from fault_helpers import MOUNT_SIZE, STAFF_KEY, CatalogServer

from usaxs_bluesky.catalog.store import open_catalog


@pytest.fixture
def catalog_server(tmp_path):
    """A served, empty catalog in ``tmp_path/served`` (staff key :data:`STAFF_KEY`)."""
    data_dir = tmp_path / "served"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        open_catalog(data_dir, create=True)
    keys = tmp_path / "keys.yml"
    keys.write_text(f"keys:\n  {STAFF_KEY}: {{staff: true}}\n")
    server = CatalogServer(data_dir, keys)
    server.start()
    yield server
    if server.process is not None:
        server.kill()


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of :data:`MOUNT_SIZE` mounted at ``tmp_path/disk``; skipped where mounting is
    forbidden."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={MOUNT_SIZE}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
