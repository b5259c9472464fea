"""A simulated EPICS motor record served by caproto (works with ``ophyd.EpicsMotor``)."""

from __future__ import annotations

import asyncio
import contextlib

from caproto import ChannelType
from caproto.server import PVGroup, pvproperty
from caproto.server.server import PvpropertyDouble


class _ValData(PvpropertyDouble):
    """VAL: values outside the control limits (LLM..HLM) are refused and set LVIO=1."""

    async def verify_value(self, value):
        lo, hi = self.lower_ctrl_limit, self.upper_ctrl_limit
        v = value[0] if isinstance(value, list | tuple) else value
        if lo != hi and not lo <= v <= hi:
            await self.group.lvio.write(1)
            raise ValueError(f"{self.pvname}: {v} outside soft limits [{lo}, {hi}]")
        return await super().verify_value(value)


def _fld(name, value, **kw):
    return pvproperty(name=name, value=value, **kw)


class MotorRecord(PVGroup):
    """Simulated motor record ``<prefix>`` (fields as ``<prefix>.FIELD``).

    PVs: VAL RBV DVAL DRBV RVAL RRBV OFF DIR FOFF SET VELO VBAS ACCL EGU DESC
    MOVN DMOV HLS LLS HLM LLM DHLM DLLM TDIR STOP SPMG CNEN HOMF HOMR MSTA MRES
    PREC TWV TWF TWR LVIO ATHM RDBD (+ the record name itself, read-only VAL copy).

    Moves take ``|distance| / VELO * time_scale`` seconds (``time_scale`` from
    the owning IOC, see :attr:`time_scale`), RBV updates at ``tick_hz``.
    A put to VAL with completion returns when the move is done; STOP (or SPMG
    "Stop") stops it.  Values of VAL outside [LLM, HLM] are refused (LVIO=1).
    """

    val = pvproperty(
        name=".VAL",
        value=0.0,
        dtype=_ValData,
        precision=4,
        doc="Desired position (user units); put-completion when the move ends",
    )
    record_alias = pvproperty(
        name="",
        value=0.0,
        read_only=True,
        precision=4,
        doc="The record name itself: read-only copy of the position",
    )
    rbv = _fld(".RBV", 0.0, read_only=True, precision=4, doc="Readback position (user units)")
    dval = _fld(".DVAL", 0.0, precision=4, doc="Desired position (dial units)")
    drbv = _fld(".DRBV", 0.0, read_only=True, precision=4, doc="Readback position (dial units)")
    rval = _fld(".RVAL", 0, doc="Desired position (steps)")
    rrbv = _fld(".RRBV", 0, read_only=True, doc="Readback position (steps)")
    off = _fld(".OFF", 0.0, precision=4, doc="User offset (user = dial * direction + offset)")
    dir = _fld(
        ".DIR",
        0,
        dtype=ChannelType.ENUM,
        enum_strings=["Pos", "Neg"],
        doc="User direction: Pos or Neg",
    )
    foff = _fld(
        ".FOFF",
        0,
        dtype=ChannelType.ENUM,
        enum_strings=["Variable", "Frozen"],
        doc="Offset Variable or Frozen",
    )
    set = _fld(
        ".SET",
        0,
        dtype=ChannelType.ENUM,
        enum_strings=["Use", "Set"],
        doc="Use or Set: in Set, VAL writes change the offset",
    )
    velo = _fld(".VELO", 1.0, precision=4, doc="Velocity (units/s)")
    vbas = _fld(".VBAS", 0.0, precision=4, doc="Base velocity (units/s)")
    vmax = _fld(".VMAX", 0.0, precision=4, doc="Maximum velocity (units/s, 0 none)")
    accl = _fld(".ACCL", 0.2, precision=3, doc="Acceleration time (s)")
    egu = _fld(".EGU", "mm", dtype=ChannelType.STRING, doc="Engineering units")
    desc = _fld(".DESC", "", dtype=ChannelType.STRING, doc="Description")
    movn = _fld(".MOVN", 0, read_only=True, doc="Moving: 1")
    dmov = _fld(".DMOV", 1, read_only=True, doc="Done moving: 1")
    hls = _fld(".HLS", 0, read_only=True, doc="At the high limit switch: 1")
    lls = _fld(".LLS", 0, read_only=True, doc="At the low limit switch: 1")
    hlm = _fld(".HLM", 100.0, precision=4, doc="High soft limit (user units)")
    llm = _fld(".LLM", -100.0, precision=4, doc="Low soft limit (user units)")
    dhlm = _fld(".DHLM", 100.0, precision=4, doc="High soft limit (dial units)")
    dllm = _fld(".DLLM", -100.0, precision=4, doc="Low soft limit (dial units)")
    tdir = _fld(".TDIR", 0, read_only=True, doc="Direction of the last move: 1 positive")
    stop = _fld(".STOP", 0, doc="Write 1 to stop")
    spmg = _fld(
        ".SPMG",
        3,
        dtype=ChannelType.ENUM,
        enum_strings=["Stop", "Pause", "Move", "Go"],
        doc="Stop, Pause, Move or Go",
    )
    cnen = _fld(
        ".CNEN", 1, dtype=ChannelType.ENUM, enum_strings=["Disable", "Enable"], doc="Torque enable"
    )
    homf = _fld(".HOMF", 0, doc="Write 1 to home forward")
    homr = _fld(".HOMR", 0, doc="Write 1 to home reverse")
    athm = _fld(".ATHM", 0, read_only=True, doc="At home: 1")
    msta = _fld(".MSTA", 0x0002, read_only=True, doc="Motor status bits")
    mres = _fld(".MRES", 1e-4, precision=8, doc="Motor resolution (units/step)")
    prec = _fld(".PREC", 4, doc="Display precision (digits)")
    twv = _fld(".TWV", 1.0, precision=4, doc="Tweak step (user units)")
    twf = _fld(".TWF", 0, doc="Write 1 to tweak forward by TWV")
    twr = _fld(".TWR", 0, doc="Write 1 to tweak reverse by TWV")
    lvio = _fld(".LVIO", 0, read_only=True, doc="Soft limit violation: 1")
    rdbd = _fld(".RDBD", 0.0, precision=6, doc="Retry deadband (user units)")

    def __init__(
        self,
        *args,
        position: float = 0.0,
        limits: tuple[float, float] = (-100.0, 100.0),
        velocity: float = 1.0,
        precision: int = 4,
        resolution: float = 1e-4,
        egu: str = "mm",
        description: str = "",
        tick_hz: float = 10.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self._init = dict(
            position=float(position),
            limits=(float(limits[0]), float(limits[1])),
            velocity=float(velocity),
            precision=int(precision),
            resolution=float(resolution),
            egu=egu,
            description=description,
        )
        self.tick_hz = tick_hz
        self._move_task: asyncio.Task | None = None
        self._external = False  # driven by something else (fly scan)

    # ---------------------------------------------------------------- helpers
    @property
    def time_scale(self) -> float:
        """Wall-clock seconds per simulated second (from the top IOC if present)."""
        top = self
        while getattr(top, "parent", None) is not None:
            top = top.parent
        return float(getattr(top, "time_scale_value", 1.0))

    @property
    def position(self) -> float:
        """User readback (RBV)."""
        return float(self.rbv.value)

    def _sign(self) -> int:
        return -1 if self.dir.value in (1, "Neg") else 1

    async def _set_readback(self, user: float):
        dial = (user - self.off.value) * self._sign()
        res = self.mres.value or 1e-9
        await self.rbv.write(user)
        await self.record_alias.write(user)
        await self.drbv.write(dial)
        await self.rrbv.write(int(round(dial / res)))

    async def _set_limits(self, lo: float, hi: float):
        await self.llm.write(lo, verify_value=False)
        await self.hlm.write(hi, verify_value=False)
        dlo, dhi = sorted(
            ((lo - self.off.value) * self._sign(), (hi - self.off.value) * self._sign())
        )
        await self.dllm.write(dlo, verify_value=False)
        await self.dhlm.write(dhi, verify_value=False)
        await self.val.write_metadata(lower_ctrl_limit=lo, upper_ctrl_limit=hi)

    async def initialize(self):
        """Apply the constructor defaults (called at server startup)."""
        p = self._init
        await self.mres.write(p["resolution"])
        await self.prec.write(p["precision"])
        for prop in (self.val, self.rbv, self.dval, self.drbv, self.record_alias):
            await prop.write_metadata(precision=p["precision"], units=p["egu"])
        await self.velo.write(p["velocity"])
        await self.vmax.write(p["velocity"] * 10)
        await self.egu.write(p["egu"])
        await self.desc.write(p["description"][:39])
        await self.twv.write(p["velocity"] / 10)
        await self._set_limits(*p["limits"])
        await self.val.write(p["position"], verify_value=False)
        await self.dval.write(p["position"], verify_value=False)
        await self._set_readback(p["position"])

    # ------------------------------------------------------------------ moves
    async def _run_move(self, target: float):
        velo = abs(self.velo.value) or 1.0
        start = self.position
        distance = target - start
        duration = abs(distance) / velo * self.time_scale
        await self.tdir.write(1 if distance >= 0 else 0)
        await self.dmov.write(0)
        await self.movn.write(1)
        await self.msta.write(0x0400 | (0x0001 if distance >= 0 else 0))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        dwell = 1.0 / self.tick_hz
        try:
            while True:
                elapsed = loop.time() - t0
                if elapsed >= duration:
                    break
                await self._set_readback(start + distance * elapsed / duration)
                await asyncio.sleep(min(dwell, duration - elapsed))
            await self._set_readback(target)
        finally:
            await self.movn.write(0)
            await self.msta.write(0x0002)
            await self.dmov.write(1)

    async def move(self, target: float, wait: bool = True):
        """Start a move to ``target`` (user units); optionally wait for it."""
        if self._move_task is not None and not self._move_task.done():
            self._move_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._move_task
        await self.lvio.write(0)
        await self.val.write(target, verify_value=False)
        await self.dval.write((target - self.off.value) * self._sign(), verify_value=False)
        res = self.mres.value or 1e-9
        await self.rval.write(int(round(self.dval.value / res)), verify_value=False)
        self._move_task = asyncio.ensure_future(self._run_move(target))
        if wait:
            await asyncio.wait([self._move_task])

    async def stop_motion(self):
        """Stop now; VAL becomes the present position."""
        task = self._move_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.val.write(self.position, verify_value=False)
        await self.dval.write(self.drbv.value, verify_value=False)

    async def drive_external(self, position: float):
        """Set the readback directly (used when another subsystem moves this axis)."""
        await self._set_readback(position)

    async def begin_external(self):
        """Mark the axis as moving under external control (fly scan)."""
        await self.stop_motion()
        await self.dmov.write(0)
        await self.movn.write(1)

    async def end_external(self):
        """End external control: VAL = RBV, done moving."""
        await self.val.write(self.position, verify_value=False)
        await self.movn.write(0)
        await self.dmov.write(1)

    # --------------------------------------------------------------- putters
    @val.startup
    async def val(self, instance, async_lib):
        await self.initialize()

    @val.putter
    async def val(self, instance, value):
        if self.set.value in (1, "Set"):
            # redefine the user position: change the offset, no motion
            await self.off.write(value - self.drbv.value * self._sign(), verify_value=False)
            await self._set_readback(value)
            return value
        if self.spmg.value in (0, 1, "Stop", "Pause"):
            return self.position
        await self.move(value, wait=True)
        return self.val.value

    @dval.putter
    async def dval(self, instance, value):
        await self.val.write(value * self._sign() + self.off.value)
        return self.dval.value

    @rval.putter
    async def rval(self, instance, value):
        await self.dval.write(value * (self.mres.value or 1e-9))
        return self.rval.value

    @stop.putter
    async def stop(self, instance, value):
        if value:
            await self.stop_motion()
        return 0

    @spmg.putter
    async def spmg(self, instance, value):
        if value in ("Stop", "Pause", 0, 1):
            await self.stop_motion()
        return value

    @hlm.putter
    async def hlm(self, instance, value):
        await self._set_limits(self.llm.value, value)
        return value

    @llm.putter
    async def llm(self, instance, value):
        await self._set_limits(value, self.hlm.value)
        return value

    @dhlm.putter
    async def dhlm(self, instance, value):
        user = value * self._sign() + self.off.value
        if self._sign() > 0:
            await self._set_limits(self.llm.value, user)
        else:
            await self._set_limits(user, self.hlm.value)
        return self.dhlm.value

    @dllm.putter
    async def dllm(self, instance, value):
        user = value * self._sign() + self.off.value
        if self._sign() > 0:
            await self._set_limits(user, self.hlm.value)
        else:
            await self._set_limits(self.llm.value, user)
        return self.dllm.value

    @off.putter
    async def off(self, instance, value):
        shift = value - self.off.value
        await self._set_limits(self.llm.value + shift, self.hlm.value + shift)
        await self.rbv.write(self.rbv.value + shift)
        await self.record_alias.write(self.rbv.value)
        await self.val.write(self.val.value + shift, verify_value=False)
        return value

    @twf.putter
    async def twf(self, instance, value):
        if value:
            asyncio.ensure_future(self.val.write(self.val.value + abs(self.twv.value)))
        return 0

    @twr.putter
    async def twr(self, instance, value):
        if value:
            asyncio.ensure_future(self.val.write(self.val.value - abs(self.twv.value)))
        return 0

    @homf.putter
    async def homf(self, instance, value):
        if value:
            await self._home()
        return 0

    @homr.putter
    async def homr(self, instance, value):
        if value:
            await self._home()
        return 0

    async def _home(self):
        home = min(max(self.off.value, self.llm.value), self.hlm.value)
        await self.athm.write(0)
        await self.move(home, wait=True)
        await self.athm.write(1)

    @prec.putter
    async def prec(self, instance, value):
        for prop in (self.val, self.rbv, self.dval, self.drbv, self.record_alias):
            await prop.write_metadata(precision=int(value))
        return value
