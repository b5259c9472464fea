"""Scaler record and amplifiers (UPD autorange, ion-chamber gains)."""

from __future__ import annotations

import asyncio

import numpy as np
from caproto import ChannelType
from caproto.server import PVGroup, pvproperty

from . import physics

RANGE_STRINGS = ["1e4 V/A", "1e6 V/A", "1e8 V/A", "1e10 V/A", "1e12 V/A"]
MODE_STRINGS = ["manual", "auto+background", "automatic"]


def _enum_index(value, strings) -> int:
    if isinstance(value, str):
        return strings.index(value)
    return int(value)


class UpdAmplifier(PVGroup):
    """Autoranging UPD amplifier (DDPCA-300 style), prefix ``usxLAX:pd01:seq02:``.

    PVs: reqrange mode lurange gain0..4 bkg0..4 bkgErr0..4 gainU gainD vfc
    updating lucounts lurate lucurrent selected gain.
    In "manual" the range is ``reqrange``; in the automatic modes a count is
    taken in the present range and the amplifier then reacts to its rate
    (:func:`usaxs_sim.physics.autorange`), as the real sequence does: after a
    count ``lurange`` is the range the count was taken in, ``gain`` the gain
    of the range the amplifier moved to (the facility's step-scan files
    record that gain, so it leads the counts by one point at a range change).
    """

    reqrange = pvproperty(
        value=2,
        dtype=ChannelType.ENUM,
        enum_strings=RANGE_STRINGS,
        doc="UPD requested range (manual mode)",
    )
    mode = pvproperty(
        value=2,
        dtype=ChannelType.ENUM,
        enum_strings=MODE_STRINGS,
        doc="UPD mode: manual, auto+background, automatic",
    )
    lurange = pvproperty(
        value=2,
        dtype=ChannelType.ENUM,
        enum_strings=RANGE_STRINGS,
        read_only=True,
        doc="UPD range of the last count",
    )
    gain0 = pvproperty(value=physics.UPD_GAINS[0], doc="UPD gain of range 0 (V/A)")
    gain1 = pvproperty(value=physics.UPD_GAINS[1], doc="UPD gain of range 1 (V/A)")
    gain2 = pvproperty(value=physics.UPD_GAINS[2], doc="UPD gain of range 2 (V/A)")
    gain3 = pvproperty(value=physics.UPD_GAINS[3], doc="UPD gain of range 3 (V/A)")
    gain4 = pvproperty(value=physics.UPD_GAINS[4], doc="UPD gain of range 4 (V/A)")
    bkg0 = pvproperty(
        value=physics.UPD_BKG[0], doc="UPD dark-current background of range 0 (counts/s)"
    )
    bkg1 = pvproperty(
        value=physics.UPD_BKG[1], doc="UPD dark-current background of range 1 (counts/s)"
    )
    bkg2 = pvproperty(
        value=physics.UPD_BKG[2], doc="UPD dark-current background of range 2 (counts/s)"
    )
    bkg3 = pvproperty(
        value=physics.UPD_BKG[3], doc="UPD dark-current background of range 3 (counts/s)"
    )
    bkg4 = pvproperty(
        value=physics.UPD_BKG[4], doc="UPD dark-current background of range 4 (counts/s)"
    )
    bkgErr0 = pvproperty(value=0.0, doc="UPD background uncertainty of range 0 (counts/s)")
    bkgErr1 = pvproperty(value=0.0, doc="UPD background uncertainty of range 1 (counts/s)")
    bkgErr2 = pvproperty(value=0.0, doc="UPD background uncertainty of range 2 (counts/s)")
    bkgErr3 = pvproperty(value=21.11871208, doc="UPD background uncertainty of range 3 (counts/s)")
    bkgErr4 = pvproperty(
        value=4509.47846208, doc="UPD background uncertainty of range 4 (counts/s)"
    )
    gainU = pvproperty(
        value=physics.GAIN_U, doc="UPD autorange: one range up in gain below this rate (counts/s)"
    )
    gainD = pvproperty(
        value=physics.GAIN_D, doc="UPD autorange: one range down in gain above this rate (counts/s)"
    )
    vfc = pvproperty(value=physics.UPD_VFC, doc="UPD voltage-to-frequency factor (Hz/V)")
    updating = pvproperty(value=0, doc="UPD updating flag (as at the facility; unused here)")
    lucounts = pvproperty(value=0.0, read_only=True, doc="UPD counts of the last count")
    lurate = pvproperty(
        value=0.0, read_only=True, doc="UPD count rate of the last count (counts/s)"
    )
    lucurrent = pvproperty(value=0.0, read_only=True, doc="UPD current of the last count (A)")
    selected = pvproperty(value=1, doc="UPD selected amplifier (as at the facility; unused here)")
    gain = pvproperty(
        value=physics.UPD_GAINS[2],
        read_only=True,
        doc="UPD gain (V/A) of the range moved to after the last count",
    )

    def gains(self):
        return tuple(float(getattr(self, f"gain{r}").value) for r in range(5))

    def bkgs(self):
        return tuple(float(getattr(self, f"bkg{r}").value) for r in range(5))

    def is_auto(self) -> bool:
        return _enum_index(self.mode.value, MODE_STRINGS) != 0

    def current_range(self) -> int:
        """Range the amplifier is in now (the next count is taken in it)."""
        return getattr(self, "_present", _enum_index(self.lurange.value, RANGE_STRINGS))

    def counting_range(self) -> int:
        """Range the next count is taken in: ``reqrange`` in manual, the present one otherwise."""
        if not self.is_auto():
            return _enum_index(self.reqrange.value, RANGE_STRINGS)
        return self.current_range()

    def settle(self, current_a: float) -> int:
        """Range the amplifier settles in for photocurrent ``current_a``."""
        if not self.is_auto():
            return _enum_index(self.reqrange.value, RANGE_STRINGS)
        return physics.autorange(
            current_a,
            self.current_range(),
            self.gains(),
            self.bkgs(),
            float(self.vfc.value),
            float(self.gainU.value),
            float(self.gainD.value),
        )

    async def set_range(self, r: int):
        """Switch to range ``r`` and count in it (``lurange`` and ``gain`` agree)."""
        await self.react(r, r)

    async def react(self, counted: int, after: int):
        """Publish a count taken in range ``counted``, the amplifier having moved to ``after``."""
        self._present = int(after)
        await self.lurange.write(int(counted))
        await self.gain.write(self.gains()[int(after)])

    async def report(self, counts: float, time_s: float, r: int):
        rate = counts / time_s if time_s > 0 else 0.0
        await self.lucounts.write(float(counts))
        await self.lurate.write(rate)
        g = self.gains()[r]
        cur = (rate - self.bkgs()[r]) / (g * float(self.vfc.value) or 1.0)
        await self.lucurrent.write(cur)

    @reqrange.putter
    async def reqrange(self, instance, value):
        if not self.is_auto():
            await self.set_range(_enum_index(value, RANGE_STRINGS))
        return value


