"""A simulator killed with clients connected restarts at once on its own port."""

from __future__ import annotations

import socket

import caproto
from usaxs_sim.launcher import SimProcess


def test_killed_sim_restarts_on_its_port(tmp_path):
    first = SimProcess(time_scale=0.02, seed=1, timeout=60).start()
    port, repeater = first.port, first.repeater_port
    client = socket.create_connection(("127.0.0.1", port))  # a live CA circuit
    client.sendall(bytes(caproto.VersionRequest(priority=0, version=13)))
    assert client.recv(16), "the server answered: the circuit is accepted"
    try:
        first.process.kill()
        first.process.wait(timeout=30)
    finally:
        client.close()  # the server's side of this connection is now in TIME-WAIT
    with open("/proc/net/tcp") as table:
        assert f":{port:04X} " in table.read(), "a connection on the old port is still there"
    with SimProcess(port=port, repeater_port=repeater, time_scale=0.02, seed=1, timeout=60) as sim:
        assert sim.port == port and int(sim.read("usxSIM:ready")[0]) == 1
