"""The simulated 12-ID-E USAXS/SAXS/WAXS instrument as one caproto IOC.

:class:`UsaxsSimIOC` composes one PVGroup per subsystem with ``SubGroup``;
:func:`run` serves it on loopback.  Every PV name gets the optional
``prefix`` in front.

Subsystems (see each class docstring for its PVs):

* motors (:class:`~usaxs_sim.motor.MotorRecord`): m_stage r/x/y/r2p
  (usxAERO:m12, m10, m11, usxLAX:pi:c0:m2), a_stage r/x/y/r2p (usxAERO:m6,
  m4, m5, usxLAX:pi:c0:m1), d_stage x/y (usxAERO:m1, m2), s_stage x/y
  (usxAERO:m8, m9), saxs_stage x/y/z (usxAERO:m13, m15, m14), waxsx
  (usxAERO:m3), guard slit blades (usxLAX:m58:c1:m3 top, m4 bottom,
  m1 outboard, m2 inboard, as in the facility's files), USAXS slit
  (usxLAX:m58:c1:m5 y, m6 x, m7 v_size, m8 h_size), mono theta 12ida2:m19;
* guard slit sizes usxLAX:GSlit1H:size, usxLAX:GSlit1V:size;
* scaler usxLAX:vsc:c0, UPD amplifier usxLAX:pd01:seq02:, ion chamber gains
  usxRIO:fem02:seq01:gain (I0), fem03 (I00), fem05 (TRD);
* monochromator 12ida2:EnCalc, 12ida2:LambdaCalc; shutters 12ida2:rShtrC:,
  12idc:uniblitz:shutter:; ring current S:SRcurrentAI;
* simulation control usxSIM: (beam_available, time_scale, ready,
  sample_model, seed);
* sample metadata, instrument terms (usxLAX:USAXS:*, geometry, in/out);
* fly scan usxLAX:USAXSfly:*, usxAERO:pm1:*, usxLAX:3820:*;
* area detectors usaxs_pilatus3: and usaxs_eiger1:;
* remote operation usxLAX:AutoCollection* (:class:`~usaxs_sim.remote_ops.RemoteOps`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
import sys
from pathlib import Path

import numpy as np
from caproto.server import PVGroup, SubGroup, pvproperty

from . import physics, samples
from .areadetector import AreaDetector
from .beamline import (
    InstrumentTerms,
    Monochromator,
    SampleMetadata,
    Shutter,
    SimControl,
    SlitSizes,
    StorageRing,
)
from .flyscan import FlyScan
from .motor import MotorRecord
from .remote_ops import RemoteOps
from .scaler import IonChamberGain, ScalerRecord, UpdAmplifier, poisson
from .state import StateFileRefused, describe_defaults, load_state

DEG = dict(egu="deg", precision=6, resolution=1e-6)


class UsaxsSimIOC(PVGroup):
    """Simulated APS USAXS/SAXS/WAXS instrument (12-ID-E), all subsystems.

    Parameters (besides PVGroup's ``prefix``)
    ----------
    time_scale : float
        Wall-clock seconds per simulated second (moves, counting, fly scans,
        exposures); writable at run time as ``usxSIM:time_scale``.
    seed : int or None
        Seed of the numpy random generator (Poisson noise).
    ar_center, mr_center : float
        True rocking-curve centres (deg) of analyzer and collimator.
    diode_x, diode_y : float
        True photodiode position (mm) on d_stage.
    a2rp_center, m2rp_center : float
        True piezo optimum of the analyzer and collimator second crystals.
    sr_current : float
        Storage ring current with beam (mA).
    state_file : path or None
        Keep the user-facing PVs (:class:`~usaxs_sim.beamline.SampleMetadata`:
        user name, sample title/thickness, ...) in this file: read at start,
        rewritten atomically on every write of one of them. A file that is
        refused leaves the defaults; :attr:`state_message` then says why.
    """

    # --- motors
    mr = SubGroup(
        MotorRecord,
        prefix="usxAERO:m12",
        position=8.84387156,
        limits=(-10, 30),
        velocity=0.5,
        description="MR",
        **DEG,
    )
    mx = SubGroup(
        MotorRecord,
        prefix="usxAERO:m10",
        position=0.0,
        limits=(-50, 50),
        velocity=5.0,
        description="MX",
    )
    my = SubGroup(
        MotorRecord,
        prefix="usxAERO:m11",
        position=20.1,
        limits=(-50, 50),
        velocity=5.0,
        description="MY",
    )
    m2rp = SubGroup(
        MotorRecord,
        prefix="usxLAX:pi:c0:m2",
        position=50.0,
        limits=(0, 100),
        velocity=20.0,
        egu="V",
        precision=3,
        resolution=1e-3,
        description="M2RP",
    )
    ar = SubGroup(
        MotorRecord,
        prefix="usxAERO:m6",
        position=8.84576945,
        limits=(-10, 30),
        velocity=0.5,
        description="AR",
        **DEG,
    )
    ax = SubGroup(
        MotorRecord,
        prefix="usxAERO:m4",
        position=14.566775,
        limits=(-100, 100),
        velocity=5.0,
        description="AX",
    )
    ay = SubGroup(
        MotorRecord,
        prefix="usxAERO:m5",
        position=49.699864,
        limits=(-100, 100),
        velocity=5.0,
        description="AY",
    )
    a2rp = SubGroup(
        MotorRecord,
        prefix="usxLAX:pi:c0:m1",
        position=50.0,
        limits=(0, 100),
        velocity=20.0,
        egu="V",
        precision=3,
        resolution=1e-3,
        description="A2RP",
    )
    dx = SubGroup(
        MotorRecord,
        prefix="usxAERO:m1",
        position=96.495613,
        limits=(-50, 200),
        velocity=10.0,
        precision=6,
        resolution=1e-6,
        description="DX",
    )
    dy = SubGroup(
        MotorRecord,
        prefix="usxAERO:m2",
        position=-86.958748,
        limits=(-150, 50),
        velocity=10.0,
        precision=6,
        resolution=1e-6,
        description="DY",
    )
    sx = SubGroup(
        MotorRecord,
        prefix="usxAERO:m8",
        position=0.0,
        limits=(-100, 100),
        velocity=10.0,
        description="SX",
    )
    sy = SubGroup(
        MotorRecord,
        prefix="usxAERO:m9",
        position=0.0,
        limits=(-50, 50),
        velocity=10.0,
        description="SY",
    )
    saxs_x = SubGroup(
        MotorRecord,
        prefix="usxAERO:m13",
        position=14.56,
        limits=(-50, 50),
        velocity=10.0,
        description="SAXS X",
    )
    saxs_y = SubGroup(
        MotorRecord,
        prefix="usxAERO:m15",
        position=-10.0,
        limits=(-300, 50),
        velocity=20.0,
        description="SAXS Y",
    )
    saxs_z = SubGroup(
        MotorRecord,
        prefix="usxAERO:m14",
        position=-200.0,
        limits=(-300, 0),
        velocity=20.0,
        description="SAXS Z",
    )
    waxsx = SubGroup(
        MotorRecord,
        prefix="usxAERO:m3",
        position=-10.0,
        limits=(-50, 50),
        velocity=10.0,
        description="WAXS X",
    )
    gs_top = SubGroup(
        MotorRecord,
        prefix="usxLAX:m58:c1:m3",
        position=0.6,
        limits=(-5, 5),
        velocity=1.0,
        description="GSlit top",
    )
    gs_bot = SubGroup(
        MotorRecord,
        prefix="usxLAX:m58:c1:m4",
        position=-0.6,
        limits=(-5, 5),
        velocity=1.0,
        description="GSlit bottom",
    )
    gs_out = SubGroup(
        MotorRecord,
        prefix="usxLAX:m58:c1:m1",
        position=0.7,
        limits=(-5, 5),
        velocity=1.0,
        description="GSlit outboard",
    )
    gs_in = SubGroup(
        MotorRecord,
        prefix="usxLAX:m58:c1:m2",
        position=-0.5,
        limits=(-5, 5),
        velocity=1.0,
        description="GSlit inboard",
    )
    uslit_y = SubGroup(
        MotorRecord,
        prefix="usxLAX:m58:c1:m5",
        position=-0.375096,
        limits=(-5, 5),
        velocity=1.0,
        description="USAXS slit y",
    )
    uslit_x = SubGroup(
        MotorRecord,
        prefix="usxLAX:m58:c1:m6",
        position=0.0,
        limits=(-5, 5),
        velocity=1.0,
        description="USAXS slit x",
    )
    uslit_v = SubGroup(
        MotorRecord,
        prefix="usxLAX:m58:c1:m7",
        position=0.2,
        limits=(0, 5),
        velocity=1.0,
        description="USAXS slit v size",
    )
    uslit_h = SubGroup(
        MotorRecord,
        prefix="usxLAX:m58:c1:m8",
        position=0.8,
        limits=(0, 5),
        velocity=1.0,
        description="USAXS slit h size",
    )
    mono_theta = SubGroup(
        MotorRecord,
        prefix="12ida2:m19",
        position=5.40209795,
        limits=(0, 30),
        velocity=0.5,
        description="DCM theta",
        **DEG,
    )

    # --- the rest
    slits = SubGroup(SlitSizes, prefix="")
    scaler = SubGroup(ScalerRecord, prefix="usxLAX:vsc:c0")
    upd_amp = SubGroup(UpdAmplifier, prefix="usxLAX:pd01:seq02:")
    i0_amp = SubGroup(IonChamberGain, prefix="usxRIO:fem02:seq01:", gain=1e8)
    i00_amp = SubGroup(IonChamberGain, prefix="usxRIO:fem03:seq01:", gain=1e8)
    trd_amp = SubGroup(IonChamberGain, prefix="usxRIO:fem05:seq01:", gain=1e8)
    mono = SubGroup(Monochromator, prefix="12ida2:")
    mono_shutter = SubGroup(Shutter, prefix="12ida2:rShtrC:")
    usaxs_shutter = SubGroup(Shutter, prefix="12idc:uniblitz:shutter:")
    ring = SubGroup(StorageRing, prefix="")
    sim = SubGroup(SimControl, prefix="usxSIM:")
    sample_md = SubGroup(SampleMetadata, prefix="")
    terms = SubGroup(InstrumentTerms, prefix="")
    fly = SubGroup(FlyScan, prefix="")
    remote_ops = SubGroup(RemoteOps, prefix="usxLAX:")
    saxs_det = SubGroup(
        AreaDetector,
        prefix="usaxs_pilatus3:",
        shape=(195, 487),
        model_name="Pilatus 100K",
        manufacturer="Dectris",
        geometry="Pin",
    )
    waxs_det = SubGroup(
        AreaDetector,
        prefix="usaxs_eiger1:",
        shape=(512, 1028),
        model_name="Eiger2 R 500K",
        manufacturer="Dectris",
        geometry="WAXS",
    )

    def __init__(
        self,
        *args,
        time_scale: float = 0.05,
        seed: int | None = None,
        ar_center: float = 8.84576945,
        mr_center: float = 8.84387156,
        diode_x: float = 96.495613,
        diode_y: float = -86.958748,
        a2rp_center: float = 50.0,
        m2rp_center: float = 50.0,
        sr_current: float = 130.0,
        state_file: str | os.PathLike | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.time_scale_value = float(time_scale)
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "little")
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.true_ar_center = ar_center
        self.true_mr_center = mr_center
        self.true_diode = (diode_x, diode_y)
        self.true_a2rp = a2rp_center
        self.true_m2rp = m2rp_center
        self.sr_current_full = sr_current
        #: Whether the beam is on (``usxSIM:beam_available``), set before the ring current follows.
        self.beam_on = True
        self.piezo_fwhm = 4.0  # V
        self.diode_edge = 0.3  # mm, edge width of the photodiode plateau
        self._last_upd = (0, 1.0, 2, 2)
        self.state_message = ""
        self.restored: dict[str, str | float] = {}
        if state_file is not None:
            self.restored = self._load_state(Path(state_file))
            self.sample_md.state_file = Path(state_file)

    def _load_state(self, path: Path) -> dict[str, str | float]:
        """The values kept in ``path``; ``{}`` (and :attr:`state_message`) when refused."""
        try:
            return load_state(path, self.sample_md.fields())
        except StateFileRefused as exc:
            defaults = describe_defaults(self.sample_md.values())
            self.state_message = (
                f"usaxs_sim: state file {path} refused: {exc}; starting with the defaults "
                f"({defaults}); the next write of one of these PVs replaces the file"
            )
            return {}

    # ------------------------------------------------------------ the model
    @property
    def wavelength(self) -> float:
        return float(self.mono.wavelength.value)

    def sample_model(self) -> samples.SampleModel:
        """Sample model at the current sample stage position."""
        return samples.model_at(self.sx.position, self.sy.position)

    def geometry(self) -> physics.UsaxsGeometry:
        return physics.UsaxsGeometry(
            ar_center=self.true_ar_center,
            wavelength=self.wavelength,
            upd_size=float(self.terms.upd_size.value),
            sdd=float(self.terms.sdd.value),
        )

    def flux_factor(self) -> float:
        """Beam on the sample relative to nominal: ring, shutters (no collimator)."""
        beam = float(self.ring.current.value) / self.sr_current_full
        if not (self.mono_shutter.is_open and self.usaxs_shutter.is_open):
            return 0.0
        return max(beam, 0.0)

    def collimator_factor(self) -> float:
        """Collimator transmission: MR rocking curve times the m2rp piezo peak."""
        mr = physics.rocking_curve(self.mr.position - self.true_mr_center, physics.MR_FWHM_DEG)
        rp = physics.gaussian_peak(self.m2rp.position, self.true_m2rp, self.piezo_fwhm)
        return float(mr * rp)

    def i0_rate(self) -> float:
        """I0 count rate (counts/s) at the present I0 gain."""
        gain = float(self.i0_amp.gain.value) / physics.I0_GAIN_REF
        return physics.I0_RATE_NOMINAL * gain * self.flux_factor() * self.collimator_factor()

    def upd_current(self, ar=None, tracking: bool = False):
        """UPD photocurrent (A) at analyzer angle(s) ``ar`` (default: AR now).

        The scattered beam reaches the photodiode plane at
        ``x0 + SDD * tan(AR - ARcenter)``; step scans must move ``dx`` there.
        ``tracking=True`` (fly scans, whose trajectory carries dx along)
        evaluates the alignment as if dx followed the beam from where it is.
        """
        ar = self.ar.position if ar is None else ar
        x0, y0 = self.true_diode
        upd = float(self.terms.upd_size.value)
        if not tracking:
            sdd = float(self.terms.sdd.value)
            x0 = x0 + sdd * np.tan(np.radians(np.asarray(ar) - self.true_ar_center))
        align = (
            physics.plateau(self.dx.position, x0, upd, self.diode_edge)
            * physics.plateau(self.dy.position, y0, upd, self.diode_edge)
            * physics.gaussian_peak(self.a2rp.position, self.true_a2rp, self.piezo_fwhm)
        )
        ratio = physics.usaxs_ratio(ar, self.sample_model(), self.geometry())
        return (
            physics.UPD_PEAK_CURRENT
            * self.flux_factor()
            * self.collimator_factor()
            * float(align)
            * ratio
        )

    def count_signals(self, t: float) -> dict[int, int]:
        """Counts of scaler channels 1..5 for a count of ``t`` nominal seconds.

        The UPD counts in the amplifier's present range, which then reacts to
        the rate (autorange); :meth:`report_upd` publishes both ranges.
        """
        rng = self.rng
        model = self.sample_model()
        i0 = self.i0_rate()
        ff = self.flux_factor()
        i00_gain = float(self.i00_amp.gain.value) / physics.I0_GAIN_REF
        trd_gain = float(self.trd_amp.gain.value) / physics.I0_GAIN_REF
        i00 = physics.I0_RATE_NOMINAL * physics.I00_RELATIVE * i00_gain * ff
        trd = (
            i0
            * physics.TRD_RELATIVE
            * model.transmission
            * trd_gain
            / max(float(self.i0_amp.gain.value) / physics.I0_GAIN_REF, 1e-30)
        )
        current = float(self.upd_current())
        r = self.upd_amp.counting_range()
        gains, bkgs = self.upd_amp.gains(), self.upd_amp.bkgs()
        rate = min(current * gains[r] * float(self.upd_amp.vfc.value), 2.0e6) + bkgs[r]
        upd = poisson(rng, rate * t)
        self._last_upd = (upd, t, r, self.upd_amp.settle(current))
        dark = physics.ION_CHAMBER_DARK * t
        return {
            1: int(round(float(self.scaler.freq.value) * t)),
            2: poisson(rng, i0 * t + dark),
            3: poisson(rng, i00 * t + dark),
            4: upd,
            5: poisson(rng, trd * t + dark),
        }

    async def report_upd(self):
        """Publish the UPD range/counts of the last :meth:`count_signals`."""
        counts, t, r, after = self._last_upd
        await self.upd_amp.react(r, after)
        await self.upd_amp.report(counts, t, r)

    # ------------------------------------------------------------ lifecycle
    heartbeat = pvproperty(
        name="usxSIM:heartbeat",
        value=0,
        read_only=True,
        doc="Simulation: background-loop ticks (0.1 s each), published every 10",
    )

    @heartbeat.startup
    async def heartbeat(self, instance, async_lib):
        """Background loop: slit sizes, sample model, ready flag."""
        await self.sim.time_scale.write(self.time_scale_value, verify_value=False)
        await self.sim.seed.write(self.seed & 0x7FFFFFFF)
        await self.ring.current.write(self.sr_current_full)
        await self.sample_md.restore(self.restored)
        # warm the smeared-intensity caches (takes a fraction of a second)
        geom = self.geometry()
        dql = physics.slit_length(geom.wavelength, geom.upd_size, geom.sdd)
        for model in samples.SAMPLES:
            physics.smeared_intensity([1e-3], model, dql)
        await asyncio.sleep(0.2)  # let every startup hook (motor init) run
        await self.sim.ready.write(1)
        n = 0
        last_model = None
        while True:
            await self.slits.refresh()
            model = self.sample_model()
            if model is not last_model:
                await self.sim.sample_model.write(model.describe(), verify_value=False)
                last_model = model
            n += 1
            if n % 10 == 0:
                await instance.write(n)
                if self.beam_on:
                    jitter = self.sr_current_full * (1 + 0.0005 * math.sin(n / 7))
                    await self.ring.current.write(jitter)
            await asyncio.sleep(0.1)


class _NoBeaconNoise(logging.Filter):
    """Drop 'Failed to send beacon' errors (no repeater listens on a test port)."""

    def filter(self, record):
        return "beacon" not in str(record.msg)


def start_repeater(host: str, port: int) -> multiprocessing.Process:
    """Serve a CA repeater on ``host:port`` in a daemon process (:mod:`usaxs_sim.repeater`).

    Clients (pyepics' libca) register with it and get their confirmation, so
    they neither try to spawn a ``caRepeater`` program nor warn that they
    cannot contact one; if a repeater already runs on that port, this one
    returns at once. A process of its own, so a busy simulation never delays
    its answers; it ends with the IOC, also when the IOC is killed.
    """
    from . import repeater

    process = multiprocessing.Process(
        target=repeater.run, args=(host, port, os.getpid()), name="ca-repeater", daemon=True
    )
    process.start()
    return process


def run(
    host: str = "127.0.0.1",
    server_port: int = 5064,
    repeater_port: int = 5065,
    prefix: str = "",
    time_scale: float = 0.05,
    seed: int | None = None,
    log_pv_names: bool = False,
    state_file: str | os.PathLike | None = None,
    **ioc_kwargs,
):
    """Serve the simulated instrument on ``host`` (loopback by default).

    ``state_file`` keeps the user-facing PVs across restarts (see
    :class:`UsaxsSimIOC`). Sets EPICS_CA_SERVER_PORT / EPICS_CA_REPEATER_PORT /
    EPICS_CAS_INTF_ADDR_LIST / EPICS_CA_ADDR_LIST in this process first.
    """
    os.environ["EPICS_CA_SERVER_PORT"] = str(server_port)
    os.environ["EPICS_CAS_SERVER_PORT"] = str(server_port)
    os.environ["EPICS_CA_REPEATER_PORT"] = str(repeater_port)
    os.environ["EPICS_CAS_INTF_ADDR_LIST"] = host
    os.environ["EPICS_CAS_BEACON_ADDR_LIST"] = host
    os.environ["EPICS_CAS_BEACON_PORT"] = str(repeater_port)
    os.environ["EPICS_CAS_AUTO_BEACON_ADDR_LIST"] = "NO"
    os.environ["EPICS_CA_ADDR_LIST"] = host
    os.environ["EPICS_CA_AUTO_ADDR_LIST"] = "NO"
    from .nodelay import serve

    for name in ("caproto", "caproto.ctx", "caproto.server"):
        logging.getLogger(name).addFilter(_NoBeaconNoise())
    start_repeater(host, repeater_port)

    ioc = UsaxsSimIOC(
        prefix=prefix, time_scale=time_scale, seed=seed, state_file=state_file, **ioc_kwargs
    )
    if ioc.state_message:
        print(ioc.state_message, file=sys.stderr, flush=True)
    serve(ioc.pvdb, interfaces=[host], log_pv_names=log_pv_names)
