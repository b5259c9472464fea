"""USAXS raw-file layouts of the facility: fly scans (``/entry/flyScan``) and step scans.

Fly scans: ``/entry/flyScan`` (mca1 clock, mca2 I0, mca3 UPD, AR_PulsePositions,
``changes_DDPCA300_*`` range records, scan scalars) and ``/entry/metadata``
(instrument terms, amplifier gains / backgrounds / mask times) as the
facility's fly-scan saver names them. Step scans (uascan): ``/entry/data``
columns and ``/entry/instrument/bluesky/streams/baseline/<name>/value_start``
as the facility's bluesky files name them. Everything links what
:class:`~.nexus_file.RunFile` recorded; knows nothing of bluesky.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..contract.names import (
    BASELINE,
    BEAM_CURRENT,
    ENERGY,
    FLY_ALIASES,
    FLY_AMPLIFIER_CODE,
    FLY_CLOCK,
    FLY_COLUMNS,
    FLY_METADATA,
    FLY_SCALARS,
    FLY_UPD,
    I0_GAIN,
    PLAN_NAME,
    PRIMARY,
    RANGES,
    RUN_CYCLE,
    SCALER_FREQ,
    SCALER_TIME,
    STEP_AR,
    STEP_BASELINE,
    STEP_COLUMNS,
    STEP_I0_GAIN_COLUMN,
    STEP_SECONDS_COLUMN,
    STEP_SLITS,
    STEP_UPD,
    STEP_UPD_GAIN_COLUMN,
    STEP_UPD_RANGE_COLUMN,
    UPD_GAIN,
    UPD_GAIN_AFTER,
    WAVELENGTH,
)
from .h5stream import ColumnWriter
from .nexus_file import (
    RunFile,
    facility_number,
    facility_time,
    facility_value,
    link,
    write_value,
)


class UsaxsFile(RunFile):
    """What both USAXS layouts share: ``/entry/metadata``, monochromator and source groups.

    With ``facility_rank`` (fly scans) the scalars are (1,) copies, the fly-scan
    saver's rank, rather than links to the rank-0 bluesky values (step scans).
    """

    def _put(self, group: Any, name: str, target: Any) -> bool:
        """Link ``target`` as ``group/name``, or copy it with shape (1,) (``facility_rank``)."""
        return (facility_value if self.facility_rank else link)(group, name, target)

    def _common(self) -> None:
        meta = self.group(self.entry, "metadata", "NXcollection")
        for name, key in FLY_METADATA.items():
            self._put(meta, name, self.value(key))
        stamp = facility_time(float(self.md["time"]))
        self.write(meta, "timeStamp", stamp, units="", source="start document: time")
        for name in ("x", "y"):
            self._put(self.sample, f"sample_{name}", self.value(f"s_stage_{name}"))
        self.sample_fields(self._put)
        self._put(self.entry, "run_cycle", self.value(RUN_CYCLE))
        mono = self.group(self.instrument, "monochromator", "NXmonochromator")
        self._put(mono, "wavelength", self.value(WAVELENGTH))
        self._put(mono, "energy", self.value(ENERGY))
        source = self.group(self.instrument, "source", "NXsource")
        self.write(source, "type", "Synchrotron X-ray Source")
        self.write(source, "probe", "x-ray")
        self.write(source, "name", str(self.md.get("facility", "")), source="start document")
        self._put(source, "current", self.value(BEAM_CURRENT))
        self._put(source, "cycle", self.value(RUN_CYCLE))


class FlyScanFile(UsaxsFile):
    """A USAXS fly scan in the layout of the facility's fly-scan saver."""

    default_data = "flyScan"
    facility_rank = True

    def _column(self, key: str) -> Any:
        for stream in self.streams.values():
            if key in stream.data_keys:
                return stream.group.get(key)
        return None

    def _finish(self) -> None:
        fly = self.group(self.entry, "flyScan", "NXdata", signal="mca3")
        for name, key in FLY_COLUMNS.items():
            link(fly, name, self._column(key))
        for name, key in FLY_SCALARS.items():
            self._put(fly, name, self.value(key))
        for name, other in FLY_ALIASES.items():
            if other in fly and name not in fly:
                fly[name] = fly[other]
        clock = self._column(FLY_CLOCK)
        if clock is not None:
            facility_number(
                fly, "mca_channels", len(clock), units="", source="derived: channels of mca1"
            )
        facility_number(
            fly,
            "upd_flyScan_amplifier",
            FLY_AMPLIFIER_CODE,
            units="",
            source="fixed: the UPD amplifier of the fly scan is a DDPCA300 (code 1)",
        )
        if "mca3" in fly:
            fly["mca3"].attrs["USAXS_name"] = "upd"
            fly["mca3"].attrs["data_key"] = FLY_UPD
        self._common()