class IonChamberGain(PVGroup):
    """Femto amplifier gain of an ion chamber: ``<prefix>gain`` (V/A)."""

    gain = pvproperty(value=1e8, doc="Ion chamber amplifier gain (V/A)")

    def __init__(self, *args, gain: float = 1e8, **kwargs):
        super().__init__(*args, **kwargs)
        self._gain0 = gain

    @gain.startup
    async def gain(self, instance, async_lib):
        await instance.write(self._gain0)


NUM_CHANNELS = 32
CHANNEL_NAMES = {1: "seconds", 2: "I0", 3: "I00", 4: "UPD", 5: "TRD"}


def _scaler_attrs():
    attrs = {}
    for i in range(1, NUM_CHANNELS + 1):
        attrs[f"s{i}"] = pvproperty(
            name=f".S{i}", value=0, read_only=True, doc=f"Counts of channel {i}"
        )
        attrs[f"nm{i}"] = pvproperty(
            name=f".NM{i}",
            value=CHANNEL_NAMES.get(i, ""),
            dtype=ChannelType.STRING,
            doc=f"Name of channel {i}",
        )
        attrs[f"pr{i}"] = pvproperty(
            name=f".PR{i}",
            value=0,
            doc=f"Preset counts of channel {i} (the simulator counts for TP)",
        )
        attrs[f"g{i}"] = pvproperty(
            name=f".G{i}",
            value=1 if i == 1 else 0,
            dtype=ChannelType.ENUM,
            enum_strings=["N", "Y"],
            doc=f"Gate of channel {i}, N/Y (the simulator counts for TP)",
        )
    return attrs


