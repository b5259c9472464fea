"""The simulator's CA repeater confirms libca's registrations and ends with its IOC.

libca registers with an empty datagram; without a confirmation every pyepics
client of the simulator printed "CA client library is unable to contact CA
repeater after 50 tries" (caproto's repeater never confirmed empty ones).
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import struct
import time

import caproto
import pytest
from usaxs_sim import repeater
from usaxs_sim.launcher import SimProcess, free_port

pytestmark = pytest.mark.timeout(120)

CONFIRM = 17  # CA_PROTO_REPEATER_CONFIRM


def _client() -> socket.socket:
    """A UDP socket bound as libca binds its own (any address, any port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))
    sock.settimeout(5.0)
    return sock


def _header(data: bytes) -> tuple[int, ...]:
    return repeater.HEADER.unpack_from(data)


@pytest.mark.parametrize(
    "registration",
    [b"", bytes(caproto.RepeaterRegisterRequest("0.0.0.0"))],
    ids=["empty, as libca sends", "REPEATER_REGISTER"],
)
def test_sim_repeater_confirms_a_registration(sim_ioc, registration):
    with _client() as client:
        client.sendto(registration, ("127.0.0.1", sim_ioc.repeater_port))
        data, sender = client.recvfrom(1024)
    command, *_, address = _header(data)
    assert command == CONFIRM
    assert address == caproto.ipv4_to_int32("127.0.0.1")
    assert sender == ("127.0.0.1", sim_ioc.repeater_port)


@pytest.fixture
def served():
    """Our repeater on a free loopback port in a process of its own, as the IOC runs it."""
    port = free_port()
    process = multiprocessing.Process(
        target=repeater.run, args=("127.0.0.1", port, os.getpid()), daemon=True
    )
    process.start()
    with _client() as probe:  # poll until it answers
        deadline = time.monotonic() + 30
        while True:
            probe.sendto(b"", ("127.0.0.1", port))
            probe.settimeout(0.2)
            try:
                probe.recvfrom(1024)
                break
            except TimeoutError:
                assert time.monotonic() < deadline, "the repeater never answered"
    yield port
    process.terminate()
    process.join(10)


def test_beacons_reach_registered_clients_with_the_sender_address(served):
    beacon = bytes(caproto.Beacon(13, 5064, 7, "0.0.0.0"))
    with _client() as one, _client() as other, _client() as server:
        for c in (one, other):
            c.sendto(b"", ("127.0.0.1", served))
            assert _header(c.recvfrom(1024)[0])[0] == CONFIRM
        server.sendto(beacon, ("127.0.0.1", served))
        for c in (one, other):
            got = c.recvfrom(1024)[0]
            assert len(got) == len(beacon)
            command, *_, address = _header(got)
            assert command == repeater.BEACON
            assert address == caproto.ipv4_to_int32("127.0.0.1")


def test_a_second_repeater_on_a_held_port_steps_back(served):
    assert repeater.bind("127.0.0.1", served) is None


@pytest.mark.parametrize(
    "data",
    [b"\x00", struct.pack("!HHHHII", 13, 65535, 0, 0, 0, 0), b"\xff" * 40, b"\x00\x0d\xff"],
    ids=["one byte", "beacon with a huge payload size", "garbage", "short header"],
)
def test_hostile_datagrams_are_forwarded_unchanged_or_fixed_never_raise(data):
    out = repeater.with_sender_address(data, "127.0.0.1")
    assert len(out) == len(data)
    assert not repeater.is_registration(data)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie left for an absent reaper has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                found.append(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to find the repeater")
def test_repeater_ends_when_its_ioc_is_killed():
    sim = SimProcess(time_scale=0.02, seed=2, timeout=60).start()
    try:
        ioc = sim.process
        (child,) = _children(ioc.pid)
        ioc.kill()
        ioc.wait(10)
    finally:
        sim.stop()
    deadline = time.monotonic() + 20 * repeater.POLL_S
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the CA repeater outlived its simulator"
