"""The caproto server with TCP_NODELAY on every client circuit, as EPICS IOCs set it.

asyncio disables Nagle's algorithm only on sockets made with
``proto=IPPROTO_TCP``; caproto's listening socket is made with ``proto=0``,
so its accepted sockets keep Nagle on, and a small reply (a motor's "done")
waits for the client's delayed ACK, about 40 ms on Linux. :class:`NoDelayContext`
sets the option on each accepted socket before the circuit starts.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from typing import Any

from caproto.asyncio.server import Context


def set_nodelay(sock: socket.socket | None) -> None:
    """Turn Nagle's algorithm off on a TCP socket (no-op for ``None``)."""
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayContext(Context):
    """caproto's asyncio server context whose client circuits have TCP_NODELAY set."""

    async def tcp_handler(self, client: Any, addr: tuple[str, int]) -> None:
        set_nodelay(client.writer.get_extra_info("socket"))
        await super().tcp_handler(client, addr)


async def start_server(pvdb: dict, *, interfaces: list[str], log_pv_names: bool = False) -> None:
    """Serve ``pvdb`` on ``interfaces`` (the context is made in the running loop, as caproto's)."""
    await NoDelayContext(pvdb, interfaces).run(log_pv_names=log_pv_names)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(0)


def serve(pvdb: dict, *, interfaces: list[str], log_pv_names: bool = False) -> None:
    """Serve ``pvdb`` on ``interfaces`` until interrupted (caproto's ``run`` with this context).

    SIGTERM ends it as a normal exit, so its daemon processes (the CA repeater)
    end with it instead of being left behind.
    """
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        asyncio.run(start_server(pvdb, interfaces=interfaces, log_pv_names=log_pv_names))
    except KeyboardInterrupt:
        pass
