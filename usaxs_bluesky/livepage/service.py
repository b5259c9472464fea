"""Start the live page: status monitor, run feed and HTTP server, from one :class:`LiveConfig`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog.access import Grant, load_keys
from ..instrument import load_config
from .app import build_app, normalize_base
from .data import RunData
from .defaults import (
    DEFAULT_CATALOG_POLL_S,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REFRESH_MS,
    DEFAULT_SESSION_HOURS,
)
from .model import LiveModel
from .runs import RunFeed, embedded_opener, server_opener
from .status import StatusMonitor, status_pvs


@dataclass
class LiveConfig:
    """Where the page reads from and where it listens."""

    data_dir: Path
    keys_file: Path | None = None
    catalog_uri: str | None = None
    catalog_key: str | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    base_path: str = ""
    public_runs: bool = False
    session_hours: float = DEFAULT_SESSION_HOURS
    poll_s: float = DEFAULT_CATALOG_POLL_S
    page_poll_ms: int = DEFAULT_REFRESH_MS
    pv_map: Path | None = None
    monitor_pvs: bool = True
    extra_roots: list[Path] = field(default_factory=list)

    def url(self) -> str:
        """The page's URL."""
        return f"http://{self.host}:{self.port}{normalize_base(self.base_path)}/"


def grants_of(config: LiveConfig) -> dict[str, Grant]:
    """The keys of ``config.keys_file`` (none: only the public view)."""
    return load_keys(config.keys_file) if config.keys_file else {}


def build_model(config: LiveConfig) -> LiveModel:
    """The page's sources, started: catalog feed thread and (unless off) the PV monitors."""
    opener = (
        server_opener(config.catalog_uri, config.catalog_key)
        if config.catalog_uri
        else embedded_opener(config.data_dir)
    )
    feed = RunFeed(
        opener, since=time.time() - config.session_hours * 3600.0, poll_s=config.poll_s
    ).start()
    monitor = None
    if config.monitor_pvs:
        monitor = StatusMonitor(status_pvs(load_config(config.pv_map))).start()
    data = RunData([Path(config.data_dir), *config.extra_roots])
    return LiveModel(feed=feed, data=data, monitor=monitor)


def close_model(model: LiveModel) -> None:
    """Stop the feed thread and the monitors."""
    model.feed.stop()
    if model.monitor is not None:
        model.monitor.stop()


def _server(config: LiveConfig, model: LiveModel, grants: dict[str, Grant]):
    import uvicorn

    app = build_app(
        model,
        grants,
        base_path=config.base_path,
        public_runs=config.public_runs,
        poll_ms=config.page_poll_ms,
    )
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    return uvicorn.Server(
        uvicorn.Config(app, host=config.host, port=config.port, log_level="warning")
    )


def serve_live(config: LiveConfig) -> None:
    """Serve the page in the foreground until interrupted."""
    grants = grants_of(config)  # a bad keys file stops here, before anything starts
    model = build_model(config)
    try:
        _server(config, model, grants).run()
    finally:
        close_model(model)