class _ScalerBase(PVGroup):
    """Scaler record ``usxLAX:vsc:c0`` (fields as ``<prefix>.FIELD``).

    PVs: CNT CONT DLY DLY1 T FREQ TP TP1 RATE RAT1 EGU NCH, and per channel
    n=1..32: S<n> NM<n> PR<n> G<n>.  Channels: 1 seconds (clock), 2 I0, 3 I00,
    4 UPD, 5 TRD.  CNT=1 counts for TP (nominal seconds; wall time TP *
    time_scale); put-completion returns when counting ends and CNT is back to 0.
    """

    cnt = pvproperty(
        name=".CNT",
        value=0,
        dtype=ChannelType.ENUM,
        enum_strings=["Done", "Count"],
        doc="Count: 1 starts (put-completion when done), 0 stops",
    )
    cont = pvproperty(
        name=".CONT",
        value=0,
        dtype=ChannelType.ENUM,
        enum_strings=["OneShot", "AutoCount"],
        doc="OneShot or AutoCount",
    )
    dly = pvproperty(name=".DLY", value=0.0, doc="Delay before counting (s)")
    dly1 = pvproperty(name=".DLY1", value=0.0, doc="Delay before autocounting (s)")
    t = pvproperty(name=".T", value=0.0, precision=3, doc="Elapsed counting time (s)")
    freq = pvproperty(name=".FREQ", value=1e7, doc="Clock frequency (Hz)")
    tp = pvproperty(name=".TP", value=1.0, precision=3, doc="Preset counting time (s)")
    tp1 = pvproperty(name=".TP1", value=1.0, precision=3, doc="Preset autocount time (s)")
    rate = pvproperty(name=".RATE", value=10.0, doc="Display update rate (Hz)")
    rat1 = pvproperty(name=".RAT1", value=10.0, doc="Autocount display update rate (Hz)")
    egu = pvproperty(name=".EGU", value="sec", dtype=ChannelType.STRING, doc="Time units")
    nch = pvproperty(name=".NCH", value=NUM_CHANNELS, read_only=True, doc="Number of channels")
    record_alias = pvproperty(
        name="",
        value=0,
        read_only=True,
        doc="The record name itself (answers connection checks; 0)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._abort = asyncio.Event()
        self._counting = False

    def _top(self):
        top = self
        while getattr(top, "parent", None) is not None:
            top = top.parent
        return top

    async def _count(self, preset: float):
        top = self._top()
        self._abort.clear()
        wall = preset * top.time_scale_value
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while True:
            elapsed = loop.time() - t0
            if elapsed >= wall or self._abort.is_set():
                break
            frac = elapsed / wall if wall > 0 else 1.0
            await self.t.write(preset * frac)
            try:
                await asyncio.wait_for(self._abort.wait(), timeout=min(0.1, wall - elapsed))
            except TimeoutError:
                pass
        elapsed = loop.time() - t0
        t_nominal = preset if not self._abort.is_set() else preset * min(1.0, elapsed / (wall or 1))
        counts = top.count_signals(t_nominal)
        await top.report_upd()
        for i, value in counts.items():
            await getattr(self, f"s{i}").write(int(value))
        await self.t.write(t_nominal)

    @cnt.putter
    async def cnt(self, instance, value):
        value = _enum_index(value, ["Done", "Count"])
        if value == 0:
            self._abort.set()
            return 0
        if self._counting:
            return 1
        self._counting = True
        try:
            await instance.write(1, verify_value=False)
            await self._count(float(self.tp.value))
        finally:
            self._counting = False
        return 0

    @tp.putter
    async def tp(self, instance, value):
        await self.pr1.write(int(round(value * self.freq.value)), verify_value=False)
        return value


ScalerRecord = type("ScalerRecord", (_ScalerBase,), {"__module__": __name__, **_scaler_attrs()})
ScalerRecord.__doc__ = _ScalerBase.__doc__


def poisson(rng: np.random.Generator, mean: float) -> int:
    """Poisson sample, robust for large means (normal approximation above 1e12)."""
    mean = max(float(mean), 0.0)
    if mean > 1e12:
        return int(round(rng.normal(mean, np.sqrt(mean))))
    return int(rng.poisson(mean))
