"""Fixtures of the fault tests: a real ``usaxs serve`` process that a test can kill and restart."""

from __future__ import annotations

import subprocess
import warnings

import pytest
from catalog.conftest import empty_catalog, filled, fresh  # noqa: F401 - the catalog tests' fixtures
from fault_helpers import MOUNT_SIZE, STAFF_KEY, CatalogServer

from usaxs_bluesky.catalog.store import open_catalog

USER_PV = "usxLAX:userName"


@pytest.fixture(autouse=True)
def shared_sim_user_restored(request):
    """Worker processes set the shared simulator's user name: put it back after each test."""
    if "sim_ioc" not in request.fixturenames:
        yield
        return
    from ophyd import EpicsSignal

    user = EpicsSignal(request.getfixturevalue("sim_ioc").pv(USER_PV), string=True)
    user.wait_for_connection(timeout=10)
    before = user.get()
    yield
    user.put(before, wait=True)


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
