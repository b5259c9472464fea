"""Simulated area detectors (SAXS Pilatus 100K, WAXS Eiger-like): cam1 + image1."""

from __future__ import annotations

import asyncio

import numpy as np
from caproto import ChannelType
from caproto.server import PVGroup, SubGroup, pvproperty

from . import physics

IMAGE_MODES = ["Single", "Multiple", "Continuous"]
DETECTOR_STATES = [
    "Idle",
    "Acquire",
    "Readout",
    "Correct",
    "Saving",
    "Aborting",
    "Error",
    "Waiting",
    "Initializing",
    "Disconnected",
    "Aborted",
]


class Cam(PVGroup):
    """``cam1:`` Acquire (busy, put-completion at the end) AcquireTime
    AcquirePeriod NumImages ImageMode (+ their _RBV), Acquire_RBV ArrayCounter
    ArrayCounter_RBV ArraySizeX_RBV ArraySizeY_RBV DetectorState_RBV
    Manufacturer_RBV Model_RBV MaxSizeX_RBV MaxSizeY_RBV NumImagesCounter_RBV."""

    acquire = pvproperty(
        name="Acquire",
        value=0,
        dtype=ChannelType.ENUM,
        enum_strings=["Done", "Acquire"],
        doc="Start an acquisition (busy: put-completion when the frames are taken)",
    )
    acquire_rbv = pvproperty(
        name="Acquire_RBV",
        value=0,
        dtype=ChannelType.ENUM,
        enum_strings=["Done", "Acquire"],
        read_only=True,
        doc="Acquisition state: 1 while acquiring",
    )
    acquire_time = pvproperty(
        name="AcquireTime", value=1.0, precision=3, doc="Exposure time per frame (s)"
    )
    acquire_time_rbv = pvproperty(
        name="AcquireTime_RBV",
        value=1.0,
        precision=3,
        read_only=True,
        doc="Exposure time per frame (s), readback",
    )
    acquire_period = pvproperty(
        name="AcquirePeriod", value=1.0, precision=3, doc="Time between frame starts (s)"
    )
    acquire_period_rbv = pvproperty(
        name="AcquirePeriod_RBV",
        value=1.0,
        precision=3,
        read_only=True,
        doc="Time between frame starts (s), readback",
    )
    num_images = pvproperty(name="NumImages", value=1, doc="Frames per acquisition")
    num_images_rbv = pvproperty(
        name="NumImages_RBV", value=1, read_only=True, doc="Frames per acquisition, readback"
    )
    num_images_counter = pvproperty(
        name="NumImagesCounter_RBV",
        value=0,
        read_only=True,
        doc="Frames taken in the current acquisition",
    )
    image_mode = pvproperty(
        name="ImageMode",
        value=0,
        dtype=ChannelType.ENUM,
        enum_strings=IMAGE_MODES,
        doc="Single, Multiple or Continuous",
    )
    image_mode_rbv = pvproperty(
        name="ImageMode_RBV",
        value=0,
        dtype=ChannelType.ENUM,
        enum_strings=IMAGE_MODES,
        read_only=True,
        doc="Image mode, readback",
    )
    array_counter = pvproperty(
        name="ArrayCounter", value=0, doc="Frames taken since reset (writable)"
    )
    array_counter_rbv = pvproperty(
        name="ArrayCounter_RBV", value=0, read_only=True, doc="Frames taken since reset, readback"
    )
    size_x = pvproperty(name="ArraySizeX_RBV", value=0, read_only=True, doc="Frame width (pixels)")
    size_y = pvproperty(name="ArraySizeY_RBV", value=0, read_only=True, doc="Frame height (pixels)")
    max_x = pvproperty(name="MaxSizeX_RBV", value=0, read_only=True, doc="Sensor width (pixels)")
    max_y = pvproperty(name="MaxSizeY_RBV", value=0, read_only=True, doc="Sensor height (pixels)")
    state = pvproperty(
        name="DetectorState_RBV",
        value=0,
        dtype=ChannelType.ENUM,
        enum_strings=DETECTOR_STATES,
        read_only=True,
        doc="Detector state (Idle, Acquire, ...)",
    )
    manufacturer = pvproperty(
        name="Manufacturer_RBV",
        value="",
        dtype=ChannelType.STRING,
        read_only=True,
        doc="Detector manufacturer",
    )
    model = pvproperty(
        name="Model_RBV", value="", dtype=ChannelType.STRING, read_only=True, doc="Detector model"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._abort = asyncio.Event()
        self._busy = False

    @state.startup
    async def state(self, instance, async_lib):
        await self.parent.initialize()

    @acquire_time.putter
    async def acquire_time(self, instance, value):
        if value < 0:
            raise ValueError("AcquireTime must be >= 0")
        await self.acquire_time_rbv.write(value)
        return value

    @acquire_period.putter
    async def acquire_period(self, instance, value):
        await self.acquire_period_rbv.write(value)
        return value

    @num_images.putter
    async def num_images(self, instance, value):
        if value < 1:
            raise ValueError("NumImages must be >= 1")
        await self.num_images_rbv.write(value)
        return value

    @image_mode.putter
    async def image_mode(self, instance, value):
        await self.image_mode_rbv.write(value)
        return value

    @array_counter.putter
    async def array_counter(self, instance, value):
        await self.array_counter_rbv.write(value)
        return value

    @acquire.putter
    async def acquire(self, instance, value):
        value = IMAGE_ACQ.index(value) if isinstance(value, str) else int(value)
        if not value:
            self._abort.set()
            return 0
        if self._busy:
            return 1
        self._busy = True
        self._abort.clear()
        try:
            await instance.write(1, verify_value=False)
            await self.acquire_rbv.write(1)
            await self.state.write(1)
            await self.parent.acquire_frames()
        finally:
            self._busy = False
            await self.state.write(0)
            await self.acquire_rbv.write(0)
        return 0


IMAGE_ACQ = ["Done", "Acquire"]


class ImagePlugin(PVGroup):
    """``image1:`` ArrayData (int32, rows*cols, the last frame) ArraySize0_RBV
    (cols) ArraySize1_RBV (rows) ArrayCounter_RBV EnableCallbacks
    NDimensions_RBV."""

    array_data = pvproperty(
        name="ArrayData",
        value=[0, 0],
        dtype=int,
        max_length=2,
        read_only=True,
        doc="The last frame, rows*cols counts (int32)",
    )
    size0 = pvproperty(name="ArraySize0_RBV", value=0, read_only=True, doc="Frame columns")
    size1 = pvproperty(name="ArraySize1_RBV", value=0, read_only=True, doc="Frame rows")
    ndims = pvproperty(name="NDimensions_RBV", value=2, read_only=True, doc="Frame dimensions (2)")
    counter = pvproperty(
        name="ArrayCounter_RBV", value=0, read_only=True, doc="Frames received by the plugin"
    )
    enable = pvproperty(
        name="EnableCallbacks",
        value=1,
        dtype=ChannelType.ENUM,
        enum_strings=["Disable", "Enable"],
        doc="Plugin callbacks enabled",
    )


class AreaDetector(PVGroup):
    """Area detector ``<prefix>cam1:`` + ``<prefix>image1:``.

    Frames: isotropic scattering of the sample model at the current sample
    position (:func:`usaxs_sim.physics.area_detector_expected`) around the
    beam centre from ``usxLAX:USAXS_<geometry>:`` (Distance, BeamCenterX = row,
    BeamCenterY = column as in Nika, PinPixSizeX, I_scaling), wavelength from
    the mono, a beam stop, Poisson noise.  Intensity scales with I0 counts of the exposure.
    """

    cam = SubGroup(Cam, prefix="cam1:")
    image = SubGroup(ImagePlugin, prefix="image1:")

    def __init__(
        self,
        *args,
        shape=(195, 487),
        model_name="Pilatus 100K",
        manufacturer="Dectris",
        geometry="Pin",
        beamstop_radius_px: float = 8.0,
        **kwargs,
    ):
        self.shape = (int(shape[0]), int(shape[1]))
        super().__init__(*args, **kwargs)
        self.model_name = model_name
        self.manufacturer_name = manufacturer
        self.geometry_name = geometry
        self.beamstop_radius_px = beamstop_radius_px
        # size the waveform for this detector
        self.image.array_data._max_length = self.shape[0] * self.shape[1]

    @property
    def top(self):
        return self.parent

    def geometry_values(self):
        """Distance (mm), beam centre (column, row) in pixels, pixel size (mm), K.

        Nika's convention, as in the facility's files: ``BeamCenterX`` (BCX)
        counts along the rows (slow axis) and ``BeamCenterY`` (BCY) along the
        columns (fast axis), so the centre is (column, row) = (BCY, BCX).
        """
        t = self.top.terms
        g = "pin" if self.geometry_name == "Pin" else "waxs"
        return dict(
            distance=float(getattr(t, f"{g}_distance").value),
            center=(float(getattr(t, f"{g}_bcy").value), float(getattr(t, f"{g}_bcx").value)),
            pixel=float(getattr(t, f"{g}_px").value),
            k=float(getattr(t, f"{g}_k").value),
        )

    def expected_frame(self, exposure: float) -> np.ndarray:
        """Expected counts (float, rows x cols) of one exposure, before noise."""
        top = self.top
        g = self.geometry_values()
        i0_counts = top.i0_rate() * exposure
        return physics.area_detector_expected(
            top.sample_model(),
            self.shape,
            g["center"],
            g["pixel"],
            g["distance"],
            top.wavelength,
            i0_counts,
            float(top.i0_amp.gain.value),
            g["k"],
            self.beamstop_radius_px,
        )

    async def acquire_frames(self):
        cam = self.cam
        top = self.top
        n = int(cam.num_images.value)
        if cam.image_mode.value in (0, "Single"):
            n = 1
        loop = asyncio.get_running_loop()
        for i in range(n):
            exposure = float(cam.acquire_time.value)
            wall = exposure * top.time_scale_value
            expected = await loop.run_in_executor(None, self.expected_frame, exposure)
            try:
                await asyncio.wait_for(cam._abort.wait(), timeout=wall)
                return  # aborted
            except TimeoutError:
                pass
            frame = top.rng.poisson(expected).astype(np.int32)
            count = int(cam.array_counter.value) + 1
            await cam.array_counter.write(count, verify_value=False)
            await cam.array_counter_rbv.write(count)
            await cam.num_images_counter.write(i + 1)
            if self.image.enable.value in (1, "Enable"):
                await self.image.array_data.write(frame.ravel())
                await self.image.counter.write(count)
            period = float(cam.acquire_period.value) - exposure
            if i < n - 1 and period > 0:
                await asyncio.sleep(period * top.time_scale_value)

    async def initialize(self):
        """Publish the detector size and identity (called at server startup)."""
        rows, cols = self.shape
        await self.cam.size_x.write(cols)
        await self.cam.size_y.write(rows)
        await self.cam.max_x.write(cols)
        await self.cam.max_y.write(rows)
        await self.cam.manufacturer.write(self.manufacturer_name)
        await self.cam.model.write(self.model_name[:39])
        await self.image.size0.write(cols)
        await self.image.size1.write(rows)
        await self.image.array_data.write(np.zeros(rows * cols, dtype=np.int32))
