"""The instrument's status from its PVs: Channel Access monitors in the live page's process.

Every PV is a pyepics ``PV`` with ``auto_monitor``: the IOC pushes changes,
nothing polls, and the RunEngine (another process) is never asked anything.
When PVs disconnect, the last values are kept and :meth:`StatusMonitor.snapshot`
says since when they are stale.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..instrument import load_config
from ..plans.suspenders import MIN_CURRENT_MA

#: what the page shows, its PV (from the PV map) and its unit
STATUS_ITEMS: tuple[tuple[str, str], ...] = (
    ("ring_current", "mA"),
    ("energy", "keV"),
    ("wavelength", "Å"),
    ("mode", ""),
    ("mono_shutter", ""),
    ("usaxs_shutter", ""),
    ("ar_center", "deg"),
    ("sample_title", ""),
    ("sample_thickness", "mm"),
    ("sample_x", "mm"),
    ("sample_y", "mm"),
    ("user_name", ""),
)
#: PVs read for scan progress, not shown as items
PROGRESS_ITEMS = (
    "fly_busy",
    "mcs_channel",
    "mcs_channels",
    "saxs_images_done",
    "saxs_images",
    "waxs_images_done",
    "waxs_images",
)
SHUTTER_STATES = {0: "closed", 1: "open"}


def status_pvs(config: dict[str, Any] | None = None) -> dict[str, str]:
    """Return ``{item: PV name}`` for :data:`STATUS_ITEMS` and :data:`PROGRESS_ITEMS`."""
    config = config or load_config()
    prefix = config.get("pv_prefix", "")
    terms = config["terms"]
    stages = config["stages"]
    area = config["area_detectors"]
    pvs = {
        "ring_current": config["beam_current"],
        "energy": config["monochromator"]["energy"],
        "wavelength": config["monochromator"]["wavelength"],
        "mode": terms["mode"],
        "mono_shutter": config["shutters"]["mono_shutter"] + "State",
        "usaxs_shutter": config["shutters"]["usaxs_shutter"] + "State",
        "ar_center": terms["usaxs"] + "ARcenter",
        "sample_title": config["sample_data"]["title"],
        "sample_thickness": config["sample_data"]["thickness"],
        "sample_x": stages["s_stage"]["x"] + ".RBV",
        "sample_y": stages["s_stage"]["y"] + ".RBV",
        "user_name": config["user_data"]["user_name"],
        "fly_busy": config["flyscan"]["start"],
        "mcs_channel": config["flyscan"]["mcs"] + "CurrentChannel",
        "mcs_channels": config["flyscan"]["mcs"] + "NuseAll",
        "saxs_images_done": area["saxs_det"]["prefix"] + "cam1:NumImagesCounter_RBV",
        "saxs_images": area["saxs_det"]["prefix"] + "cam1:NumImages",
        "waxs_images_done": area["waxs_det"]["prefix"] + "cam1:NumImagesCounter_RBV",
        "waxs_images": area["waxs_det"]["prefix"] + "cam1:NumImages",
    }
    return {item: prefix + pv for item, pv in pvs.items()}


@dataclass
class _Reading:
    value: Any = None
    connected: bool = False
    changed: float | None = None  # epoch s of the last value pushed by the IOC


def _plain(value: Any) -> Any:
    """A JSON-safe value: numbers (nan/inf become None), strings, else its text."""
    if value is None or isinstance(value, str | bool | int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else None


class StatusMonitor:
    """CA monitors on :func:`status_pvs`; :meth:`snapshot` returns the current status as a dict."""

    def __init__(self, pvs: dict[str, str], *, min_current_mA: float = MIN_CURRENT_MA) -> None:  # noqa: N803
        self.pv_names = dict(pvs)
        self.min_current_mA = min_current_mA
        self._readings = {item: _Reading() for item in pvs}
        self._lock = threading.Lock()
        self._pvs: list[Any] = []
        self._down_since: float | None = time.time()
        self._last_update: float | None = None

    def start(self) -> StatusMonitor:
        """Create the PVs (connections and monitors proceed in pyepics' threads); returns self."""
        import epics

        for item, name in self.pv_names.items():
            self._pvs.append(
                epics.PV(
                    name,
                    auto_monitor=True,
                    form="ctrl",  # enum_strs come with each value
                    callback=self._on_value(item),
                    connection_callback=self._on_connection(item),
                )
            )
        return self

    def stop(self) -> None:
        """Drop the monitors and disconnect."""
        for pv in self._pvs:
            pv.clear_callbacks()
            pv.disconnect()
        self._pvs.clear()

    def _on_value(self, item: str):
        def callback(value=None, char_value=None, enum_strs=None, **_kw) -> None:
            if enum_strs and not isinstance(value, str):
                try:
                    value = enum_strs[int(value)]
                except (IndexError, ValueError, TypeError):
                    pass
            if isinstance(value, bytes):
                value = value.decode(errors="replace")
            if hasattr(value, "tolist"):
                value = char_value if isinstance(char_value, str) else value.tolist()
            now = time.time()
            with self._lock:
                reading = self._readings[item]
                reading.value, reading.changed = value, now
                self._last_update = now

        return callback

    def _on_connection(self, item: str):
        def callback(conn: bool = False, **_kw) -> None:
            now = time.time()
            with self._lock:
                self._readings[item].connected = bool(conn)
                if all(r.connected for r in self._readings.values()):
                    self._down_since = None
                elif self._down_since is None:
                    self._down_since = now

        return callback

    def values(self) -> dict[str, Any]:
        """Return ``{item: last value}`` (None before the first value)."""
        with self._lock:
            return {item: _plain(r.value) for item, r in self._readings.items()}

    def snapshot(self) -> dict[str, Any]:
        """Return items with units, shutter words, beam state, progress PVs and staleness.

        ``stale_since`` is the epoch s since when some PV is disconnected (None
        when all are connected); ``disconnected`` lists those items.
        """
        with self._lock:
            readings = {item: (_plain(r.value), r.connected) for item, r in self._readings.items()}
            down_since, last_update = self._down_since, self._last_update
        values = {item: value for item, (value, _) in readings.items()}
        items = []
        for item, unit in STATUS_ITEMS:
            value = values.get(item)
            if item.endswith("_shutter") and isinstance(value, int | float):
                value = SHUTTER_STATES.get(int(value), str(value))
            items.append({"name": item, "value": value, "unit": unit, "pv": self.pv_names[item]})
        return {
            "items": items,
            "beam": self.beam_problem(values),
            "progress_pvs": {k: values.get(k) for k in PROGRESS_ITEMS},
            "disconnected": sorted(i for i, (_, ok) in readings.items() if not ok),
            "stale_since": down_since,
            "last_update": last_update,
        }

    def beam_problem(self, values: dict[str, Any]) -> str | None:
        """The reason the beam suspenders would hold a scan now, or None (same thresholds)."""
        current = values.get("ring_current")
        if isinstance(current, int | float) and current < self.min_current_mA:
            return f"no beam: ring current {current:.3g} mA below {self.min_current_mA:g} mA"
        if values.get("mono_shutter") == 0:
            return "mono shutter closed"
        return None
