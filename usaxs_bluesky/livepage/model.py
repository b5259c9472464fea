"""What the page shows, as JSON-ready dicts: status, the runs a viewer may see, latest data.

:class:`LiveModel` joins the status monitor (PVs), the run feed (catalog) and
the run data (files). Every method that touches runs takes the
:class:`~.access.Viewer` and returns only what that viewer may see.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .access import Viewer
from .data import RunData
from .runs import LiveRun, RunFeed
from .status import StatusMonitor

#: runs of each technique whose curves the page plots
CURVES_PER_TECHNIQUE = 5
#: techniques plotted, in page order
TECHNIQUES = ("USAXS", "SAXS", "WAXS")
#: techniques with a 2-D frame image
FRAME_TECHNIQUES = ("SAXS", "WAXS")
#: largest command file shown (bytes)
MAX_COMMAND_FILE = 200_000
#: exit statuses shown as the last error
FAILED = ("fail", "abort")


@dataclass
class LiveModel:
    """The page's sources; ``monitor`` may be None (no PVs: status items empty)."""

    feed: RunFeed
    data: RunData
    monitor: StatusMonitor | None = None

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        """The status block: PV items, open run, progress, command file, suspension, errors."""
        now = time.time()
        pvs = self.monitor.snapshot() if self.monitor else _no_pvs()
        runs = self.feed.runs()
        current = next((r for r in reversed(runs) if r.open), None)
        beam = pvs["beam"]
        return {
            "server_time": now,
            "items": pvs["items"],
            "pv_stale_since": pvs["stale_since"],
            "pv_disconnected": pvs["disconnected"],
            "catalog_stale_since": self.feed.stale_since,
            "catalog_error": self.feed.error,
            "last_update": max(
                (t for t in (pvs["last_update"], self.feed.refreshed) if t), default=None
            ),
            "run": _run_status(current, pvs["progress_pvs"], now) if current else None,
            "command_file": _command_file(current or (runs[-1] if runs else None)),
            "suspension": beam if (current and beam) else None,
            "beam": beam,
            "last_error": _last_error(runs),
        }

    # -------------------------------------------------------------------- runs
    def visible(self, viewer: Viewer) -> list[LiveRun]:
        """The session's runs ``viewer`` may see, oldest first."""
        return [r for r in self.feed.runs() if viewer.may_see(r.summary)]

    def run(self, viewer: Viewer, uid: str) -> LiveRun:
        """The run ``uid`` if ``viewer`` may see it; ``KeyError`` otherwise (same as absent)."""
        for r in self.feed.runs():
            if r.summary.uid == uid and viewer.may_see(r.summary):
                return r
        raise KeyError(uid)

    def runs(self, viewer: Viewer) -> dict[str, Any]:
        """The run table: newest first, with each run's files (by index) and status."""
        rows = []
        for r in reversed(self.visible(viewer)):
            s = r.summary
            rows.append(
                {
                    "uid": s.uid,
                    "time": s.time,
                    "sample": s.sample,
                    "plan": s.plan,
                    "technique": r.technique,
                    "scan_id": s.scan_id,
                    "user": s.user,
                    "status": "running" if r.open else (s.exit_status or "?"),
                    "files": [
                        {"index": n, "kind": f.kind, "name": Path(f.path).name, "size": f.size}
                        for n, f in enumerate(s.files)
                    ],
                }
            )
        return {"viewer": viewer.label, "generation": self.feed.generation, "runs": rows}

    def latest(self, viewer: Viewer) -> dict[str, Any]:
        """Curves of the last runs by technique and the latest SAXS/WAXS frame's run uid."""
        visible = self.visible(viewer)
        plots: dict[str, list[dict[str, Any]]] = {}
        frames: dict[str, str | None] = {}
        for technique in TECHNIQUES:
            mine = [r for r in visible if r.technique == technique]
            shown = []
            for r in reversed(mine):
                curves = self.data.curves(r)
                if curves:
                    shown.append(_run_curves(r, curves))
                if len(shown) == CURVES_PER_TECHNIQUE:
                    break
            plots[technique] = shown
            if technique in FRAME_TECHNIQUES:
                done = [r for r in mine if r.summary.files_of("raw")]
                frames[technique] = done[-1].summary.uid if done else None
        return {"viewer": viewer.label, "plots": plots, "frames": frames}


def _no_pvs() -> dict[str, Any]:
    return {
        "items": [],
        "beam": None,
        "progress_pvs": {},
        "disconnected": [],
        "stale_since": None,
        "last_update": None,
    }


def _run_curves(run: LiveRun, curves: list[dict[str, Any]]) -> dict[str, Any]:
    s = run.summary
    return {
        "uid": s.uid,
        "sample": s.sample,
        "scan_id": s.scan_id,
        "time": s.time,
        "curves": curves,
    }


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _run_status(run: LiveRun, pvs: dict[str, Any], now: float) -> dict[str, Any]:
    """The open run: plan, sample, scan id, points done / total and seconds left (or None).

    Time left: from the rate so far when points are known, else the fly scan's planned time.
    """
    s = run.summary
    elapsed = max(0.0, now - s.time)
    done = total = None
    technique = run.technique
    if s.plan.lower() == "flyscan" and pvs.get("fly_busy"):
        done, total = _number(pvs.get("mcs_channel")), _number(pvs.get("mcs_channels"))
    elif technique in FRAME_TECHNIQUES:
        key = technique.lower()
        done, total = _number(pvs.get(f"{key}_images_done")), _number(pvs.get(f"{key}_images"))
    left = None
    scan_time = _number(run.start.get("scan_time_s"))
    if done and total and done <= total:
        left = elapsed / done * (total - done)  # the rate so far
    elif scan_time is not None:
        left = max(0.0, scan_time - elapsed)
    return {
        "plan": s.plan,
        "sample": s.sample,
        "scan_id": s.scan_id,
        "technique": technique,
        "started": s.time,
        "points_done": done,
        "points_total": total,
        "time_left_s": left,
    }


def _command_file(run: LiveRun | None) -> dict[str, Any] | None:
    """The command file of ``run`` (from its start document) with its line, or None."""
    if run is None or not run.start.get("command_file"):
        return None
    path = Path(str(run.start["command_file"]))
    try:
        if path.stat().st_size > MAX_COMMAND_FILE:
            raise OSError("too large")
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    return {
        "name": path.name,
        "lines": lines,
        "current": run.start.get("command_line"),
        "text": run.start.get("command_text"),
        "running": run.open,
    }


def _last_error(runs: list[LiveRun]) -> dict[str, Any] | None:
    for r in reversed(runs):
        if r.stop.get("exit_status") in FAILED:
            return {
                "time": r.stop.get("time"),
                "plan": r.summary.plan,
                "scan_id": r.summary.scan_id,
                "status": r.stop.get("exit_status"),
                "reason": r.stop.get("reason", ""),
            }
    return None
