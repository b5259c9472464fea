"""Monochromator, shutters, storage ring, simulation control, metadata and instrument terms."""

from __future__ import annotations

import sys

from caproto import ChannelType
from caproto.server import PVGroup, pvproperty

from . import physics
from .state import Field, save_state

EPICS_STRING_BYTES = 40  # a DBR_STRING holds 39 characters and its NUL

STATE_STRINGS = ["CLOSED", "OPEN"]


class Monochromator(PVGroup):
    """Mono energy/wavelength, prefix ``12ida2:``: EnCalc (keV), LambdaCalc (A).

    Writing either one updates the other (``lambda = 12.398419843 / E``).
    """

    energy = pvproperty(name="EnCalc", value=21.0, precision=5, units="keV")
    wavelength = pvproperty(
        name="LambdaCalc", value=physics.HC_KEV_A / 21.0, precision=6, units="A"
    )

    @energy.putter
    async def energy(self, instance, value):
        if value <= 0:
            raise ValueError("energy must be > 0 keV")
        await self.wavelength.write(physics.HC_KEV_A / value, verify_value=False)
        return value

    @wavelength.putter
    async def wavelength(self, instance, value):
        if value <= 0:
            raise ValueError("wavelength must be > 0 A")
        await self.energy.write(physics.HC_KEV_A / value, verify_value=False)
        return value


