"""The simulator's CA server sets TCP_NODELAY on each client circuit (caproto alone does not)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from caproto.asyncio.server import Context
from caproto.asyncio.utils import _create_bound_tcp_socket
from usaxs_sim.nodelay import NoDelayContext, set_nodelay

POLL_S = 0.01
DEADLINE_S = 10.0


async def _server_side_nodelay(context_class: type[Context]) -> int:
    """TCP_NODELAY of the server's socket of one client circuit accepted by ``context_class``."""
    listener = await _create_bound_tcp_socket("127.0.0.1", 0)  # as caproto makes it
    listener.listen()
    port = listener.getsockname()[1]
    ctx = context_class({}, ["127.0.0.1"])
    accept = asyncio.create_task(ctx.server_accept_loop(listener))
    loop = asyncio.get_running_loop()
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setblocking(False)
    try:
        await loop.sock_connect(client, ("127.0.0.1", port))
        waited = 0.0
        while not ctx.circuits:
            if waited > DEADLINE_S:
                raise TimeoutError("the server never made a circuit")
            await asyncio.sleep(POLL_S)
            waited += POLL_S
        (circuit,) = ctx.circuits
        server_sock = circuit.client.writer.get_extra_info("socket")
        return server_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        client.close()
        await accept
        await ctx.server_tasks.cancel_all()
        listener.close()


def test_caproto_alone_leaves_nagle_on():
    """The premise: asyncio skips sockets accepted from a proto=0 listener."""
    assert asyncio.run(_server_side_nodelay(Context)) == 0


def test_sim_context_sets_nodelay_on_accepted_sockets():
    assert asyncio.run(_server_side_nodelay(NoDelayContext)) != 0


def test_set_nodelay_ignores_what_is_not_tcp():
    set_nodelay(None)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        set_nodelay(unix)  # no TCP option on a Unix socket: left alone, no error
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        set_nodelay(tcp)
        assert tcp.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_the_sim_server_does_not_import_usaxs_bluesky():
    code = (
        "import sys, usaxs_sim.ioc, usaxs_sim.nodelay; "
        "print([m for m in sys.modules if m.startswith('usaxs_bluesky')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("how", ["terminate", "kill"])
def test_stopped_sim_leaves_no_repeater_process_behind(how):
    from usaxs_sim.launcher import SimProcess, free_port

    sim = SimProcess(port=free_port(), repeater_port=free_port(), time_scale=0.02, timeout=60)
    with sim:
        pid = sim.process.pid
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        assert children, "the simulator runs its CA repeater in a child process"
        if how == "kill":  # as the fault tests kill it
            sim.process.kill()
            sim.process.wait(timeout=DEADLINE_S)
    deadline = time.monotonic() + DEADLINE_S
    while any(Path(f"/proc/{c}").exists() for c in children):
        assert time.monotonic() < deadline, f"repeater process(es) {children} left running"
        time.sleep(POLL_S)
