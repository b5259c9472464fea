"""USAXS fly scan: AR trajectory with PSO pulses, multichannel scaler, range changes."""

from __future__ import annotations

import asyncio

import numpy as np
from caproto.server import PVGroup, pvproperty

from . import physics

MAX_PULSES = 20000


def _wave(name, dtype, length, *, doc: str):
    return pvproperty(
        name=name, value=[dtype(0)], dtype=dtype, max_length=length, read_only=True, doc=doc
    )


MCA1_CLOCK_HZ = 1e6
"""Rate of the reference counted in mca1 (the facility's files: 1 MHz)."""
MCS_INTERNAL_CLOCK_HZ = 50e6
"""The SIS3820 internal clock that ``clock_frequency`` reports (50 MHz in the facility files)."""


class FlyScan(PVGroup):
    """Fly scan PVs (no prefix).

    Control: ``usxLAX:USAXSfly:Start`` (busy: write 1 starts, back to 0 at the
    end, put-completion returns at the end; write 0 aborts),
    ``usxLAX:USAXSfly:Abort`` (write 1 aborts).
    Trajectory: ``usxAERO:pm1:`` NumPulses PulsePositions[NumPulses] PulseMode
    M6Positions[300] NumPoints FixedTime.
    Scaler: ``usxLAX:3820:`` mca1 (clock: counts of the 1 MHz reference, as at
    the instrument) mca2 (I0) mca3 (UPD) [NumPulses-1], CurrentChannel
    ElapsedReal NuseAll MaxChannels clock_frequency (the MCS internal 50 MHz
    clock, which the facility's files record, not the rate mca1 counts).
    Range changes: ``usxLAX:USAXSfly:DDPCA300:`` ampGain ampReqGain mcsChan;
    ``usxLAX:USAXSfly:AR:`` pos mcsChan.

    The scan drives AR (usxAERO:m6) from ``usxLAX:USAXS:ARstart`` down to the
    angle of ``Q = usxLAX:USAXS:Finish`` (1/A) in ``FS_ScanTime * time_scale``
    wall seconds; counts are for the nominal ``FS_ScanTime`` and the beam at
    the start, except that I0 and UPD count 0 in channels flown while the beam
    is off (ring current 0 or a shutter closed).
    """

    start = pvproperty(
        name="usxLAX:USAXSfly:Start",
        value=0,
        doc="Fly scan busy: write 1 starts, 0 aborts; 0 again at the end",
    )
    abort = pvproperty(name="usxLAX:USAXSfly:Abort", value=0, doc="Write 1 to abort the fly scan")
    num_pulses = pvproperty(
        name="usxAERO:pm1:NumPulses", value=8000, doc="Trajectory pulses (MCS channels + 1)"
    )
    pulse_positions = _wave(
        "usxAERO:pm1:PulsePositions", float, MAX_PULSES, doc="Trajectory pulse positions, AR (deg)"
    )
    pulse_mode = pvproperty(
        name="usxAERO:pm1:PulseMode", value=1, doc="Pulse mode of the trajectory"
    )
    waypoints = _wave("usxAERO:pm1:M6Positions", float, 300, doc="Trajectory waypoints, AR (deg)")
    num_points = pvproperty(
        name="usxAERO:pm1:NumPoints", value=200, read_only=True, doc="Trajectory waypoint count"
    )
    fixed_time = pvproperty(
        name="usxAERO:pm1:FixedTime",
        value=0.45,
        read_only=True,
        doc="Trajectory time per waypoint (s)",
    )
    mca1 = _wave(
        "usxLAX:3820:mca1",
        int,
        MAX_PULSES,
        doc="Fly-scan clock counts per channel (1 MHz reference)",
    )
    mca2 = _wave("usxLAX:3820:mca2", int, MAX_PULSES, doc="Fly-scan I0 counts per channel")
    mca3 = _wave("usxLAX:3820:mca3", int, MAX_PULSES, doc="Fly-scan UPD counts per channel")
    current_channel = pvproperty(
        name="usxLAX:3820:CurrentChannel", value=0, read_only=True, doc="MCS channel being counted"
    )
    elapsed_real = pvproperty(
        name="usxLAX:3820:ElapsedReal", value=0.0, read_only=True, doc="MCS elapsed time (s)"
    )
    nuse_all = pvproperty(name="usxLAX:3820:NuseAll", value=8000, doc="MCS channels to use")
    max_channels = pvproperty(
        name="usxLAX:3820:MaxChannels", value=160000, read_only=True, doc="MCS channel capacity"
    )
    clock_frequency = pvproperty(
        name="usxLAX:3820:clock_frequency",
        value=MCS_INTERNAL_CLOCK_HZ,
        read_only=True,
        doc="MCS internal clock (Hz)",
    )
    amp_gain = _wave(
        "usxLAX:USAXSfly:DDPCA300:ampGain", float, 1000, doc="UPD gain (V/A) at each range change"
    )
    amp_req_gain = _wave(
        "usxLAX:USAXSfly:DDPCA300:ampReqGain",
        float,
        1000,
        doc="UPD requested gain (V/A) at each range change",
    )
    amp_chan = _wave(
        "usxLAX:USAXSfly:DDPCA300:mcsChan", float, 1000, doc="MCS channel of each range change"
    )
    ar_pos = _wave("usxLAX:USAXSfly:AR:pos", float, 5000, doc="AR (deg) at recorded channels")
    ar_chan = _wave("usxLAX:USAXSfly:AR:mcsChan", float, 5000, doc="MCS channel of each AR record")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._abort = asyncio.Event()
        self._running = False

    @property
    def top(self):
        return self.parent

    @num_pulses.putter
    async def num_pulses(self, instance, value):
        if not 2 <= value <= MAX_PULSES:
            raise ValueError(f"NumPulses must be in [2, {MAX_PULSES}]")
        return value

    @start.putter
    async def start(self, instance, value):
        if not value:
            self._abort.set()
            return 0
        if self._running:
            return 1
        self._running = True
        self._abort.clear()
        try:
            await instance.write(1, verify_value=False)
            await self._scan()
        finally:
            self._running = False
        return 0

    @abort.putter
    async def abort(self, instance, value):
        if value:
            self._abort.set()
        return 0

    def plan(self):
        """Compute the whole scan (positions and counts) from the present PVs."""
        top = self.top
        terms = top.terms
        n = int(self.num_pulses.value)
        lam = top.wavelength
        ar_center_pv = float(terms.ar_center.value)
        ar_start = float(terms.ar_start.value)
        ar_finish = physics.ar_finish_from_q(ar_center_pv, float(terms.finish.value), lam)
        lo, hi = float(top.ar.llm.value), float(top.ar.hlm.value)
        for label, v in (("ARstart", ar_start), ("finish angle", ar_finish)):
            if not lo <= v <= hi:
                raise ValueError(f"fly scan {label} {v} outside AR limits [{lo}, {hi}]")
        positions = physics.fly_pulse_positions(
            ar_start,
            ar_finish,
            ar_center_pv,
            n,
            float(terms.min_step_traj.value),
            float(terms.ua_term.value),
        )
        scan_time = float(terms.fs_scan_time.value)
        mid = 0.5 * (positions[:-1] + positions[1:])
        dt = physics.fly_channel_times(mid, ar_center_pv, scan_time)
        currents = np.asarray(top.upd_current(mid, tracking=True), dtype=float)
        i0 = top.i0_rate()
        amp = top.upd_amp
        masks = tuple(float(getattr(terms, f"mask{r}").value) for r in range(5))
        upd, ranges, changes = physics.simulate_fly_upd(
            currents,
            None,
            dt,
            top.rng,
            start_range=amp.current_range() if amp.is_auto() else amp.settle(0.0),
            gains=amp.gains(),
            bkgs=amp.bkgs(),
            vfc=float(amp.vfc.value),
            gain_u=float(amp.gainU.value) if amp.is_auto() else -1.0,
            gain_d=float(amp.gainD.value) if amp.is_auto() else 1e300,
            mask_times=masks,
        )
        # channel 1 counts the 1 MHz reference, not the MCS clock that clock_frequency reports
        clock = np.round(MCA1_CLOCK_HZ * dt).astype(np.int64)
        i0c = top.rng.poisson(i0 * dt + physics.ION_CHAMBER_DARK * dt)
        return dict(
            positions=positions,
            dt=dt,
            scan_time=scan_time,
            clock=clock,
            i0=i0c,
            upd=upd,
            ranges=ranges,
            changes=changes,
        )

    async def _scan(self):
        top = self.top
        p = self.plan()
        positions = p["positions"]
        n = len(positions)
        ar = top.ar
        await self.current_channel.write(0)
        # go to the start first (a normal move), then fly
        if abs(ar.position - positions[0]) > 1e-9:
            await ar.move(float(positions[0]), wait=True)
        npts = int(top.terms.fs_num_points.value)
        await self.num_points.write(npts)
        await self.fixed_time.write(p["scan_time"] / max(npts, 1))
        wp_idx = np.linspace(0, n - 1, min(npts, 300)).round().astype(int)
        await self.waypoints.write(positions[wp_idx])
        await self.pulse_positions.write(positions)
        await ar.begin_external()
        loop = asyncio.get_running_loop()
        wall = p["scan_time"] * top.time_scale_value
        t0 = loop.time()
        done = n - 1
        # channel reached at each moment: channels have their own counting times
        ends = np.cumsum(p["dt"]) / p["scan_time"]
        dark = np.zeros(n - 1, dtype=bool)  # channels counted (partly) without beam
        k_seen, was_dark = 0, False
        try:
            while True:
                frac = (loop.time() - t0) / wall if wall > 0 else 1.0
                if frac >= 1.0:
                    break
                k = int(np.searchsorted(ends, frac))
                is_dark = top.flux_factor() <= 0.0
                if is_dark or was_dark:
                    dark[k_seen : k + 1] = True
                k_seen, was_dark = k, is_dark
                await ar.drive_external(float(positions[k]))
                await self.current_channel.write(k)
                if self._abort.is_set():
                    done = k
                    break
                try:
                    await asyncio.wait_for(self._abort.wait(), timeout=0.1)
                except TimeoutError:
                    pass
            await ar.drive_external(float(positions[done]))
        finally:
            await ar.end_external()
        if was_dark:
            dark[k_seen:] = True
        p["i0"] = np.where(dark, 0, p["i0"])
        p["upd"] = np.where(dark, 0, p["upd"])
        await self._publish(p, done)

    async def _publish(self, p, done: int):
        top = self.top
        changes = [c for c in p["changes"] if c[2] < max(done, 1)] or p["changes"][:1]
        await self.mca1.write(p["clock"][:done].astype(np.int32))
        await self.mca2.write(p["i0"][:done].astype(np.int32))
        await self.mca3.write(np.minimum(p["upd"][:done], 2**31 - 1).astype(np.int32))
        await self.amp_gain.write(np.array([c[0] for c in changes], dtype=float))
        await self.amp_req_gain.write(np.array([c[1] for c in changes], dtype=float))
        await self.amp_chan.write(np.array([c[2] for c in changes], dtype=float))
        chans = np.arange(0, max(done, 1), 12)
        await self.ar_pos.write(p["positions"][chans].astype(float))
        await self.ar_chan.write(chans.astype(float))
        await self.current_channel.write(done)
        await self.nuse_all.write(done + 1)
        elapsed = float(np.sum(p["dt"][:done]))
        await self.elapsed_real.write(elapsed)
        await top.terms.fs_elapsed.write(elapsed)
        if done > 0 and top.upd_amp.is_auto():
            await top.upd_amp.set_range(int(p["ranges"][done - 1]))
