"""Fly-scan hardware: the busy record that runs the analyzer trajectory and the arrays it fills."""

from ophyd import EpicsSignal, EpicsSignalRO
from ophyd import FormattedComponent as FCpt

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
    elapsed = FCpt(EpicsSignalRO, "{self._pv[mcs]}ElapsedReal", kind="omitted")
    num_pulses = FCpt(EpicsSignal, "{self._pv[pulses]}NumPulses", kind="config")
    pulse_positions = FCpt(EpicsSignalRO, "{self._pv[pulses]}PulsePositions", kind="omitted")
    range_mcs_channel = FCpt(EpicsSignalRO, "{self._pv[changes]}DDPCA300:mcsChan", kind="omitted")
    range_gain = FCpt(EpicsSignalRO, "{self._pv[changes]}DDPCA300:ampGain", kind="omitted")
    range_requested = FCpt(EpicsSignalRO, "{self._pv[changes]}DDPCA300:ampReqGain", kind="omitted")

    @classmethod
    def _required_pvs(cls) -> list[str]:
        return ["start", "mcs", "pulses", "changes"]
