"""RE Manager on the simulator for the queue tests: Redis and RE Manager started once.

Both run in their own process groups on free loopback ports and are killed at
teardown; the worker environment is opened once, as a beamline would.
"""

import shutil

import pytest
from queue_helpers import TIMEOUT_S

from usaxs_bluesky.catalog.store import open_catalog

RESUME_DELAY_S = 0.3
QUEUE_USER = "queue_user"
REMOTE_FOLDER = "remote_files"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A private redis-server (Debian package redis-server) on a free loopback port."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed (Debian package redis-server)")
    from usaxs_bluesky.queue.manager import RedisProcess

    with RedisProcess(tmp_path_factory.mktemp("redis")) as redis:
        yield redis


@pytest.fixture(scope="session")
def re_manager(sim_ioc, redis_server, tmp_path_factory):
    """RE Manager (IPython-kernel worker) on the sim, its environment open; user PV set."""
    from bluesky_queueserver_api.zmq import REManagerAPI
    from ophyd import EpicsSignal

    from usaxs_bluesky.queue.manager import ReManagerProcess

    manager = ReManagerProcess(
        config_dir=tmp_path_factory.mktemp("queue_config"),
        data_dir=tmp_path_factory.mktemp("queue_data"),
        redis_addr=redis_server.addr,
        resume_delay_s=RESUME_DELAY_S,
        remote_folders=[str(tmp_path_factory.getbasetemp() / REMOTE_FOLDER)],
    )
    # through ophyd: a pyepics caput here would cache a PV that ophyd's signals cannot use
    EpicsSignal(sim_ioc.pv("usxLAX:userName"), string=True).put(QUEUE_USER, wait=True)
    with manager:
        api = REManagerAPI(zmq_control_addr=manager.control_addr)
        api.user, api.user_group = "staff_member", "staff"
        api.environment_open()
        api.wait_for_idle(timeout=TIMEOUT_S)
        assert api.status()["worker_environment_exists"], manager.log_path.read_text()[-3000:]
        api.close()
        yield manager


@pytest.fixture
def queue_api(re_manager):
    """A client of the running RE Manager (group staff), with an empty queue before each test."""
    from bluesky_queueserver_api.zmq import REManagerAPI

    api = REManagerAPI(zmq_control_addr=re_manager.control_addr)
    api.user, api.user_group = "staff_member", "staff"
    api.wait_for_idle(timeout=TIMEOUT_S)
    api.queue_clear()
    yield api
    api.close()


@pytest.fixture
def remote_folder(re_manager, tmp_path_factory):
    """The folder the queue's ``remote_ops`` plan may run command files from."""
    folder = tmp_path_factory.getbasetemp() / REMOTE_FOLDER
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def queue_catalog(re_manager):
    """The embedded catalog the RE Manager's worker writes to (read from this process)."""
    return open_catalog(re_manager.data_dir, create=False)
