"""Area detectors (SAXS Pilatus, WAXS Eiger) read through the image plugin, with their geometry."""

from typing import Any

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO
from ophyd import FormattedComponent as FCpt
from ophyd.status import Status


class Cam(Device):
    """The detector driver (``cam1:``): exposure settings and the acquire command."""

    acquire = Cpt(EpicsSignal, "Acquire", put_complete=True, kind="omitted")
    acquire_time = Cpt(EpicsSignal, "AcquireTime", kind="config")
    acquire_period = Cpt(EpicsSignal, "AcquirePeriod", kind="config")
    num_images = Cpt(EpicsSignal, "NumImages", kind="config")
    array_counter = Cpt(EpicsSignalRO, "ArrayCounter_RBV", kind="normal")
    size_x = Cpt(EpicsSignalRO, "ArraySizeX_RBV", kind="config")
    size_y = Cpt(EpicsSignalRO, "ArraySizeY_RBV", kind="config")
    model = Cpt(EpicsSignalRO, "Model_RBV", string=True, kind="config")
    manufacturer = Cpt(EpicsSignalRO, "Manufacturer_RBV", string=True, kind="config")


class ImageSignal(EpicsSignalRO):
    """The image plugin's flat ``ArrayData`` waveform, reshaped to (rows, columns) of ``cam``."""

    def _frame_shape(self) -> tuple[int, int]:
        cam = self.parent.cam
        return int(cam.size_y.get()), int(cam.size_x.get())

    def get(self, **kwargs: Any) -> np.ndarray:
        rows, cols = self._frame_shape()
        flat = np.asarray(super().get(**kwargs))
        return flat[: rows * cols].reshape(rows, cols)

    def describe(self) -> dict:
        desc = super().describe()
        desc[self.name]["shape"] = list(self._frame_shape())
        desc[self.name]["dtype"] = "array"
        desc[self.name]["dtype_numpy"] = "<i4"
        return desc


class Geometry(Device):
    """Fixed geometry: distance (mm), pixel size (mm), beam centre (pixels), tilts (deg).

    ``i_scaling`` is the absolute calibration constant of the camera.
    """

    distance = Cpt(EpicsSignal, "Distance", kind="config")
    pixel_size_x = Cpt(EpicsSignal, "PinPixSizeX", kind="config")
    pixel_size_y = Cpt(EpicsSignal, "PinPixSizeY", kind="config")
    beam_center_x = Cpt(EpicsSignal, "BeamCenterX", kind="config")
    beam_center_y = Cpt(EpicsSignal, "BeamCenterY", kind="config")
    i_scaling = Cpt(EpicsSignal, "I_scaling", kind="config")
    tilt_x = Cpt(EpicsSignal, "TiltX", kind="config")
    tilt_y = Cpt(EpicsSignal, "TiltY", kind="config")


class AreaDetector(Device):
    """A camera whose ``trigger()`` acquires ``cam.num_images`` frames; ``image`` is the last.

    Reading gives the frame (2-D, int32) and the frame counter; configuration
    carries exposure settings and the geometry, so writers need no devices.
    """

    cam = Cpt(Cam, "cam1:")
    image = Cpt(ImageSignal, "image1:ArrayData", kind="normal")
    geometry = FCpt(Geometry, "{self._geometry_prefix}", kind="config")

    def __init__(self, prefix: str, *, geometry_prefix: str, **kwargs: Any) -> None:
        self._geometry_prefix = geometry_prefix
        super().__init__(prefix, **kwargs)

    def trigger(self) -> Status:
        """Acquire; the status completes when the driver's put-completion returns."""
        return self.cam.acquire.set(1)

    def stop(self, *, success: bool = False) -> None:
        """Stop acquiring (``Acquire`` = 0); harmless when idle."""
        self.cam.acquire.put(0)
