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

    energy = pvproperty(
        name="EnCalc",
        value=21.0,
        precision=5,
        units="keV",
        doc="Monochromator energy (keV); writing it sets the wavelength",
    )
    wavelength = pvproperty(
        name="LambdaCalc",
        value=physics.HC_KEV_A / 21.0,
        precision=6,
        units="A",
        doc="Monochromator wavelength (A); writing it sets the energy",
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

    open_cmd = pvproperty(name="Open", value=0, doc="Write 1 to open the shutter")
    close_cmd = pvproperty(name="Close", value=0, doc="Write 1 to close the shutter")
    state = pvproperty(
        name="State",
        value=1,
        dtype=ChannelType.ENUM,
        enum_strings=STATE_STRINGS,
        read_only=True,
        doc="Shutter state: 0 CLOSED, 1 OPEN",
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

    current = pvproperty(
        name="S:SRcurrentAI",
        value=130.0,
        precision=3,
        units="mA",
        read_only=True,
        doc="Storage ring current (mA), 0 while the beam is dropped",
    )


class SimControl(PVGroup):
    """Simulation control, prefix ``usxSIM:``.

    PVs: beam_available (write 0 to drop the beam, 1 to restore), time_scale
    (wall seconds per simulated second), ready (1 when serving), sample_model
    (read-only description of the sample at the current sample position),
    seed (read-only, random seed of this process).
    """

    beam_available = pvproperty(value=1, doc="Simulation: 1 beam on, write 0 to drop the beam")
    time_scale = pvproperty(
        value=0.05, precision=4, doc="Simulation: wall-clock seconds per simulated second"
    )
    ready = pvproperty(value=0, read_only=True, doc="Simulation: 1 once the IOC is serving")
    sample_model = pvproperty(
        value="blank",
        dtype=ChannelType.STRING,
        read_only=True,
        doc="Simulation: the sample model at the current sample position",
    )
    seed = pvproperty(value=0, read_only=True, doc="Simulation: random seed of this process")

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


def _char(name, value="", length=256, *, doc: str):
    return pvproperty(
        name=name,
        value=value,
        doc=doc,
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

    title = _char("usxLAX:sampleTitle", doc="Sample title")
    thickness = pvproperty(
        name="usxLAX:sampleThickness",
        value=1.0,
        precision=4,
        units="mm",
        doc="Sample thickness (mm)",
    )
    formula = _char("usxSample:ChemicalFormula", doc="Sample chemical formula")
    concentration = pvproperty(
        name="usxSample:Concentration", value=1.0, doc="Sample concentration"
    )
    description = _char("usxSample:Description", doc="Sample description")
    temperature = pvproperty(
        name="usxSample:Temperature", value=25.0, units="C", doc="Sample temperature (C)"
    )
    volume_fraction = pvproperty(
        name="usxSample:VolumeFraction", value=1.0, doc="Sample volume fraction"
    )
    sld = pvproperty(
        name="usxSample:ScatteringLengthDensity", value=1.0, doc="Sample scattering length density"
    )
    rotation = pvproperty(name="usxSample:RotationAngle", value=0.0, doc="Sample rotation angle")
    x_translation = pvproperty(name="usxSample:XTranslation", value=0.0, doc="Sample x translation")
    e_field = pvproperty(
        name="usxSample:ElectricField", value=0.0, doc="Electric field on the sample"
    )
    m_field = pvproperty(
        name="usxSample:MagneticField", value=0.0, doc="Magnetic field on the sample"
    )
    stress = pvproperty(name="usxSample:StressField", value=0.0, doc="Stress field on the sample")
    run_cycle = pvproperty(
        name="usxLAX:RunCycle",
        value="2026-3",
        dtype=ChannelType.STRING,
        doc="APS run cycle (e.g. 2026-3)",
    )
    gup = pvproperty(
        name="usxLAX:GUPNumber",
        value="",
        dtype=ChannelType.STRING,
        doc="General User Proposal number",
    )
    user_name = _char("usxLAX:userName", doc="User name")
    time_stamp = pvproperty(
        name="usxLAX:timeStamp",
        value="",
        dtype=ChannelType.STRING,
        doc="Time stamp (text)",
    )

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

    ar_center = _f(
        "usxLAX:USAXS:ARcenter",
        8.84576945,
        precision=8,
        doc="Analyzer rocking-curve centre AR (deg)",
    )
    mr_center = _f(
        "usxLAX:USAXS:MRcenter",
        8.84387156,
        precision=8,
        doc="Collimator rocking-curve centre MR (deg)",
    )
    asr_center = _f(
        "usxLAX:USAXS:ASRcenter",
        22.57281474,
        precision=8,
        doc="Analyzer side-reflection centre ASR (deg)",
    )
    msr_center = _f(
        "usxLAX:USAXS:MSRcenter",
        24.76272793,
        precision=8,
        doc="Collimator side-reflection centre MSR (deg)",
    )
    sdd = _f("usxLAX:USAXS:SDD", 1085.0, units="mm", doc="Sample-to-detector distance (mm)")
    sad = _f("usxLAX:USAXS:SAD", 240.0, units="mm", doc="Sample-to-analyzer distance (mm)")
    upd_size = _f("usxLAX:USAXS:UPDsize", 5.4, units="mm", doc="Photodiode size (mm)")
    diode_dx = _f(
        "usxLAX:USAXS:Diode_dx",
        96.495613,
        precision=6,
        doc="Photodiode DX position in the beam (mm)",
    )
    diode_dy = _f(
        "usxLAX:USAXS:Diode_dy",
        -86.958748,
        precision=6,
        doc="Photodiode DY position in the beam (mm)",
    )
    diode_dx_out = _f(
        "usxLAX:USAXS:Diode_dx_out",
        10.0,
        precision=6,
        doc="Photodiode DX position out of the beam (mm)",
    )
    start_offset = _f(
        "usxLAX:USAXS:StartOffset",
        -0.0003,
        precision=6,
        doc="USAXS scan start offset from AR centre (deg)",
    )
    finish = _f("usxLAX:USAXS:Finish", 0.3, precision=5, doc="USAXS scan end, Q (1/A)")
    ar_start = _f("usxLAX:USAXS:ARstart", 8.84738314, precision=8, doc="USAXS scan start AR (deg)")
    min_step = _f("usxLAX:USAXS:MinStep", 2e-5, precision=7, doc="Smallest step-scan AR step (deg)")
    min_step_traj = _f(
        "usxLAX:USAXS:MinStepTraj", 2e-5, precision=7, doc="Smallest fly-scan AR step (deg)"
    )
    ua_term = _f(
        "usxLAX:USAXS:UATerm", 0.7, precision=3, doc="Step-size exponent of the USAXS scan"
    )
    num_points = _i("usxLAX:USAXS:NumPoints", 200, doc="Step-scan points")
    count_time = _f("usxLAX:USAXS:CountTime", 1.0, doc="Step-scan count time per point (s)")
    fs_num_points = _i("usxLAX:USAXS:FS_NumberOfPoints", 200, doc="Fly-scan points")
    fs_scan_time = _f("usxLAX:USAXS:FS_ScanTime", 90.0, units="s", doc="Fly-scan duration (s)")
    fs_elapsed = _f("usxLAX:USAXS:FS_ElapsedTime", 0.0, units="s", doc="Fly-scan elapsed time (s)")
    mask0 = _f(
        "usxLAX:USAXS:FS_AmpR1BlockTime",
        physics.MASK_TIMES[0],
        precision=4,
        doc="Fly-scan counts masked after a change to range 0 (s)",
    )
    mask1 = _f(
        "usxLAX:USAXS:FS_AmpR2BlockTime",
        physics.MASK_TIMES[1],
        precision=4,
        doc="Fly-scan counts masked after a change to range 1 (s)",
    )
    mask2 = _f(
        "usxLAX:USAXS:FS_AmpR3BlockTime",
        physics.MASK_TIMES[2],
        precision=4,
        doc="Fly-scan counts masked after a change to range 2 (s)",
    )
    mask3 = _f(
        "usxLAX:USAXS:FS_AmpR4BlockTime",
        physics.MASK_TIMES[3],
        precision=4,
        doc="Fly-scan counts masked after a change to range 3 (s)",
    )
    mask4 = _f(
        "usxLAX:USAXS:FS_AmpR5BlockTime",
        physics.MASK_TIMES[4],
        precision=4,
        doc="Fly-scan counts masked after a change to range 4 (s)",
    )
    use_flyscan = _i("usxLAX:USAXS:UseFlyscan", 1, doc="1: USAXS by fly scan, 0: by step scan")
    is_2d = _i("usxLAX:USAXS:is2DUSAXSscan", 0, doc="1: 2D USAXS scan")
    tr_measure = _i(
        "usxLAX:USAXS:TR_MeasurePinTrans", 1, doc="1: measure the transmission with the pin diode"
    )
    tr_ax = _f(
        "usxLAX:USAXS:TR_AxPosition",
        14.566775,
        doc="AX position of the transmission measurement (mm)",
    )
    tr_time = _f(
        "usxLAX:USAXS:TR_MeasurementTime", 2.0, doc="Transmission measurement count time (s)"
    )
    tr_pin_counts = _f("usxLAX:USAXS:TR_pinCounts", 0.0, doc="Transmission: pin diode counts")
    tr_pin_gain = _f("usxLAX:USAXS:TR_pinGain", 1e5, doc="Transmission: pin diode gain (V/A)")
    tr_i0_counts = _f("usxLAX:USAXS:TR_I0Counts", 0.0, doc="Transmission: I0 counts")
    tr_i0_gain = _f("usxLAX:USAXS:TR_I0Gain", 1e8, doc="Transmission: I0 gain (V/A)")
    mode = pvproperty(
        name="usxLAX:SAXS:USAXSSAXSMode",
        value=2,
        dtype=ChannelType.ENUM,
        enum_strings=MODE_STRINGS,
        doc="Instrument mode (USAXS, SAXS, WAXS, ...)",
    )
    # SAXS (Pilatus) geometry
    pin_distance = _f(
        "usxLAX:USAXS_Pin:Distance", 456.21, units="mm", doc="SAXS sample-to-detector distance (mm)"
    )
    pin_bcx = _f("usxLAX:USAXS_Pin:BeamCenterX", 97.0, doc="SAXS beam centre X (row, pixels)")
    pin_bcy = _f("usxLAX:USAXS_Pin:BeamCenterY", 243.0, doc="SAXS beam centre Y (column, pixels)")
    pin_px = _f("usxLAX:USAXS_Pin:PinPixSizeX", 0.172, units="mm", doc="SAXS pixel size X (mm)")
    pin_py = _f("usxLAX:USAXS_Pin:PinPixSizeY", 0.172, units="mm", doc="SAXS pixel size Y (mm)")
    pin_k = _f("usxLAX:USAXS_Pin:I_scaling", physics.AREA_DETECTOR_K, doc="SAXS intensity scaling")
    pin_tilt_x = _f("usxLAX:USAXS_Pin:TiltX", 0.0, units="deg", doc="SAXS detector tilt X (deg)")
    pin_tilt_y = _f("usxLAX:USAXS_Pin:TiltY", 0.0, units="deg", doc="SAXS detector tilt Y (deg)")
    # WAXS (Eiger-like) geometry
    waxs_distance = _f(
        "usxLAX:USAXS_WAXS:Distance", 250.0, units="mm", doc="WAXS sample-to-detector distance (mm)"
    )
    waxs_bcx = _f("usxLAX:USAXS_WAXS:BeamCenterX", 256.0, doc="WAXS beam centre X (row, pixels)")
    waxs_bcy = _f("usxLAX:USAXS_WAXS:BeamCenterY", -60.0, doc="WAXS beam centre Y (column, pixels)")
    waxs_px = _f("usxLAX:USAXS_WAXS:PinPixSizeX", 0.075, units="mm", doc="WAXS pixel size X (mm)")
    waxs_py = _f("usxLAX:USAXS_WAXS:PinPixSizeY", 0.075, units="mm", doc="WAXS pixel size Y (mm)")
    waxs_k = _f(
        "usxLAX:USAXS_WAXS:I_scaling", physics.AREA_DETECTOR_K, doc="WAXS intensity scaling"
    )
    waxs_tilt_x = _f("usxLAX:USAXS_WAXS:TiltX", 0.0, units="deg", doc="WAXS detector tilt X (deg)")
    waxs_tilt_y = _f("usxLAX:USAXS_WAXS:TiltY", 0.0, units="deg", doc="WAXS detector tilt Y (deg)")
    # in/out positions
    saxs_x_in = _f("usxLAX:SAXS_x_in", 14.56, doc="SAXS x position in the beam (mm)")
    saxs_y_in = _f("usxLAX:SAXS_y_in", -259.5, doc="SAXS y position in the beam (mm)")
    saxs_z_in = _f("usxLAX:SAXS_z_in", -249.0, doc="SAXS z position in the beam (mm)")
    saxs_y_out = _f("usxLAX:SAXS_y_out", -10.0, doc="SAXS y position out of the beam (mm)")
    saxs_z_out = _f("usxLAX:SAXS_z_out", -200.0, doc="SAXS z position out of the beam (mm)")
    ax_in = _f("usxLAX:ax_in", 14.566775, doc="Analyzer AX position in the beam (mm)")
    ax_out = _f("usxLAX:ax_out", -30.0, doc="Analyzer AX position out of the beam (mm)")
    ay_in = _f("usxLAX:ay_in", 49.7, doc="Analyzer AY position in the beam (mm)")
    waxs_x_in = _f("usxLAX:WAXS_x_in", 0.0, doc="WAXS x position in the beam (mm)")
    waxs_x_out = _f("usxLAX:WAXS_x_out", -10.0, doc="WAXS x position out of the beam (mm)")


class SlitSizes(PVGroup):
    """Guard slit sizes (mm): ``usxLAX:GSlit1H:size`` (outboard - inboard) and
    ``usxLAX:GSlit1V:size`` (top - bottom), computed from the blade motors;
    writing a size moves the pair of blades symmetrically about their centre."""

    h_size = pvproperty(
        name="usxLAX:GSlit1H:size",
        value=1.2,
        precision=4,
        units="mm",
        doc="Guard slit horizontal size (mm), outboard - inboard",
    )
    v_size = pvproperty(
        name="usxLAX:GSlit1V:size",
        value=1.2,
        precision=4,
        units="mm",
        doc="Guard slit vertical size (mm), top - bottom",
    )

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
