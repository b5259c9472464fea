"""The session's runs as the catalog records them, refreshed in one background thread.

:class:`RunFeed` reads the catalog (embedded SQLite or a Tiled server with a
staff key) every ``poll_s`` seconds: the runs started since ``since``, the
open run (no stop document yet) and the last failure. Browsers never cause a
catalog query; when the catalog cannot be read the last list is kept and
``stale_since`` says since when.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tiled.queries import Comparison

from ..catalog.search import RunSummary, summarize

log = logging.getLogger(__name__)

#: plan names of each technique, for runs whose start has no ``technique``
PLAN_TECHNIQUE = {"flyscan": "USAXS", "uascan": "USAXS", "saxs": "SAXS", "waxs": "WAXS"}
#: start keys copied for the open run (command file line, scan sizes)
RUN_KEYS = (
    "command_file",
    "command_line",
    "command_text",
    "num_points",
    "intervals",
    "num_pulses",
    "scan_time_s",
)


def technique_of(run: RunSummary) -> str:
    """``USAXS``, ``SAXS``, ``WAXS`` (or the start's technique, upper case; '' if none)."""
    if run.technique:
        return run.technique.upper()
    return PLAN_TECHNIQUE.get(run.plan.lower(), "")


@dataclass(frozen=True)
class LiveRun:
    """A run on the page: its catalog summary plus the start/stop details the page shows."""

    summary: RunSummary
    start: dict[str, Any] = field(default_factory=dict)
    stop: dict[str, Any] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        """True while the run has no stop document."""
        return not self.stop

    @property
    def technique(self) -> str:
        """The run's technique (:func:`technique_of`)."""
        return technique_of(self.summary)


CatalogOpener = Callable[[], Any]


class RunFeed:
    """The runs since ``since`` (epoch s), re-read every ``poll_s`` s by :meth:`start`'s thread."""

    def __init__(self, open_catalog: CatalogOpener, *, since: float, poll_s: float = 1.0) -> None:
        self._open = open_catalog
        self.since = since
        self.poll_s = poll_s
        self._catalog: Any = None
        self._runs: list[LiveRun] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stale_since: float | None = None
        self.error: str | None = None
        self.refreshed: float | None = None
        self.generation = 0  # bumped whenever the run list changes

    def runs(self) -> list[LiveRun]:
        """The runs, oldest first (a copy)."""
        with self._lock:
            return list(self._runs)

    def refresh(self) -> bool:
        """Read the catalog once; True on success (else keep the old list, mark stale)."""
        try:
            if self._catalog is None:
                self._catalog = self._open()
            results = self._catalog.search(Comparison("ge", "start.time", float(self.since)))
            runs = []
            for uid, node in results.items():
                metadata = node.metadata
                runs.append(
                    LiveRun(
                        summarize(uid, node),
                        start={k: metadata["start"][k] for k in RUN_KEYS if k in metadata["start"]},
                        stop=dict(metadata.get("stop") or {}),
                    )
                )
        except Exception as exc:  # noqa: BLE001 - any catalog failure keeps the page alive
            now = time.time()
            with self._lock:
                if self.stale_since is None:
                    self.stale_since = now
                    log.warning("catalog unreadable: %s", exc)
                self.error = f"{type(exc).__name__}: {exc}"
            self._catalog = None  # reopen next time (a restarted server, a moved file)
            return False
        runs.sort(key=lambda r: r.summary.time)
        with self._lock:
            if runs != self._runs:
                self._runs = runs
                self.generation += 1
            self.stale_since = None
            self.error = None
            self.refreshed = time.time()
        return True

    def start(self) -> RunFeed:
        """Refresh now and then every ``poll_s`` seconds in a daemon thread; returns self."""
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="RunFeed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the refresh thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.refresh()


def embedded_opener(data_dir: Path) -> CatalogOpener:
    """Open the embedded catalog of ``data_dir`` (read only: never creates it)."""

    def opener() -> Any:
        from ..catalog.store import open_catalog

        return open_catalog(data_dir, create=False)

    return opener


def server_opener(uri: str, api_key: str | None) -> CatalogOpener:
    """Open the runs of the Tiled server at ``uri`` (a bare ``http://host:port``: its ``usaxs``
    mount) with ``api_key`` (a staff key: the page filters itself)."""

    def opener() -> Any:
        from ..catalog.store import open_catalog

        return open_catalog(uri=uri, api_key=api_key)

    return opener
