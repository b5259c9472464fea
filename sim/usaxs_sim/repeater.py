"""A Channel Access repeater for the simulator's clients.

libca (pyepics, ophyd) registers with the repeater on ``EPICS_CA_REPEATER_PORT``
by sending an *empty* datagram, once a second from 10 s after its context
starts, and prints "CA client library is unable to contact CA repeater after
50 tries" when no confirmation comes. caproto's repeater records empty
registrations but never confirms them, so every pyepics client of the
simulator printed that warning after a minute. This one confirms both forms
(empty and ``REPEATER_REGISTER``), as EPICS' ``caRepeater`` does, and
forwards every other datagram (the IOC's beacons) to the registered clients.
"""

from __future__ import annotations

import errno
import os
import socket
import struct

import caproto

HEADER = struct.Struct("!HHHHII")  # command, payload size, type, count, parameter 1, 2
BEACON = 13  # CA_PROTO_RSRV_IS_UP: parameter 2 is the server's address (0: the sender's)
REPEATER_REGISTER = 24
POLL_S = 1.0  # how often an idle repeater checks that its parent still runs


def is_registration(data: bytes) -> bool:
    """True for a client's registration: an empty datagram or a ``REPEATER_REGISTER``."""
    return len(data) == 0 or (
        len(data) >= HEADER.size and HEADER.unpack_from(data)[0] == REPEATER_REGISTER
    )


def with_sender_address(data: bytes, host: str) -> bytes:
    """``data`` with the beacons that leave their server address 0 given ``host``'s."""
    out = bytearray(data)
    offset = 0
    while offset + HEADER.size <= len(out):
        command, size, dtype, count, p1, p2 = HEADER.unpack_from(out, offset)
        if command == BEACON and p2 == 0:
            p2 = caproto.ipv4_to_int32(host)
            HEADER.pack_into(out, offset, command, size, dtype, count, p1, p2)
        offset += HEADER.size + size
    return bytes(out)


def port_free(port: int) -> bool:
    """True when no socket holds UDP ``port`` (a registered client that has gone)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def bind(host: str, port: int) -> socket.socket | None:
    """The repeater's UDP socket on ``host:port``; None when another repeater holds it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return None
        raise
    return sock


def serve(sock: socket.socket, parent_pid: int | None = None) -> None:
    """Confirm registrations and forward datagrams on ``sock`` until ``parent_pid`` ends.

    Returns when the process is no longer the child of ``parent_pid`` (the IOC
    was killed), so a repeater never outlives its simulator.
    """
    clients: dict[int, str] = {}  # client port -> host
    sock.settimeout(POLL_S)
    while parent_pid is None or os.getppid() == parent_pid:
        try:
            data, (host, port) = sock.recvfrom(caproto.MAX_UDP_RECV)
        except TimeoutError:
            continue
        if is_registration(data):
            for gone in [p for p in clients if p != port and port_free(p)]:
                del clients[gone]
            clients[port] = host
            sock.sendto(bytes(caproto.RepeaterConfirmResponse(host)), (host, port))
            continue
        forwarded = with_sender_address(data, host)
        for other_port, other_host in list(clients.items()):
            if other_port != port:
                try:
                    sock.sendto(forwarded, (other_host, other_port))
                except OSError:
                    del clients[other_port]


def run(host: str, port: int, parent_pid: int | None = None) -> None:
    """Serve a repeater on ``host:port`` (return at once if one already runs there)."""
    sock = bind(host, port)
    if sock is None:
        return
    with sock:
        serve(sock, parent_pid)
