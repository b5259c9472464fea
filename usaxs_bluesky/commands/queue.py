"""``usaxs queue start`` (RE Manager on the session builder) and ``usaxs queue submit FILE``."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from .common import default_data_dir

DEFAULT_CONTROL_PORT = 60615
ZMQ_ENV = "QSERVER_ZMQ_CONTROL_ADDRESS"


def _start(args: argparse.Namespace) -> int:
    from ..queue.manager import RedisProcess, ReManagerProcess

    sim = redis = http = None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    config_dir = args.config_dir or args.data_dir / "queue"
    try:
        if args.sim:
            from usaxs_sim.launcher import SimProcess

            sim = SimProcess(time_scale=args.time_scale).start()
            sim.apply_env()
        redis_addr = args.redis_addr
        if redis_addr is None:
            redis = RedisProcess(config_dir / "redis").start()
            redis_addr = redis.addr
        manager = ReManagerProcess(
            config_dir=config_dir,
            data_dir=args.data_dir,
            redis_addr=redis_addr,
            pv_map=args.pv_map,
            metadata_requests=str(args.requests) if args.requests else None,
            ipython_kernel=not args.no_ipython_kernel,
            remote_folders=[str(f) for f in args.remote_folder] or None,
            control_port=args.port,
        )
        manager.start()
        if args.http_port is not None:
            from ..queue.http import API_KEY_ENV, HttpServerProcess

            http = HttpServerProcess(
                config_dir=config_dir,
                control_addr=manager.control_addr,
                info_addr=manager.info_addr,
                port=args.http_port,
                **({"api_key": os.environ[API_KEY_ENV]} if API_KEY_ENV in os.environ else {}),
            ).start()
            print(
                f"HTTP server {http.uri} (group users); header 'Authorization: ApiKey "
                f"{'$' + API_KEY_ENV if API_KEY_ENV in os.environ else http.api_key}'",
                flush=True,
            )
        print(
            f"RE Manager on {manager.control_addr} (worker: "
            f"{'IPython kernel' if manager.ipython_kernel else 'Python process'}), "
            f"Redis {redis_addr}, data in {args.data_dir}, lists in {config_dir}, "
            f"log {manager.log_path}.\n"
            f"Open the environment: qserver --zmq-control-addr {manager.control_addr} "
            "environment open. Ctrl-C stops.",
            flush=True,
        )
        try:
            while not stop.wait(0.5) and manager.process.poll() is None:
                pass
        except KeyboardInterrupt:
            pass
        manager.stop()
    finally:
        if http is not None:
            http.stop()
        if redis is not None:
            redis.stop()
        if sim is not None:
            sim.stop()
    return 0


def _submit(args: argparse.Namespace) -> int:
    from bluesky_queueserver_api.zmq import REManagerAPI

    from ..instrument import load_config
    from ..metadata.request_files import load_requests
    from ..queue.batch import submit_file

    api = REManagerAPI(zmq_control_addr=args.zmq)
    api.user = args.user or os.environ.get("USER", "usaxs")
    api.user_group = args.group
    try:
        result = submit_file(
            api,
            args.file,
            config=load_config(args.pv_map),
            user_name=args.user,
            requests=load_requests(args.requests) if args.requests else None,
            timeout=args.timeout,
        )
    finally:
        api.close()
    if result.ok:
        print(f"{args.file}: {len(result.added)} item(s) added to the queue as one batch")
        return 0
    for problem in result.problems:
        print(problem)
    print(f"{args.file}: refused, nothing added ({len(result.problems)} problem(s))")
    return 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``queue start`` and ``queue submit``."""
    p = sub.add_parser("queue", help="the queue server: start RE Manager, submit command files")
    qsub = p.add_subparsers(dest="queue_command", required=True)
    start = qsub.add_parser("start", help="run RE Manager on the USAXS session (foreground)")
    start.add_argument("--data-dir", type=Path, default=default_data_dir())
    start.add_argument("--config-dir", type=Path, default=None, help="default DATA_DIR/queue")
    start.add_argument("--port", type=int, default=DEFAULT_CONTROL_PORT, help="ZMQ control port")
    start.add_argument("--redis-addr", default=None, help="host:port (default: a private one)")
    start.add_argument("--pv-map", default=os.environ.get("USAXS_PV_MAP") or None)
    start.add_argument("--requests", type=Path, default=None, help="metadata request file")
    start.add_argument(
        "--remote-folder",
        type=Path,
        action="append",
        default=[],
        help="folder the remote_ops plan may run command files from (repeatable)",
    )
    start.add_argument(
        "--http-port",
        type=int,
        default=None,
        help="also run bluesky-httpserver on 127.0.0.1:PORT (API key: "
        "$QSERVER_HTTP_SERVER_SINGLE_USER_API_KEY, else a new one, printed)",
    )
    start.add_argument("--sim", action="store_true", help="start the simulated instrument first")
    start.add_argument("--time-scale", type=float, default=0.05, help="simulator time scale")
    start.add_argument(
        "--no-ipython-kernel", action="store_true", help="plain Python worker instead"
    )
    start.set_defaults(func=_start)
    submit = qsub.add_parser("submit", help="check a command file and queue it as one batch")
    submit.add_argument("file", type=Path)
    submit.add_argument(
        "--zmq",
        default=os.environ.get(ZMQ_ENV, f"tcp://127.0.0.1:{DEFAULT_CONTROL_PORT}"),
        help=f"RE Manager control address (default ${ZMQ_ENV} or port {DEFAULT_CONTROL_PORT})",
    )
    submit.add_argument("--user", default=None, help="user name (default: the user-name PV)")
    submit.add_argument("--group", default="users", help="user group (users or staff)")
    submit.add_argument("--requests", type=Path, default=None, help="metadata request file")
    submit.add_argument("--pv-map", default=os.environ.get("USAXS_PV_MAP") or None)
    submit.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for PVs")
    submit.set_defaults(func=_submit)
