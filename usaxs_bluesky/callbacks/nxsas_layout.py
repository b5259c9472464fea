"""NXsas layout of SAXS and WAXS runs (the facility's areaDetector file names).

``/entry/instrument/detector`` (data, distance, pixel sizes, beam centre),
``/entry/instrument/{source,monochromator}``, ``/entry/sample``,
``/entry/control`` (timer mode, preset, integral of I0), ``/entry/data`` and
``/entry/Metadata`` with the names the facility's reduction reads. All of it
links what :class:`~.nexus_file.RunFile` recorded; knows nothing of bluesky.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np

from ..contract.names import (
    AREA_ACQUIRE_TIME,
    AREA_APERTURE,
    AREA_CENTER_X,
    AREA_CENTER_Y,
    AREA_DETECTORS,
    AREA_DISTANCE,
    AREA_GATED,
    AREA_IMAGE,
    AREA_MANUFACTURER,
    AREA_METADATA,
    AREA_MODEL,
    AREA_PIXEL_X,
    AREA_PIXEL_Y,
    AREA_PREFIX,
    AREA_TOTALS,
    AREA_TRANSMISSION,
    AREA_UNIT_NAMES,
    ENERGY,
    PLAN_SAXS,
    PRIMARY,
    PROPOSAL,
    RUN_CYCLE,
    TITLE,
    USER_NAME,
    WAVELENGTH,
)
from .h5stream import set_attrs
from .nexus_file import RunFile, facility_time, facility_value, link

SOURCE_TYPE = "Synchrotron X-ray Source"
PROBE = "x-ray"


class NXsasFile(RunFile):
    """A SAXS or WAXS run (``technique`` "SAXS" / "WAXS") as an NXsas file.

    ``/entry/control/integral`` and ``/entry/Metadata/I0_cts`` are the I0
    counts summed over the frames; ``/entry/control/preset`` is the acquire
    time times the number of frames (the reduction sums 3-D frame stacks).
    """

    technique = PLAN_SAXS
    facility_rank = True

    def _begin(self) -> None:
        self.det = AREA_DETECTORS[self.technique]
        self.frames = 0
        self.totals: dict[str, float] = {}
        put = self.write
        put(self.entry, "definition", "NXsas")
        source = self.group(self.instrument, "source", "NXsource")
        put(source, "type", SOURCE_TYPE)
        put(source, "probe", PROBE)
        put(source, "name", str(self.md.get("facility", "")), source="start document")
        put(source, "facility_name", str(self.md.get("facility", "")), source="start document")
        put(source, "facility_beamline", str(self.md.get("beamline_id", "")))

    def _rows(self, stream: str, data: Mapping[str, Sequence[Any]]) -> None:
        """Count frames and sum the scaler channels over the primary stream."""
        if stream != PRIMARY:
            return
        self.frames += len(next(iter(data.values()), ()))
        for key in AREA_TOTALS.values():
            if key in data:
                total = float(np.sum(np.asarray(data[key], dtype=float)))
                self.totals[key] = self.totals.get(key, 0.0) + total

    def _key(self, pattern: str) -> str:
        return pattern.format(det=self.det, pre=AREA_PREFIX[self.technique])

    def _finish(self) -> None:
        det = self.det
        mono = self.group(self.instrument, "monochromator", "NXmonochromator")
        facility_value(mono, "wavelength", self.value(WAVELENGTH))
        facility_value(mono, "energy", self.value(ENERGY))

        detector = self.group(self.instrument, "detector", "NXdetector", signal="data")
        image = AREA_IMAGE.format(det=det)
        frames = self.column(PRIMARY, image)
        if frames is not None and h5py.check_string_dtype(frames.dtype) is None:
            if frames.ndim == 3 and frames.shape[0] == 1:
                one_frame(detector, "data", frames)
            else:
                link(detector, "data", frames)
        else:  # frames in an external file (the column holds datum ids)
            external = self.external_link(image)
            if external is not None:
                detector["data"] = external
        for name, pattern in (
            ("distance", AREA_DISTANCE),
            ("x_pixel_size", AREA_PIXEL_X),
            ("y_pixel_size", AREA_PIXEL_Y),
            ("beam_center_x", AREA_CENTER_X),
            ("beam_center_y", AREA_CENTER_Y),
        ):
            facility_value(detector, name, self.value(self._key(pattern)))
        for name, pattern in (("local_name", AREA_MODEL), ("description", AREA_MANUFACTURER)):
            facility_value(detector, name, self.value(self._key(pattern)))

        control = self.group(self.entry, "control", "NXmonitor")
        self.write(control, "mode", "timer")
        acquire = self.value(self._key(AREA_ACQUIRE_TIME))
        if acquire is not None:
            preset = float(np.asarray(acquire[()]).ravel()[0]) * max(self.frames, 1)
            self.write(
                control,
                "preset",
                preset,
                units="s",
                long_name=f"acquire time x {self.frames} frame(s)",
                **_origin(acquire),
            )
        i0 = self.column(PRIMARY, "I0")
        if "I0" in self.totals and i0 is not None:
            self.write(
                control,
                "integral",
                self.totals["I0"],
                units="counts",
                long_name=f"I0 summed over {self.frames} frame(s)",
                **_origin(i0),
            )

        data = self.group(self.entry, "data", "NXdata", signal="data")
        target = detector.get("data", getlink=True)
        if isinstance(target, h5py.ExternalLink):
            data["data"] = target
        elif target is not None:
            data["data"] = detector["data"]
        for name, pattern in (
            ("description", AREA_MANUFACTURER),
            ("make", AREA_MANUFACTURER),
            ("model", AREA_MODEL),
            ("local_name", AREA_MODEL),
        ):
            facility_value(data, name, self.value(self._key(pattern)))
        user = self.group(self.entry, "user", "NXuser")
        self.write(user, "name", str(self.md.get(USER_NAME, "")), source="start document")
        facility_value(user, "proposal_number", self.value(PROPOSAL))
        facility_value(self.entry, "GUPNumber", self.value(PROPOSAL))
        aperture = self.group(self.instrument, "aperture", "NXaperture")
        self.write(aperture, "description", "USAXSslit")
        for name, key in AREA_APERTURE.items():
            facility_value(aperture, name, self.value(key))
        facility_value(self.entry, "run_cycle", self.value(RUN_CYCLE))
        self.sample_fields(facility_value)
        self._metadata()

    def _metadata(self) -> None:
        """``/entry/Metadata``: the facility's names, linked; totals over the frames."""
        meta = self.group(self.entry, "Metadata", "NXcollection")
        for name, pattern in AREA_METADATA.items():
            facility_value(meta, self._key(name), self.value(self._key(pattern)))
        for name, key in AREA_TOTALS.items():
            column = self.column(PRIMARY, key)
            if key in self.totals and column is not None:
                self.write(
                    meta,
                    name,
                    self.totals[key],
                    units=column.attrs.get("units", ""),
                    long_name=f"{key} summed over {self.frames} frame(s)",
                    **_origin(column),
                )
        sources = self.md.get("transmission_sources") or {}
        for name in AREA_TRANSMISSION:
            if name not in meta and self.md.get(name) is not None:
                self.write(
                    meta,
                    name,
                    float(self.md[name]),
                    units="s" if name.endswith("Time") else "",
                    epics_pv=sources.get(name, ""),
                    source="start document: transmission measured before the exposure",
                )
        for name, gated in AREA_GATED.items():
            if name in meta:
                link(meta, gated, meta[name])
        pre = AREA_PREFIX[self.technique]
        for axis in ("x", "y"):  # beam centre in mm: pixel times pixel size
            pixel = meta.get(f"{pre}_center_{axis}_pixel")
            size = meta.get(f"{pre}_pixel_size_{axis}")
            if pixel is not None and size is not None:
                self.write(
                    meta,
                    f"{pre}_center_{axis}",
                    float(pixel[0]) * float(size[0]),
                    units="mm",
                    source=f"derived: {pre}_center_{axis}_pixel x {pre}_pixel_size_{axis}",
                )
        self.write(
            meta,
            "StartTime",
            facility_time(float(self.md["time"])),
            source="start document: time",
        )
        self.write(meta, "SampleTitle", str(self.md.get(TITLE, "")), source="start document")
        for name, value_name in AREA_UNIT_NAMES.items():
            if value_name in meta:
                units = str(meta[value_name].attrs.get("units", ""))
                self.write(meta, name, units, source=f"derived: units of {value_name}")
        self.write(meta, "UserName", str(self.md.get(USER_NAME, "")), source="start document")
        for name in ("x", "y"):
            facility_value(self.sample, f"sample_{name}", self.value(f"s_stage_{name}"))


class WAXSFile(NXsasFile):
    """A WAXS run as an NXsas file (Eiger names)."""

    technique = "WAXS"


def one_frame(group: h5py.Group, name: str, frames: h5py.Dataset) -> None:
    """Write ``group/name``: the single frame of a (1, rows, columns) column, as a 2-D view.

    A virtual dataset onto the column (no copy), so ``/entry/data/data`` is 2-D
    as in the facility's areaDetector files; marked with ``@target`` like a link.
    """
    layout = h5py.VirtualLayout(shape=frames.shape[1:], dtype=frames.dtype)
    layout[...] = h5py.VirtualSource(".", frames.name, shape=frames.shape)[0]
    view = group.create_virtual_dataset(name, layout)
    attrs = {k: v for k, v in frames.attrs.items() if k != "target"}
    set_attrs(view, view_of=f"{frames.name}[0]", **attrs)
    set_attrs(view, target=view.name)  # the NeXus link mark: /entry/data/data links here


def _origin(dataset: h5py.Dataset) -> dict[str, Any]:
    """Return the source attributes (``epics_pv`` / ``ophyd_name`` / ``source``) of a dataset."""
    return {k: dataset.attrs[k] for k in ("epics_pv", "ophyd_name", "source") if k in dataset.attrs}