class StepScanFile(UsaxsFile):
    """A USAXS step scan (uascan) in the layout of the facility's bluesky files.

    Derived per-point columns, as the facility records them:
    ``upd_autorange_controls_gain`` and ``upd_autorange_controls_reqrange``
    are the UPD gain read after the count (``upd_autorange_gain``) and its
    range, i.e. after the autorange reacted to the point's count (the count
    itself was taken in the previous point's range; ``upd_autorange_lurange``
    keeps the range of the count); ``I0_autorange_controls_gain`` is the I0
    amplifier gain, constant.
    """

    def _begin(self) -> None:
        self.data = self.group(self.entry, "data", "NXdata", signal=STEP_UPD, axes=[STEP_AR])
        self.derived = ColumnWriter(self.data)

    def _rows(self, stream: str, data: Mapping[str, Sequence[Any]]) -> None:
        """Write the derived gain columns of a block of primary rows."""
        if stream != PRIMARY or UPD_GAIN_AFTER not in data:
            return
        gains = [self.value(UPD_GAIN.format(r=r)) for r in RANGES]
        i0_gain = self.value(I0_GAIN)
        if any(g is None for g in gains) or i0_gain is None:
            return  # the reading code then names the missing baseline value
        table = np.array([float(g[()]) for g in gains])
        after = np.asarray(data[UPD_GAIN_AFTER], dtype=float)
        ranges = np.argmin(np.abs(np.log(np.maximum(after[:, None], 1e-300) / table)), axis=1)
        if not self.derived.columns:
            self._describe_derived(gains[0].attrs, i0_gain.attrs)
        block = {
            STEP_UPD_GAIN_COLUMN: after,
            STEP_UPD_RANGE_COLUMN: ranges,
            STEP_I0_GAIN_COLUMN: np.full(len(ranges), float(i0_gain[()])),
        }
        freq = self.value(SCALER_FREQ)
        if SCALER_TIME in data and freq is not None:
            ticks = np.asarray(data[SCALER_TIME], dtype=float) * float(freq[()])
            block[STEP_SECONDS_COLUMN] = np.round(ticks)
        if len(ranges) == 1:
            self.derived.append({k: v[0] for k, v in block.items()})
        else:
            self.derived.extend(block)

    def _describe_derived(self, upd_attrs: Any, i0_attrs: Any) -> None:
        self.derived.set_attrs(
            STEP_UPD_GAIN_COLUMN,
            units="V/A",
            ophyd_name=UPD_GAIN_AFTER,
            source=f"{UPD_GAIN_AFTER}: read after the count, once the autorange reacted to it",
        )
        self.derived.set_attrs(
            STEP_UPD_RANGE_COLUMN,
            units="",
            ophyd_name=UPD_GAIN_AFTER,
            source=f"derived: range r whose {UPD_GAIN.format(r='r')} is {UPD_GAIN_AFTER}",
        )
        self.derived.set_attrs(
            STEP_I0_GAIN_COLUMN,
            units="V/A",
            ophyd_name=I0_GAIN,
            source=f"derived: {I0_GAIN} at every point",
            **({"epics_pv": i0_attrs["epics_pv"]} if "epics_pv" in i0_attrs else {}),
        )
        self.derived.set_attrs(
            STEP_SECONDS_COLUMN,
            units="",
            long_name="counting time in ticks of the scaler clock",
            ophyd_name=SCALER_TIME,
            source=f"derived: {SCALER_TIME} x {SCALER_FREQ}",
        )

    def _finish(self) -> None:
        self.derived.close()
        for name, key in STEP_COLUMNS.items():
            link(self.data, name, self.column(PRIMARY, key))
        baseline = self.stream_group.require_group(BASELINE)
        for name, key in STEP_BASELINE.items():
            dataset = self.value(key)
            if dataset is None or name in baseline:
                continue
            if dataset.parent.parent == baseline:  # a baseline reading: the whole group
                baseline[name] = dataset.parent
            else:  # a configuration value: read once, the same before and after the run
                group = self.group(baseline, name, "NXcollection")
                link(group, "value_start", dataset)
                link(group, "value_end", dataset)
                facility_value(group, "value", dataset)
        slits = self.group(self.instrument, "slits", "NXnote")
        for slit, names in STEP_SLITS.items():
            group = self.group(slits, slit, "NXslit")
            for name, key in names.items():
                link(group, name, self.value(key))
        write_value(self.bluesky, PLAN_NAME, str(self.md.get(PLAN_NAME, "")))
        write_value(self.bluesky, "uid", str(self.md["uid"]), long_name="bluesky run uid")
        self._common()
