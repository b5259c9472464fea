"""Command line: ``python -m usaxs_sim --port 5064 --repeater-port 5065 ...``."""

from __future__ import annotations

import argparse
import errno
import socket
import sys


def port_in_use(host: str, port: int) -> bool:
    """True if the TCP or UDP ``port`` on ``host`` cannot be bound.

    TCP is probed with ``SO_REUSEADDR``, as the server binds it: connections
    of a crashed server left in TIME-WAIT do not keep a restart off its port.
    """
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    return True
                raise
    return False


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m usaxs_sim",
        description="Simulated APS USAXS/SAXS/WAXS instrument (12-ID-E) as a caproto IOC.",
    )
    p.add_argument("--port", type=int, default=5064, help="CA server port (TCP and UDP)")
    p.add_argument("--repeater-port", type=int, default=5065, help="CA repeater port")
    p.add_argument("--prefix", default="", help="string prepended to every PV name")
    p.add_argument(
        "--time-scale",
        type=float,
        default=0.05,
        help="wall-clock seconds per simulated second (moves, counts, scans)",
    )
    p.add_argument("--interface", default="127.0.0.1", help="interface to serve on")
    p.add_argument("--seed", type=int, default=None, help="random seed (Poisson noise)")
    p.add_argument(
        "--state",
        metavar="FILE",
        default=None,
        help="keep the user name, sample and other user-facing PVs in FILE across restarts",
    )
    p.add_argument("--list-pvs", action="store_true", help="print the PV names and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="log PV names at startup")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.time_scale <= 0:
        print("--time-scale must be > 0", file=sys.stderr)
        return 2
    if args.list_pvs:
        from .ioc import UsaxsSimIOC

        for name in UsaxsSimIOC(prefix=args.prefix).pvdb:
            print(name)
        return 0
    if port_in_use(args.interface, args.port):
        print(
            f"CA server port {args.port} on {args.interface} is already in use",
            file=sys.stderr,
        )
        return 3
    from .ioc import run

    run(
        host=args.interface,
        server_port=args.port,
        repeater_port=args.repeater_port,
        prefix=args.prefix,
        time_scale=args.time_scale,
        seed=args.seed,
        log_pv_names=args.verbose,
        state_file=args.state,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