class Shutter(PVGroup):
    """Shutter: ``<prefix>Open`` (write 1 opens), ``Close`` (write 1 closes),
    ``State`` (0 CLOSED, 1 OPEN)."""

    open_cmd = pvproperty(name="Open", value=0)
    close_cmd = pvproperty(name="Close", value=0)
    state = pvproperty(
        name="State", value=1, dtype=ChannelType.ENUM, enum_strings=STATE_STRINGS, read_only=True
    )

    def __init__(self, *args, initially_open: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self._initial = 1 if initially_open else 0

    @property
    def is_open(self) -> bool:
        return self.state.value in (1, "OPEN")

    @state.startup
    async def state(self, instance, async_lib):
        await instance.write(self._initial)

    @open_cmd.putter
    async def open_cmd(self, instance, value):
        if value:
            await self.state.write(1)
        return 0

    @close_cmd.putter
    async def close_cmd(self, instance, value):
        if value:
            await self.state.write(0)
        return 0


class StorageRing(PVGroup):
    """Storage ring current ``S:SRcurrentAI`` (mA)."""

    current = pvproperty(name="S:SRcurrentAI", value=130.0, precision=3, units="mA", read_only=True)


class SimControl(PVGroup):
    """Simulation control, prefix ``usxSIM:``.

    PVs: beam_available (write 0 to drop the beam, 1 to restore), time_scale
    (wall seconds per simulated second), ready (1 when serving), sample_model
    (read-only description of the sample at the current sample position),
    seed (read-only, random seed of this process).
    """

    beam_available = pvproperty(value=1)
    time_scale = pvproperty(value=0.05, precision=4)
    ready = pvproperty(value=0, read_only=True)
    sample_model = pvproperty(value="blank", dtype=ChannelType.STRING, read_only=True)
    seed = pvproperty(value=0, read_only=True)

    @beam_available.putter
    async def beam_available(self, instance, value):
        value = 1 if value else 0
        # the flag first: the IOC's current update (a loop that may run during the
        # write below, before this PV holds the new value) must not restore the beam
        self.parent.beam_on = bool(value)
        await self.parent.ring.current.write(self.parent.sr_current_full if value else 0.0)
        return value

    @sample_model.getter
    async def sample_model(self, instance):
        return self.parent.sample_model().describe()

    @time_scale.putter
    async def time_scale(self, instance, value):
        if value <= 0:
            raise ValueError("time_scale must be > 0")
        self.parent.time_scale_value = float(value)
        return value


def _char(name, value="", length=256):
    return pvproperty(
        name=name,
        value=value,
        dtype=ChannelType.CHAR,
        max_length=length,
        string_encoding="utf-8",
    )


class SampleMetadata(PVGroup):
    """Sample and user metadata (no prefix).

    PVs: usxLAX:sampleTitle (CHAR[256]), usxLAX:sampleThickness (mm),
    usxSample:{ChemicalFormula, Description} (CHAR[256]),
    usxSample:{Concentration, Temperature, VolumeFraction,
    ScatteringLengthDensity, RotationAngle, XTranslation, ElectricField,
    MagneticField, StressField}, usxLAX:RunCycle, usxLAX:GUPNumber,
    usxLAX:userName (CHAR[256]), usxLAX:timeStamp.
    """

    title = _char("usxLAX:sampleTitle")
    thickness = pvproperty(name="usxLAX:sampleThickness", value=1.0, precision=4, units="mm")
    formula = _char("usxSample:ChemicalFormula")
    concentration = pvproperty(name="usxSample:Concentration", value=1.0)
    description = _char("usxSample:Description")
    temperature = pvproperty(name="usxSample:Temperature", value=25.0, units="C")
    volume_fraction = pvproperty(name="usxSample:VolumeFraction", value=1.0)
    sld = pvproperty(name="usxSample:ScatteringLengthDensity", value=1.0)
    rotation = pvproperty(name="usxSample:RotationAngle", value=0.0)
    x_translation = pvproperty(name="usxSample:XTranslation", value=0.0)
    e_field = pvproperty(name="usxSample:ElectricField", value=0.0)
    m_field = pvproperty(name="usxSample:MagneticField", value=0.0)
    stress = pvproperty(name="usxSample:StressField", value=0.0)
    run_cycle = pvproperty(name="usxLAX:RunCycle", value="2026-3", dtype=ChannelType.STRING)
    gup = pvproperty(name="usxLAX:GUPNumber", value="", dtype=ChannelType.STRING)
    user_name = _char("usxLAX:userName")
    time_stamp = pvproperty(name="usxLAX:timeStamp", value="", dtype=ChannelType.STRING)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state_file = None  # set by the IOC: every write then saves the values there
        self.save_error = ""  # the last failure to save, "" when the last save worked

    def fields(self) -> dict[str, Field]:
        """The kept PVs (names without the IOC prefix) and what each may hold."""
        found = {}
        for instance in self.attr_pvdb.values():
            if instance.pvspec.dtype in (ChannelType.CHAR, ChannelType.STRING):
                limit = instance.max_length if instance.pvspec.dtype == ChannelType.CHAR else 0
                found[instance.pvspec.name] = Field(str, limit or EPICS_STRING_BYTES - 1)
            else:
                found[instance.pvspec.name] = Field(float)
        return found

    def values(self) -> dict[str, str | float]:
        """The present value of every kept PV, by PV name."""
        return {i.pvspec.name: i.value for i in self.attr_pvdb.values()}

    async def restore(self, values: dict[str, str | float]) -> None:
        """Set the kept PVs to ``values`` (from the state file) without saving again."""
        by_name = {i.pvspec.name: i for i in self.attr_pvdb.values()}
        for name, value in values.items():
            await by_name[name].write(value, verify_value=False)

    async def _save(self, instance, value):
        """Putter of every kept PV: save all values, ``value`` for this one; return ``value``."""
        if self.state_file is not None:
            values = self.values()
            values[instance.pvspec.name] = value
            try:
                save_state(self.state_file, values)
                self.save_error = ""
            except OSError as exc:  # the IOC serves on; the user is told once per failure
                message = f"usaxs_sim: cannot save the state file {self.state_file}: {exc}"
                if message != self.save_error:
                    print(message, file=sys.stderr, flush=True)
                self.save_error = message
        return value

    for _kept in (
        title, thickness, formula, concentration, description, temperature, volume_fraction,
        sld, rotation, x_translation, e_field, m_field, stress, run_cycle, gup, user_name,
        time_stamp,
    ):  # fmt: skip
        _kept.putter(_save)
    del _kept


MODE_STRINGS = [
    "dirty",
    "out of beam",
    "USAXS in beam",
    "SAXS in beam",
    "WAXS in beam",
    "Imaging in",
    "imaging tuning",
    "Radiography",
]


def _f(name, value, **kw):
    return pvproperty(name=name, value=float(value), **kw)


def _i(name, value, **kw):
    return pvproperty(name=name, value=int(value), **kw)


class InstrumentTerms(PVGroup):
    """Instrument terms (no prefix; all under ``usxLAX:``).

    ``usxLAX:USAXS:`` ARcenter MRcenter ASRcenter MSRcenter SDD SAD UPDsize
    Diode_dx Diode_dy Diode_dx_out StartOffset Finish ARstart MinStep MinStepTraj UATerm
    NumPoints CountTime FS_NumberOfPoints FS_ScanTime FS_ElapsedTime
    FS_AmpR1BlockTime..FS_AmpR5BlockTime (ranges 0..4) UseFlyscan is2DUSAXSscan
    TR_MeasurePinTrans TR_AxPosition TR_MeasurementTime TR_pinCounts TR_pinGain
    TR_I0Counts TR_I0Gain; ``usxLAX:SAXS:USAXSSAXSMode`` (enum);
    ``usxLAX:USAXS_Pin:`` and ``usxLAX:USAXS_WAXS:`` Distance BeamCenterX
    BeamCenterY PinPixSizeX PinPixSizeY I_scaling TiltX TiltY; ``usxLAX:`` SAXS_x_in
    SAXS_y_in SAXS_z_in SAXS_y_out SAXS_z_out ax_in ax_out ay_in WAXS_x_in WAXS_x_out.
    """

    ar_center = _f("usxLAX:USAXS:ARcenter", 8.84576945, precision=8)
    mr_center = _f("usxLAX:USAXS:MRcenter", 8.84387156, precision=8)
    asr_center = _f("usxLAX:USAXS:ASRcenter", 22.57281474, precision=8)
    msr_center = _f("usxLAX:USAXS:MSRcenter", 24.76272793, precision=8)
    sdd = _f("usxLAX:USAXS:SDD", 1085.0, units="mm")
    sad = _f("usxLAX:USAXS:SAD", 240.0, units="mm")
    upd_size = _f("usxLAX:USAXS:UPDsize", 5.4, units="mm")
    diode_dx = _f("usxLAX:USAXS:Diode_dx", 96.495613, precision=6)
    diode_dy = _f("usxLAX:USAXS:Diode_dy", -86.958748, precision=6)
    diode_dx_out = _f("usxLAX:USAXS:Diode_dx_out", 10.0, precision=6)
    start_offset = _f("usxLAX:USAXS:StartOffset", -0.0003, precision=6)
    finish = _f("usxLAX:USAXS:Finish", 0.3, precision=5)
    ar_start = _f("usxLAX:USAXS:ARstart", 8.84738314, precision=8)
    min_step = _f("usxLAX:USAXS:MinStep", 2e-5, precision=7)
    min_step_traj = _f("usxLAX:USAXS:MinStepTraj", 2e-5, precision=7)
    ua_term = _f("usxLAX:USAXS:UATerm", 0.7, precision=3)
    num_points = _i("usxLAX:USAXS:NumPoints", 200)
    count_time = _f("usxLAX:USAXS:CountTime", 1.0)
    fs_num_points = _i("usxLAX:USAXS:FS_NumberOfPoints", 200)
    fs_scan_time = _f("usxLAX:USAXS:FS_ScanTime", 90.0, units="s")
    fs_elapsed = _f("usxLAX:USAXS:FS_ElapsedTime", 0.0, units="s")
    mask0 = _f("usxLAX:USAXS:FS_AmpR1BlockTime", physics.MASK_TIMES[0], precision=4)
    mask1 = _f("usxLAX:USAXS:FS_AmpR2BlockTime", physics.MASK_TIMES[1], precision=4)
    mask2 = _f("usxLAX:USAXS:FS_AmpR3BlockTime", physics.MASK_TIMES[2], precision=4)
    mask3 = _f("usxLAX:USAXS:FS_AmpR4BlockTime", physics.MASK_TIMES[3], precision=4)
    mask4 = _f("usxLAX:USAXS:FS_AmpR5BlockTime", physics.MASK_TIMES[4], precision=4)
    use_flyscan = _i("usxLAX:USAXS:UseFlyscan", 1)
    is_2d = _i("usxLAX:USAXS:is2DUSAXSscan", 0)
    tr_measure = _i("usxLAX:USAXS:TR_MeasurePinTrans", 1)
    tr_ax = _f("usxLAX:USAXS:TR_AxPosition", 14.566775)
    tr_time = _f("usxLAX:USAXS:TR_MeasurementTime", 2.0)
    tr_pin_counts = _f("usxLAX:USAXS:TR_pinCounts", 0.0)
    tr_pin_gain = _f("usxLAX:USAXS:TR_pinGain", 1e5)
    tr_i0_counts = _f("usxLAX:USAXS:TR_I0Counts", 0.0)
    tr_i0_gain = _f("usxLAX:USAXS:TR_I0Gain", 1e8)
    mode = pvproperty(
        name="usxLAX:SAXS:USAXSSAXSMode", value=2, dtype=ChannelType.ENUM, enum_strings=MODE_STRINGS
    )
    # SAXS (Pilatus) geometry
    pin_distance = _f("usxLAX:USAXS_Pin:Distance", 456.21, units="mm")
    pin_bcx = _f("usxLAX:USAXS_Pin:BeamCenterX", 97.0)
    pin_bcy = _f("usxLAX:USAXS_Pin:BeamCenterY", 243.0)
    pin_px = _f("usxLAX:USAXS_Pin:PinPixSizeX", 0.172, units="mm")
    pin_py = _f("usxLAX:USAXS_Pin:PinPixSizeY", 0.172, units="mm")
    pin_k = _f("usxLAX:USAXS_Pin:I_scaling", physics.AREA_DETECTOR_K)
    pin_tilt_x = _f("usxLAX:USAXS_Pin:TiltX", 0.0, units="deg")
    pin_tilt_y = _f("usxLAX:USAXS_Pin:TiltY", 0.0, units="deg")
    # WAXS (Eiger-like) geometry
    waxs_distance = _f("usxLAX:USAXS_WAXS:Distance", 250.0, units="mm")
    waxs_bcx = _f("usxLAX:USAXS_WAXS:BeamCenterX", 256.0)
    waxs_bcy = _f("usxLAX:USAXS_WAXS:BeamCenterY", -60.0)
    waxs_px = _f("usxLAX:USAXS_WAXS:PinPixSizeX", 0.075, units="mm")
    waxs_py = _f("usxLAX:USAXS_WAXS:PinPixSizeY", 0.075, units="mm")
    waxs_k = _f("usxLAX:USAXS_WAXS:I_scaling", physics.AREA_DETECTOR_K)
    waxs_tilt_x = _f("usxLAX:USAXS_WAXS:TiltX", 0.0, units="deg")
    waxs_tilt_y = _f("usxLAX:USAXS_WAXS:TiltY", 0.0, units="deg")
    # in/out positions
    saxs_x_in = _f("usxLAX:SAXS_x_in", 14.56)
    saxs_y_in = _f("usxLAX:SAXS_y_in", -259.5)
    saxs_z_in = _f("usxLAX:SAXS_z_in", -249.0)
    saxs_y_out = _f("usxLAX:SAXS_y_out", -10.0)
    saxs_z_out = _f("usxLAX:SAXS_z_out", -200.0)
    ax_in = _f("usxLAX:ax_in", 14.566775)
    ax_out = _f("usxLAX:ax_out", -30.0)
    ay_in = _f("usxLAX:ay_in", 49.7)
    waxs_x_in = _f("usxLAX:WAXS_x_in", 0.0)
    waxs_x_out = _f("usxLAX:WAXS_x_out", -10.0)


class SlitSizes(PVGroup):
    """Guard slit sizes (mm): ``usxLAX:GSlit1H:size`` (outboard - inboard) and
    ``usxLAX:GSlit1V:size`` (top - bottom), computed from the blade motors;
    writing a size moves the pair of blades symmetrically about their centre."""

    h_size = pvproperty(name="usxLAX:GSlit1H:size", value=1.2, precision=4, units="mm")
    v_size = pvproperty(name="usxLAX:GSlit1V:size", value=1.2, precision=4, units="mm")

    async def refresh(self):
        top = self.parent
        h = top.gs_out.position - top.gs_in.position
        v = top.gs_top.position - top.gs_bot.position
        if abs(h - self.h_size.value) > 1e-9:
            await self.h_size.write(h, verify_value=False)
        if abs(v - self.v_size.value) > 1e-9:
            await self.v_size.write(v, verify_value=False)

    async def _open_pair(self, hi_motor, lo_motor, size):
        if size < 0:
            raise ValueError("slit size must be >= 0")
        center = (hi_motor.position + lo_motor.position) / 2
        import asyncio

        await asyncio.gather(
            hi_motor.val.write(center + size / 2), lo_motor.val.write(center - size / 2)
        )

    @h_size.putter
    async def h_size(self, instance, value):
        await self._open_pair(self.parent.gs_out, self.parent.gs_in, value)
        return self.parent.gs_out.position - self.parent.gs_in.position

    @v_size.putter
    async def v_size(self, instance, value):
        await self._open_pair(self.parent.gs_top, self.parent.gs_bot, value)
        return self.parent.gs_top.position - self.parent.gs_bot.position
