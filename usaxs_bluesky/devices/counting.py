"""Counting chain: the scaler, the UPD amplifier autorange sequence and fixed amplifier gains."""

from collections import OrderedDict
from typing import Any

from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO
from ophyd import DynamicDeviceComponent as DDCpt
from ophyd import FormattedComponent as FCpt
from ophyd.scaler import ScalerCH, ScalerChannel
from ophyd.signal import SignalRO

from .pvmap import PVMapDevice

NUM_RANGES = 5
"""Ranges of the photodiode amplifier autorange sequence (0: lowest gain, 4: highest)."""


class DeferredScalerChannel(ScalerChannel):
    """ophyd's ``ScalerChannel`` without the channel-name read at construction.

    The name is read by ``Scaler.select_channels`` once the PVs connected, so
    building the device never blocks on Channel Access.
    """

    def __init__(self, prefix: str, ch_num: int, **kwargs: Any) -> None:
        self._ch_num = ch_num
        Device.__init__(self, prefix, **kwargs)


def _channels() -> OrderedDict:
    return OrderedDict(
        (f"chan{n:02d}", (DeferredScalerChannel, "", {"ch_num": n, "kind": "normal"}))
        for n in range(1, 33)
    )


class Scaler(ScalerCH):
    """The counting scaler (ophyd ``ScalerCH``): clock on channel 1, I0, I00, UPD, TRD after.

    Call ``select_channels(names)`` after connecting: the data keys become the
    channel names served by the scaler's ``.NMn`` fields.
    """

    channels = DDCpt(_channels())

    def stop(self, *, success: bool = False) -> None:
        """Stop counting (``.CNT`` = 0); harmless when done."""
        self.count.put(0)


class AmplifierRange(Device):
    """Gain (V/A) and dark background (counts/s) of one autorange range."""

    gain = FCpt(EpicsSignal, "{self.prefix}gain{self._range}", kind="config")
    background = FCpt(EpicsSignal, "{self.prefix}bkg{self._range}", kind="config")
    background_error = FCpt(EpicsSignal, "{self.prefix}bkgErr{self._range}", kind="config")

    def __init__(self, prefix: str = "", *, range_index: int, **kwargs: Any) -> None:
        self._range = range_index
        super().__init__(prefix, **kwargs)


def _ranges() -> OrderedDict:
    return OrderedDict(
        (f"range{i}", (AmplifierRange, "", {"range_index": i})) for i in range(NUM_RANGES)
    )


class AutorangeAmplifier(Device):
    """UPD amplifier autorange sequence (``usxLAX:pd01:seq02:``).

    ``mode`` selects manual / automatic; ``reqrange`` is the requested range;
    ``lurange`` the range used in the last count and ``gain`` its gain (V/A);
    the gains and backgrounds of every range are configuration, so they
    reach every descriptor.
    """

    mode = Cpt(EpicsSignal, "mode", string=True, kind="config")
    reqrange = Cpt(EpicsSignal, "reqrange", kind="config")
    lurange = Cpt(EpicsSignalRO, "lurange", kind="hinted")
    gain = Cpt(EpicsSignalRO, "gain", kind="normal")
    gain_up = Cpt(EpicsSignal, "gainU", kind="config")
    gain_down = Cpt(EpicsSignal, "gainD", kind="config")
    counts_per_volt = Cpt(EpicsSignal, "vfc", kind="config")
    updating = Cpt(EpicsSignalRO, "updating", kind="omitted")
    ranges = DDCpt(_ranges(), kind="config")


class AmplifierGains(PVMapDevice):
    """Fixed gains (V/A) of the I0, I00 and TRD current amplifiers."""

    I0 = FCpt(EpicsSignal, "{self._pv[I0_gain]}", kind="config")
    I00 = FCpt(EpicsSignal, "{self._pv[I00_gain]}", kind="config")
    TRD = FCpt(EpicsSignal, "{self._pv[TRD_gain]}", kind="config")

    @classmethod
    def _required_pvs(cls) -> list[str]:
        return [f"{c}_gain" for c in cls.component_names]


def scaler_channel(scaler: ScalerCH, channel_name: str) -> Device:
    """Return the scaler channel whose ``.NMn`` name is ``channel_name`` (e.g. ``"UPD"``)."""
    for attr in scaler.channels.component_names:
        channel = getattr(scaler.channels, attr)
        if channel.chname.get() == channel_name:
            return channel
    raise LookupError(f"{scaler.name} has no channel named {channel_name!r}")


def upd_ratio(
    upd_counts: float,
    i0_counts: float,
    count_time: float,
    gain: float,
    background: float,
    i0_gain: float,
) -> float:
    """Photodiode signal per monitor: ``((UPD - t*bkg) / gain) / (I0 / I0_gain)``.

    ``background`` is the dark rate (counts/s) of the amplifier range used;
    the result is NaN when the monitor counted nothing (no beam).
    """
    if i0_counts <= 0 or count_time <= 0:
        return float("nan")
    return ((upd_counts - count_time * background) / gain) / (i0_counts / i0_gain)


class UpdRatio(SignalRO):
    """Read-only signal: the last count's UPD, corrected for its amplifier range, over I0.

    Use it after the scaler in a detector list; it reads the values the
    scaler and the autorange sequence hold (no extra counting).
    """

    def __init__(
        self,
        *,
        scaler: ScalerCH,
        autorange: AutorangeAmplifier,
        gains: AmplifierGains,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._scaler = scaler
        self._autorange = autorange
        self._gains = gains
        self._channels: dict[str, Device] = {}

    def _channel(self, channel_name: str) -> Device:
        if channel_name not in self._channels:
            self._channels[channel_name] = scaler_channel(self._scaler, channel_name)
        return self._channels[channel_name]

    def get(self, **kwargs: Any) -> float:
        rng = getattr(self._autorange.ranges, f"range{int(self._autorange.lurange.get())}")
        return upd_ratio(
            upd_counts=self._channel("UPD").s.get(),
            i0_counts=self._channel("I0").s.get(),
            count_time=self._scaler.preset_time.get(),
            gain=rng.gain.get(),
            background=rng.background.get(),
            i0_gain=self._gains.I0.get(),
        )
