"""Fly-scan hardware: the busy record that runs the analyzer trajectory and the arrays it fills."""

import time

import numpy as np
from ophyd import EpicsSignal, EpicsSignalRO
from ophyd import FormattedComponent as FCpt
from ophyd.status import Status

from ..contract.geometry import range_and_validity
from .pvmap import PVMapDevice


class FlyScanHardware(PVMapDevice):
    """Busy ``start`` (write 1; put-completion at the end of the trajectory) and its results.

    Arrays after a scan: ``clock``, ``i0``, ``upd`` (multichannel scaler, one
    value per channel), ``pulse_positions`` (analyzer angle of each pulse,
    degrees), and the UPD range changes (``range_mcs_channel``,
    ``range_gain`` and ``range_requested``: channel at which the amplifier
    range changed, the range reached and the range requested).
    """

    start = FCpt(EpicsSignal, "{self._pv[start]}", put_complete=True, kind="omitted")
    clock = FCpt(EpicsSignalRO, "{self._pv[mcs]}mca1", kind="omitted")
    i0 = FCpt(EpicsSignalRO, "{self._pv[mcs]}mca2", kind="omitted")
    upd = FCpt(EpicsSignalRO, "{self._pv[mcs]}mca3", kind="omitted")
    clock_frequency = FCpt(EpicsSignalRO, "{self._pv[mcs]}clock_frequency", kind="config")
    current_channel = FCpt(EpicsSignalRO, "{self._pv[mcs]}CurrentChannel", kind="omitted")
    elapsed_time = FCpt(EpicsSignalRO, "{self._pv[mcs]}ElapsedReal", kind="config")
    num_pulses = FCpt(EpicsSignal, "{self._pv[pulses]}NumPulses", kind="config")
    pulse_positions = FCpt(EpicsSignalRO, "{self._pv[pulses]}PulsePositions", kind="omitted")
    range_mcs_channel = FCpt(EpicsSignalRO, "{self._pv[changes]}DDPCA300:mcsChan", kind="omitted")
    range_gain = FCpt(EpicsSignalRO, "{self._pv[changes]}DDPCA300:ampGain", kind="omitted")
    range_requested = FCpt(EpicsSignalRO, "{self._pv[changes]}DDPCA300:ampReqGain", kind="omitted")

    @classmethod
    def _required_pvs(cls) -> list[str]:
        return ["start", "mcs", "pulses", "changes"]


class UsaxsFlyer(FlyScanHardware):
    """The fly-scan hardware as a bluesky flyer (``kickoff``/``complete``/``collect_pages``).

    Streams it describes:
    ``primary`` (one row per MCS channel): ``flyscan_ar`` (mean analyzer angle
    of the channel, deg), ``flyscan_clock`` (counts of the 1 MHz reference),
    ``flyscan_I0``, ``flyscan_UPD`` (counts), ``flyscan_upd_range``;
    ``flyscan_pulses``: ``flyscan_pulse_position`` (deg) of every pulse;
    ``flyscan_range_changes``: ``flyscan_change_channel``,
    ``flyscan_change_range``, ``flyscan_change_requested``.
    """

    STREAMS = {
        "primary": {
            "flyscan_ar": ("pulse_positions", "deg", "<f8"),
            "flyscan_clock": ("clock", "counts", "<i4"),
            "flyscan_I0": ("i0", "counts", "<i4"),
            "flyscan_UPD": ("upd", "counts", "<i4"),
            "flyscan_upd_range": (None, "", "<i4"),
        },
        "flyscan_pulses": {"flyscan_pulse_position": ("pulse_positions", "deg", "<f8")},
        "flyscan_range_changes": {
            "flyscan_change_channel": ("range_mcs_channel", "", "<f8"),
            "flyscan_change_range": ("range_gain", "", "<f8"),
            "flyscan_change_requested": ("range_requested", "", "<f8"),
        },
    }

    #: Seconds to wait for the busy record to finish after an abort.
    ABORT_TIMEOUT_S = 30.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._busy: Status | None = None

    def kickoff(self) -> Status:
        """Start the trajectory; the status is done once the busy record is running."""
        self._busy = self.start.set(1)
        status = Status(obj=self, timeout=30)
        status.set_finished()
        return status

    def pause(self) -> None:
        """Abort a trajectory in flight (``start`` = 0); wait until the busy record is idle.

        The RunEngine calls this when a scan is suspended; the aborted pass's
        partial arrays are never collected: the plan replays ``kickoff`` from
        its checkpoint and the trajectory is flown again from its start.
        """
        busy, self._busy = self._busy, None
        if busy is None or busy.done:
            return
        self.start.put(0, use_complete=False)
        busy.wait(timeout=self.ABORT_TIMEOUT_S)

    def resume(self) -> None:
        """Nothing to re-arm: the replayed ``kickoff`` starts a new trajectory."""

    def complete(self) -> Status:
        """Return the busy record's put-completion status (done at the end of the trajectory)."""
        if self._busy is None:
            raise RuntimeError(f"{self.name}: complete() called before kickoff()")
        return self._busy

    def describe_collect(self) -> dict[str, dict[str, dict]]:
        """Data keys of the three streams, with the source PVs."""
        described: dict[str, dict[str, dict]] = {}
        for stream, keys in self.STREAMS.items():
            described[stream] = {}
            for key, (attr, units, dtype) in keys.items():
                source = f"PV:{getattr(self, attr).pvname}" if attr else f"derived:{self.name}"
                described[stream][key] = {
                    "source": source,
                    "dtype": "integer" if dtype == "<i4" else "number",
                    "dtype_numpy": dtype,
                    "shape": [],
                    "units": units,
                }
        return described

    def collect_pages(self):
        """Yield one event page per stream with the arrays read after the trajectory."""
        self._busy = None
        clock = np.asarray(self.clock.get(), dtype=np.int32)
        n = len(clock)
        pulses = np.asarray(self.pulse_positions.get(), dtype=float)
        if len(pulses) < n + 1:
            raise RuntimeError(
                f"{self.name}: {len(pulses)} pulse positions for {n} scaler channels"
            )
        changes = [
            np.asarray(s.get(), dtype=float)
            for s in (self.range_mcs_channel, self.range_gain, self.range_requested)
        ]
        now = time.time()
        primary = {
            "flyscan_ar": 0.5 * (pulses[:n] + pulses[1 : n + 1]),
            "flyscan_clock": clock,
            "flyscan_I0": np.asarray(self.i0.get(), dtype=np.int32)[:n],
            "flyscan_UPD": np.asarray(self.upd.get(), dtype=np.int32)[:n],
            "flyscan_upd_range": range_and_validity(n, changes[1], changes[2], changes[0])[0],
        }
        yield _page(primary, now)
        yield _page({"flyscan_pulse_position": pulses}, now)
        yield _page(
            {
                "flyscan_change_channel": changes[0],
                "flyscan_change_range": changes[1],
                "flyscan_change_requested": changes[2],
            },
            now,
        )


def _page(columns: dict[str, np.ndarray], now: float) -> dict:
    length = len(next(iter(columns.values())))
    return {
        "data": {k: np.asarray(v).tolist() for k, v in columns.items()},
        "timestamps": {k: [now] * length for k in columns},
        "time": [now] * length,
    }
