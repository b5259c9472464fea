"""Test session setup: Channel Access stays on loopback, on ports chosen for this session.

The CA environment is set here, at import, before pyepics makes its context,
so every test client talks only to 127.0.0.1 on this session's ports.
"""

import os
from pathlib import Path

import pytest
from usaxs_sim.launcher import free_port

CA_SERVER_PORT = free_port()
CA_REPEATER_PORT = free_port()
while CA_REPEATER_PORT == CA_SERVER_PORT:
    CA_REPEATER_PORT = free_port()
os.environ.update(
    {
        "EPICS_CA_ADDR_LIST": "127.0.0.1",
        "EPICS_CA_AUTO_ADDR_LIST": "NO",
        "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1",
        "EPICS_CA_SERVER_PORT": str(CA_SERVER_PORT),
        "EPICS_CA_REPEATER_PORT": str(CA_REPEATER_PORT),
        "EPICS_CA_MAX_ARRAY_BYTES": "20000000",
    }
)

TESTDATA_ENV = "USAXS_TESTDATA"


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The facility's real files (``$USAXS_TESTDATA`` or ``../shared/testdata``); skip if absent."""
    root = Path(
        os.environ.get(TESTDATA_ENV, Path(__file__).resolve().parents[2] / "shared" / "testdata")
    )
    if not (root / "facility").is_dir():
        pytest.skip(f"facility test data not found at {root} (set ${TESTDATA_ENV})")
    return root / "facility"


@pytest.fixture(scope="session")
def sim_ioc():
    """The simulated instrument, started once per session on this session's CA ports."""
    from usaxs_sim.launcher import SimProcess

    sim = SimProcess(
        port=CA_SERVER_PORT, repeater_port=CA_REPEATER_PORT, time_scale=0.02, seed=12345, timeout=60
    )
    with sim:
        yield sim
        import epics

        epics.ca.finalize_libca()  # close CA circuits before the IOC goes away


@pytest.fixture(scope="session")
def usaxs_session(sim_ioc, tmp_path_factory):
    """A working session on the sim: RunEngine, connected instrument, embedded catalog.

    Shared by the whole test session (connecting takes seconds); tests that
    change instrument state put back what they changed.
    """
    from usaxs_bluesky.session import make_session

    session = make_session(tmp_path_factory.mktemp("usaxs_data"), connect_timeout=30)
    session.instrument.user_data.user_name.put("test_user", wait=True)
    yield session
    session.close()
