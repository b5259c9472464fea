"""Test helper: reduction inputs built from the documents of runs on the simulator.

Until the NeXus writer makes raw files, the raw arrays and the instrument
values are taken from the document stream: the ``primary`` and fly-scan
event pages, the baseline readings and the descriptors' configuration
(amplifier gains and dark rates per range, I0 gain, mask times, detector
geometry).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np
from bluesky import RunEngine

from usaxs_bluesky.contract.geometry import range_and_validity
from usaxs_bluesky.reduction.areadetector import AreaFrame
from usaxs_bluesky.reduction.usaxs_raw import UsaxsRaw, clock_rate

Docs = list[tuple[str, dict]]

#: start keys of the USAXS pin-diode transmission (plans/transmission.py), as the file has them
PIN_START_KEYS = (
    "measure_trans_pin",
    "trans_pin_counts",
    "trans_pin_gain",
    "trans_I0_counts",
    "trans_I0_gain",
)


def collect(RE: RunEngine, plan: Generator) -> Docs:
    """Run ``plan`` and return the documents of its (single) run."""
    docs: Docs = []
    token = RE.subscribe(lambda name, doc: docs.append((name, doc)))
    try:
        RE(plan)
    finally:
        RE.unsubscribe(token)
    return docs


class RunDocs:
    """Columns, configuration and baseline of one run's documents."""

    def __init__(self, docs: Docs) -> None:
        self.start = next(d for n, d in docs if n == "start")
        stops = [d for n, d in docs if n == "stop"]
        if not stops or stops[0]["exit_status"] != "success":
            raise AssertionError(f"run did not succeed: {stops}")
        self.streams: dict[str, str] = {}
        self.config: dict[str, Any] = {}
        for name, doc in docs:
            if name == "descriptor":
                self.streams[doc["uid"]] = doc["name"]
                for dev in doc["configuration"].values():
                    self.config.update(dev["data"])
        self.columns: dict[str, dict[str, list]] = {}
        for name, doc in docs:
            if name == "event":
                pages = [({k: [v] for k, v in doc["data"].items()}, doc["descriptor"])]
            elif name == "event_page":
                pages = [(doc["data"], doc["descriptor"])]
            else:
                continue
            for data, desc in pages:
                cols = self.columns.setdefault(self.streams[desc], {})
                for k, v in data.items():
                    cols.setdefault(k, []).extend(v)

    def array(self, stream: str, key: str) -> np.ndarray:
        """Column ``key`` of ``stream`` as an array (first axis: events)."""
        return np.asarray(self.columns[stream][key])

    def baseline(self, key: str) -> Any:
        """Baseline reading at the start of the run."""
        return self.columns["baseline"][key][0]


def usaxs_raw(docs: Docs, label: str = "sim") -> UsaxsRaw:
    """A :class:`UsaxsRaw` of a ``Flyscan`` run, as ``read_usaxs`` would give from its file."""
    run = RunDocs(docs)
    cfg = run.config
    clock = run.array("primary", "flyscan_clock").astype(float)
    i0 = run.array("primary", "flyscan_I0").astype(float)
    upd = run.array("primary", "flyscan_UPD").astype(float)
    ar = run.array("primary", "flyscan_ar").astype(float)
    rate = clock_rate(float(clock.sum()), run.start["scan_time_s"], cfg["flyscan_clock_frequency"])
    t = clock / rate
    masks = np.array([cfg[f"terms_amp_block_time{r}"] for r in range(5)])
    rng, valid = range_and_validity(
        len(clock),
        run.array("flyscan_range_changes", "flyscan_change_range"),
        run.array("flyscan_range_changes", "flyscan_change_requested"),
        run.array("flyscan_range_changes", "flyscan_change_channel"),
        t,
        masks,
    )
    pre = "upd_autorange_ranges_range"
    wavelength = float(run.baseline("monochromator_wavelength"))
    return UsaxsRaw(
        path=Path(f"{label}_{run.start['uid'][:8]}"),
        plan="fly",
        ar=ar,
        i0=i0,
        upd=upd,
        time=t,
        upd_range=rng,
        valid=valid & (clock > 0) & (i0 > 0),
        gains=np.array([cfg[f"{pre}{r}_gain"] for r in range(5)]),
        bkg=np.array([cfg[f"{pre}{r}_background"] for r in range(5)]),
        bkg_err=np.array([cfg[f"{pre}{r}_background_error"] for r in range(5)]),
        mask_times=masks,
        i0_gain=np.full(len(clock), float(cfg["amplifier_gains_I0"])),
        ar_center=float(cfg["terms_ar_center"]),
        wavelength=wavelength,
        energy=float(run.baseline("monochromator_energy")),
        upd_size=float(cfg["terms_upd_size"]),
        sdd=float(cfg["terms_sdd"]),
        thickness_mm=float(run.start["sample_thickness_mm"]),
        sample_name=run.start["title"],
        timestamp=str(run.start["time"]),
        metadata={
            "clock_rate_Hz": rate,
            "amplifier": "DDPCA300",
            **{k: run.start[k] for k in PIN_START_KEYS if k in run.start},
        },
    )


def area_frame(docs: Docs, label: str = "sim") -> AreaFrame:
    """An :class:`AreaFrame` of a ``saxsExp``/``waxsExp`` run (one image).

    Geometry from the detector's configuration (``<det>_geometry_*``), I0 and
    the transmission diode (TRD) from the scaler counted over the exposure,
    gains from ``amplifier_gains``.
    """
    run = RunDocs(docs)
    cfg = run.config
    kind = run.start["plan_name"]
    det = "saxs_det" if kind == "SAXS" else "waxs_det"
    image = run.array("primary", f"{det}_image")[-1]
    geo = f"{det}_geometry"
    wavelength = float(run.baseline("monochromator_wavelength"))
    i0 = float(run.array("primary", "I0")[-1])
    i0_gain = float(cfg["amplifier_gains_I0"])
    return AreaFrame(
        path=Path(f"{label}_{run.start['uid'][:8]}"),
        kind=kind,
        data=np.asarray(image, dtype=np.int32),
        distance=float(cfg[f"{geo}_distance"]),
        pixel_x=float(cfg[f"{geo}_pixel_size_x"]),
        pixel_y=float(cfg[f"{geo}_pixel_size_y"]),
        center_x=float(cfg[f"{geo}_beam_center_x"]),
        center_y=float(cfg[f"{geo}_beam_center_y"]),
        tilt_x=0.0,
        tilt_y=0.0,
        wavelength=wavelength,
        energy=float(run.baseline("monochromator_energy")),
        i0=i0,
        i0_gain=i0_gain,
        exposure=float(cfg[f"{det}_cam_acquire_time"]),
        trans_diode=float(run.array("primary", "TRD")[-1]),
        trans_diode_gain=float(cfg["amplifier_gains_TRD"]),
        trans_i0=i0,
        trans_i0_gain=i0_gain,
        i_scaling=float(cfg[f"{geo}_i_scaling"]),
        thickness_mm=float(run.start["sample_thickness_mm"]),
        sample_name=run.start["title"],
        timestamp=str(run.start["time"]),
        model=str(cfg[f"{det}_cam_model"]),
    )


def relative_error(
    q: np.ndarray, measured: np.ndarray, truth: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """``measured / truth(q) - 1`` point by point."""
    return measured / truth(q) - 1.0
