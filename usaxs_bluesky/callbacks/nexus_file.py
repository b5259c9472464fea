"""One run's NeXus file, written as the run goes; the h5py side of the writers.

Knows nothing of bluesky: it is fed plain values (the run's start metadata,
the data keys and configuration of each stream, blocks of rows, external
resources, the final metadata) by ``nexus_writer``. The layouts of the
facility (``nxsas_layout``, ``usaxs_layout``) subclass :class:`RunFile` and
add their groups as hard links to what this class records, so every value is
stored once and keeps its ``@units`` and its source (``@epics_pv`` or
``@ophyd_name``). Layout of the common part: docs/files.md.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np
from h5py import h5d, h5o, h5s, h5t

from .. import __version__
from ..contract.names import (
    BASELINE,
    PLAN_NAME,
    SAMPLE_FIELDS,
    THICKNESS_MM,
    TITLE,
    UNITS_FALLBACK,
    UNITS_RENAME,
)
from .h5stream import LCPL, ColumnWriter, set_attrs

STRING = h5py.string_dtype("utf-8")
BLUESKY = "instrument/bluesky"
HDF5_SPECS = ("AD_HDF5", "application/x-hdf5")
DESCRIPTOR_ATTR = "descriptor_document"
"""Attribute of each stream group: the stream's descriptor document as JSON (for reindex)."""
REQUESTED = "requested_metadata"
"""Start key and ``/entry`` group of the requested metadata (docs/metadata.md)."""
LOCAL_SOURCES = ("fixed", "per_sample")


def iso_time(epoch: float) -> str:
    """Return the local ISO 8601 time (with offset) of a POSIX time stamp."""
    return datetime.datetime.fromtimestamp(epoch).astimezone().isoformat()


def facility_time(epoch: float) -> str:
    """Return the local time of a POSIX time stamp as the facility writes it.

    Example: ``2025-02-21 15:05:27.924776`` (``/entry/metadata/timeStamp``, ``Metadata/StartTime``).
    """
    return datetime.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S.%f")


def to_json(value: Any) -> str:
    """Return ``value`` as JSON text (numpy values as numbers or lists)."""

    def default(obj: Any) -> Any:
        if isinstance(obj, np.generic | np.ndarray):
            return obj.tolist()
        return str(obj)

    return json.dumps(value, default=default, sort_keys=True)


def hdf5_name(key: str) -> str:
    """Return ``key`` usable as one HDF5 link name (no ``/``, not ``.`` or empty)."""
    name = str(key).replace("/", "_")
    return name if name not in ("", ".") else f"_{name}"


def origin_attrs(key: str, source: str | None) -> dict[str, str]:
    """Return where a value came from: ``epics_pv`` for ``PV:...`` sources, else ``ophyd_name``."""
    if source and source.startswith("PV:"):
        return {"epics_pv": source[3:]}
    attrs = {"ophyd_name": key}
    if source:
        attrs["source"] = source
    return attrs


def units_of(key: str, data_key: Mapping[str, Any]) -> str:
    """Return the units of a data key, from its descriptor or ``keys.UNITS_FALLBACK``."""
    units = data_key.get("units") or UNITS_FALLBACK.get(key, "")
    return UNITS_RENAME.get(units, units)


_SCALAR = h5s.create(h5s.SCALAR)


def _text_type(size: int) -> h5t.TypeID:
    """Return a fixed-length (``size`` bytes) NUL-padded UTF-8 string type."""
    tid = h5t.C_S1.copy()
    tid.set_size(size)
    tid.set_cset(h5t.CSET_UTF8)
    tid.set_strpad(h5t.STR_NULLPAD)
    return tid


def _new_dataset(group: h5py.Group, name: str, value: str | np.ndarray) -> h5py.Dataset:
    """Create and write a dataset of text (fixed-length UTF-8) or a numeric array.

    Low-level calls: about a third of the cost of ``create_dataset(data=...)``.
    """
    if isinstance(value, str):
        raw = value.encode("utf-8")
        size = max(len(raw), 1)
        ftype = mtype = _text_type(size)
        data = np.array(raw, dtype=f"S{size}")
    else:
        ftype, mtype, data = h5t.py_create(value.dtype, logical=True), None, value
    space = _SCALAR if data.ndim == 0 else h5s.create_simple(data.shape)
    dsid = h5d.create(group.id, name.encode("utf-8"), ftype, space, lcpl=LCPL)
    if data.size:
        dsid.write(h5s.ALL, h5s.ALL, data, mtype=mtype)
    return h5py.Dataset(dsid)


def new_group(parent: h5py.Group, name: str, nx_class: str, **attrs: Any) -> h5py.Group:
    """Create ``parent/name`` with ``@NX_class`` and ``attrs``."""
    group = h5py.Group(h5py.h5g.create(parent.id, name.encode("utf-8"), lcpl=LCPL))
    set_attrs(group, NX_class=nx_class, **attrs)
    return group


def write_value(group: h5py.Group, name: str, value: Any, **attrs: Any) -> h5py.Dataset:
    """Write one value: strings as UTF-8, lists/dicts as JSON text (``@text_format``).

    HDF5 strings cannot hold NUL characters: they are written as U+FFFD.
    """
    if isinstance(value, dict | list | tuple) and not _is_numeric_list(value):
        value, attrs = to_json(value), {**attrs, "text_format": "json"}
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if value is None:
        value, attrs = "", {**attrs, "value_is_none": True}
    if isinstance(value, str | np.str_) and "\x00" in value:
        value = str(value).replace("\x00", "\ufffd")
        attrs = {**attrs, "text_note": "NUL written as U+FFFD; exact text in the start document"}
    if isinstance(value, str | np.str_):
        dataset = _new_dataset(group, name, str(value))
    else:
        array = np.asarray(value)
        if array.dtype.kind in "biuf":
            dataset = _new_dataset(group, name, array)
        else:
            dataset = group.create_dataset(name, data=array)
    set_attrs(dataset, **attrs)
    return dataset


def _is_numeric_list(value: Any) -> bool:
    """Return True for a non-empty (nested) list of numbers that makes a regular array."""
    if not isinstance(value, list | tuple) or not value:
        return False
    try:
        array = np.asarray(value)
    except ValueError:
        return False
    return array.dtype.kind in "biuf"


def link(group: h5py.Group, name: str, target: h5py.HLObject | None) -> bool:
    """Hard-link ``target`` as ``group/name`` (if both exist and the name is free).

    The target's first path is kept in its ``@target`` attribute (the NeXus link mark).
    """
    if target is None or name in group:
        return False
    if "target" not in target.attrs:
        set_attrs(target, target=target.name)
    h5o.link(target.id, group.id, name.encode("utf-8"), lcpl=LCPL)
    return True


def facility_value(group: h5py.Group, name: str, target: h5py.Dataset | None) -> bool:
    """Write a scalar ``target`` as ``group/name`` of shape (1,), as the facility's savers do.

    The copy keeps the target's ``@units`` and source attributes and names the
    dataset it copies in ``@copy_of``; anything that is not a scalar is
    hard-linked (:func:`link`). Returns False if ``target`` is None or the name is taken.
    """
    if target is None or name in group:
        return False
    if target.shape != ():
        return link(group, name, target)
    value = target[()]
    if isinstance(value, bytes):
        dataset = group.create_dataset(name, data=np.array([value], dtype=f"S{max(len(value), 1)}"))
    else:
        dataset = _new_dataset(group, name, np.asarray([value]))
    attrs = {k: v for k, v in target.attrs.items() if k not in ("target", "copy_of")}
    set_attrs(dataset, copy_of=target.name, **attrs)
    return True


def facility_text(group: h5py.Group, name: str, text: str, **attrs: Any) -> h5py.Dataset:
    """Write ``text`` as a (1,) fixed-length byte string, as the facility's savers do."""
    raw = text.encode("utf-8")
    dataset = group.create_dataset(name, data=np.array([raw], dtype=f"S{max(len(raw), 1)}"))
    set_attrs(dataset, **attrs)
    return dataset


def facility_number(group: h5py.Group, name: str, value: float | int, **attrs: Any) -> h5py.Dataset:
    """Write a number as a (1,) array, as the facility's savers do."""
    dataset = _new_dataset(group, name, np.asarray([value]))
    set_attrs(dataset, **attrs)
    return dataset


class _Stream:
    """The columns of one event stream: ``bluesky/streams/<name>/<key>`` and ``time``."""

    def __init__(self, group: h5py.Group, data_keys: Mapping[str, Mapping[str, Any]]) -> None:
        self.group = group
        self.data_keys = dict(data_keys)
        self.columns = ColumnWriter(group)
        for key, info in self.data_keys.items():
            attrs = {"units": units_of(key, info), **origin_attrs(key, info.get("source"))}
            if info.get("external"):
                attrs["external"] = str(info["external"])
            self.columns.set_attrs(hdf5_name(key), **attrs)
        self.columns.set_attrs(
            "time", units="s", long_name="event time (POSIX)", source="bluesky event time"
        )
        self.dtypes = {
            key: np.dtype(info["dtype_numpy"])
            for key, info in self.data_keys.items()
            if info.get("dtype_numpy") and not info.get("external")
        }

    def add(self, data: Mapping[str, Sequence[Any]], times: Sequence[float]) -> None:
        """Write a block of rows (as the descriptor's ``dtype_numpy``); a single row is buffered."""
        unknown = sorted(set(data) - set(self.data_keys))
        if unknown:
            raise ValueError(f"stream {self.group.name}: data keys {unknown} not in the descriptor")
        one = len(times) == 1
        block = {}
        for key, values in data.items():
            value = values[0] if one else values
            dtype = self.dtypes.get(key)
            block[hdf5_name(key)] = value if dtype is None else np.asarray(value, dtype=dtype)
        if one:
            self.columns.append({**block, "time": times[0]})
        else:
            self.columns.extend({**block, "time": times})


def _key_shape(info: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    return info.get("dtype"), tuple(info.get("shape") or ()), info.get("source")


def _check_same_keys(
    name: str, first: Mapping[str, Mapping[str, Any]], again: Mapping[str, Mapping[str, Any]]
) -> None:
    """Raise ValueError naming the differences unless a repeated descriptor has ``first``'s keys."""
    added, missing = sorted(set(again) - set(first)), sorted(set(first) - set(again))
    changed = sorted(
        k for k in set(first) & set(again) if _key_shape(first[k]) != _key_shape(again[k])
    )
    if added or missing or changed:
        raise ValueError(
            f"a second {name!r} stream in one run with other data keys "
            f"(added {added}, missing {missing}, changed dtype/shape/source {changed})"
        )


class _Baseline:
    """Readings taken before and after the run: ``<key>/value_start`` and ``<key>/value_end``."""

    def __init__(self, group: h5py.Group, data_keys: Mapping[str, Mapping[str, Any]]) -> None:
        self.group = group
        self.data_keys = dict(data_keys)
        self.readings = 0

    def add(self, data: Mapping[str, Any]) -> dict[str, h5py.Dataset]:
        """Record one baseline reading; return the datasets created by the first one."""
        which = "value_start" if self.readings == 0 else "value_end"
        self.readings += 1
        created = {}
        for key, value in data.items():
            info = self.data_keys.get(key)
            if info is None:
                raise ValueError(f"baseline data key {key!r} not in the descriptor")
            name = hdf5_name(key)
            sub = self.group.get(name) or new_group(self.group, name, "NXcollection")
            if which in sub:
                del sub[which]
            attrs = {"units": units_of(key, info), **origin_attrs(key, info.get("source"))}
            created[key] = write_value(sub, which, value, **attrs)
        return created if which == "value_start" else {}

    def close(self) -> None:
        """Add ``<key>/value``: the readings before and after the run in one array (apstools)."""
        for sub in self.group.values():
            readings = [sub[k] for k in ("value_start", "value_end") if k in sub]
            if "value" in sub or not readings or readings[0].shape != ():
                continue
            values = [r[()] for r in readings]
            if isinstance(values[0], bytes):
                size = max(1, *(len(v) for v in values))
                dataset = sub.create_dataset("value", data=np.array(values, dtype=f"S{size}"))
            else:
                dataset = _new_dataset(sub, "value", np.asarray(values))
            attrs = {k: v for k, v in readings[0].attrs.items() if k != "target"}
            set_attrs(dataset, long_name="readings before and after the run", **attrs)


class RunFile:
    """A run's NeXus file: entry, sample, run metadata, streams, instrument state, external data.

    ``metadata`` is the run's start metadata (needs ``uid`` and ``time``).
    Subclasses add a facility layout in :meth:`_begin`, :meth:`_rows` and
    :meth:`_finish`. ``values`` maps every baseline and configuration key seen
    to its dataset (baseline ``value_start`` or configuration value), for the
    layouts to link.
    """

    default_data = "data"
    #: True: the facility-facing scalars (title, sample, layout groups) have shape (1,), as the
    #: facility's fly-scan and areaDetector savers write them; False: rank 0 (apstools' files)
    facility_rank = False

    def __init__(self, h5: h5py.File, metadata: Mapping[str, Any], final_path: str) -> None:
        self.h5 = h5
        self.md = dict(metadata)
        self.values: dict[str, h5py.Dataset] = {}
        self.streams: dict[str, _Stream] = {}
        self._stream_names: dict[str, str] = {}
        self._baseline: _Baseline | None = None
        self._baseline_uid: str | None = None
        self._baseline_values: set[str] = set()
        self._stream_of_name: dict[str, _Stream] = {}
        self._external: dict[str, h5py.Group] = {}
        self._datums: dict[str, ColumnWriter] = {}
        self.closed = False
        set_attrs(
            h5,
            NX_class="NXroot",
            default="entry",
            file_name=final_path,
            file_time=iso_time(self.md["time"]),
            creator=f"usaxs_bluesky {__version__}",
            h5py_version=h5py.version.version,
            HDF5_Version=h5py.version.hdf5_version,
        )
        self.entry = entry = new_group(h5, "entry", "NXentry")
        put = self.write
        put(entry, "title", str(self.md.get(TITLE, "")), source="start document: title")
        put(entry, "start_time", iso_time(self.md["time"]))
        write_value(entry, "entry_identifier", self.md["uid"], long_name="bluesky run uid")
        if "scan_id" in self.md:
            write_value(entry, "scan_id", self.md["scan_id"])
        write_value(entry, PLAN_NAME, str(self.md.get(PLAN_NAME, "")))
        put(entry, "program_name", "usaxs_bluesky", version=__version__)
        self.instrument = new_group(entry, "instrument", "NXinstrument")
        put(self.instrument, "name", str(self.md.get("instrument_name", "")))
        self.bluesky = new_group(self.instrument, "bluesky", "NXnote")
        write_value(self.bluesky, "file_path", final_path)
        write_value(self.bluesky, "start_document", to_json(self.md), text_format="json")
        meta = new_group(self.bluesky, "metadata", "NXnote")
        for key, value in self.md.items():
            write_value(meta, hdf5_name(key), value, key=str(key))
        self.stream_group = new_group(self.bluesky, "streams", "NXnote")
        self.config_group = new_group(self.bluesky, "configuration", "NXnote")
        self.sample = new_group(entry, "sample", "NXsample")
        put(self.sample, "name", str(self.md.get(TITLE, "")), source="start document: title")
        if self.md.get(THICKNESS_MM) is not None:
            put(
                self.sample,
                "thickness",
                float(self.md[THICKNESS_MM]),
                units="mm",
                source=f"start document: {THICKNESS_MM}",
            )
        self._requested_metadata(self.md.get(REQUESTED))
        self._begin()

    # ----------------------------------------------------------------- fed by the router
    def add_stream(
        self,
        uid: str,
        name: str,
        data_keys: Mapping[str, Mapping[str, Any]],
        configuration: Mapping[str, Mapping[str, Any]],
        descriptor: Mapping[str, Any] | None = None,
    ) -> None:
        """Start a stream (``uid`` of its descriptor) and record its configuration.

        ``descriptor`` (the whole document) is kept as JSON in the stream group's
        ``@descriptor_document``, so the stream can be rebuilt from the file.
        """
        self._check_open()
        if uid in self._stream_names:
            raise ValueError(f"stream descriptor {uid} given twice")
        for obj, conf in configuration.items():
            self._add_configuration(obj, conf.get("data", {}), conf.get("data_keys", {}))
        self._stream_names[uid] = name
        if name == BASELINE:
            if self._baseline is not None:
                # a suspension that rewound the run replays the baseline reading
                _check_same_keys(name, self._baseline.data_keys, data_keys)
                self._baseline.readings = 0
            else:
                group = self.stream_group.create_group(BASELINE)
                self._baseline = _Baseline(group, data_keys)
            self._baseline_uid = uid
            group = self._baseline.group
        elif (again := self._stream_of_name.get(name)) is not None:
            # the same stream described again (a replay): one group
            _check_same_keys(name, again.data_keys, data_keys)
            self.streams[uid] = again
            group = again.group
        else:
            if hdf5_name(name) in self.stream_group:
                raise ValueError(f"a second descriptor for stream {name!r}")
            group = new_group(self.stream_group, hdf5_name(name), "NXcollection")
            self.streams[uid] = self._stream_of_name[name] = _Stream(group, data_keys)
        if descriptor is not None:
            set_attrs(group, **{DESCRIPTOR_ATTR: to_json(descriptor)})

    def add_rows(self, uid: str, data: Mapping[str, Sequence[Any]], times: Sequence[float]) -> None:
        """Append a block of rows (``data``: key -> values, one per row) to stream ``uid``."""
        self._check_open()
        if uid not in self._stream_names:
            raise ValueError(f"event(s) for descriptor {uid} that was never given")
        if uid == self._baseline_uid and self._baseline is not None:
            for row in range(len(times)):
                created = self._baseline.add({k: v[row] for k, v in data.items()})
                for key, dataset in created.items():
                    # a replayed start reading replaces the one its datasets replaced
                    if key in self._baseline_values or key not in self.values:
                        self.values[key] = dataset
                        self._baseline_values.add(key)
            return
        self.streams[uid].add(data, times)
        self._rows(self._stream_names[uid], data)

    def add_resource(self, uid: str, spec: str, path: str, parameters: Mapping[str, Any]) -> None:
        """Record an external resource; HDF5 ones get an ``h5py.ExternalLink`` named ``data``."""
        self._check_open()
        external = self.bluesky.require_group("external")
        external.attrs["NX_class"] = "NXnote"
        group = new_group(external, hdf5_name(uid), "NXnote")
        write_value(group, "spec", spec)
        write_value(group, "path", path)
        write_value(group, "parameters", to_json(parameters), text_format="json")
        if spec in HDF5_SPECS:
            dataset = parameters.get("dataset") or parameters.get("path") or "/entry/data/data"
            group["data"] = h5py.ExternalLink(path, str(dataset))
        self._external[uid] = group

    def add_datum(self, resource: str, row: Mapping[str, Any]) -> None:
        """Record one datum (``datum_id``/``datum_kwargs`` or stream indices) of ``resource``."""
        self._check_open()
        if resource not in self._external:
            raise ValueError(f"datum for resource {resource} that was never given")
        writer = self._datums.get(resource)
        if writer is None:
            writer = self._datums[resource] = ColumnWriter(self._external[resource])
        writer.append(row)

    def external_link(self, data_key: str | None = None) -> h5py.ExternalLink | None:
        """Return the external link of the (first, or ``data_key``'s) HDF5 resource, if any."""
        for group in self._external.values():
            key = group.attrs.get("data_key")
            if "data" in group and (data_key is None or key in (None, data_key)):
                return group.get("data", getlink=True)
        return None

    def close(self, stop: Mapping[str, Any] | None) -> None:
        """Flush, add the layout's links, the stop document and exit status; close the file."""
        self._check_open()
        try:
            for stream in self.streams.values():
                stream.columns.close()
            for writer in self._datums.values():
                writer.close()
            if self._baseline is not None:
                self._baseline.close()
            if stop is not None:
                self._stopped(stop)
            self._finish()
            self._default_chain()
        finally:
            self.closed = True
            self.h5.close()

    # ---------------------------------------------------------------- for the layouts
    def value(self, key: str) -> h5py.Dataset | None:
        """Return the dataset of a baseline/configuration key, None if the run lacks it."""
        return self.values.get(key)

    def column(self, stream: str, key: str) -> h5py.Dataset | None:
        """Return the dataset of a stream column, None if the run lacks it."""
        for uid, stream_obj in self.streams.items():
            if self._stream_names[uid] == stream:
                return stream_obj.group.get(hdf5_name(key))
        return None

    def group(self, parent: h5py.Group, name: str, nx_class: str, **attrs: Any) -> h5py.Group:
        """Return (creating) ``parent/name`` with ``@NX_class`` and ``attrs``."""
        group = parent.get(name)
        if group is None:
            return new_group(parent, name, nx_class, **attrs)
        set_attrs(group, NX_class=nx_class, **attrs)
        return group

    def write(self, group: h5py.Group, name: str, value: Any, **attrs: Any) -> h5py.Dataset:
        """Write a text or number in this layout's rank (``facility_rank``), else as write_value."""
        if not self.facility_rank or not isinstance(value, str | int | float):
            return write_value(group, name, value, **attrs)
        if {"source", "epics_pv", "ophyd_name"} & attrs.keys():  # a metadata value: say its units
            attrs.setdefault("units", "")
        if isinstance(value, str):
            if "\x00" in value:
                value = value.replace("\x00", "\ufffd")
                attrs["text_note"] = "NUL written as U+FFFD; exact text in the start document"
            return facility_text(group, name, value, **attrs)
        return facility_number(group, name, value, **attrs)

    def sample_fields(self, put: Any) -> None:
        """Add the facility's ``/entry/sample`` fields with ``put(group, name, dataset)``."""
        for name, key in SAMPLE_FIELDS.items():
            put(self.sample, name, self.value(key))

    def _begin(self) -> None:
        """Layout hook: called once the common part exists."""

    def _rows(self, stream: str, data: Mapping[str, Sequence[Any]]) -> None:
        """Layout hook: a block of rows of ``stream`` was written."""

    def _finish(self) -> None:
        """Layout hook: add the facility groups (links) before the file closes."""

    # ------------------------------------------------------------------------ internal
    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"{self.h5.filename if self.h5 else 'file'}: run already closed")

    def _add_configuration(
        self, obj: str, data: Mapping[str, Any], data_keys: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """Write one device's configuration once: ``bluesky/configuration/<object>/<key>``."""
        name = hdf5_name(obj)
        if name in self.config_group:
            return
        group = self.group(self.config_group, name, "NXcollection")
        for key, value in data.items():
            info = data_keys.get(key, {})
            attrs = {"units": units_of(key, info), **origin_attrs(key, info.get("source"))}
            self.values.setdefault(key, write_value(group, hdf5_name(key), value, **attrs))

    def _requested_metadata(self, requested: Any) -> None:
        """Write ``/entry/requested_metadata``: one dataset per item of the start document's
        ``requested_metadata`` with ``@units``, ``@source`` or ``@epics_pv``, ``@required``."""
        if not isinstance(requested, Mapping):
            return
        group = self.group(self.entry, REQUESTED, "NXcollection")
        required = set(requested.get("_required") or [])
        for key, attr in (("_requested_by", "requested_by"), ("_request_file", "request_file")):
            if requested.get(key):
                group.attrs[attr] = str(requested[key])
        group.attrs["missing_optional"] = to_json(requested.get("_missing_optional") or [])
        for name, entry in requested.items():
            if str(name).startswith("_") or not isinstance(entry, Mapping):
                continue
            source = str(entry.get("source", ""))
            origin = {"source": source} if source in LOCAL_SOURCES else {"epics_pv": source}
            write_value(
                group,
                hdf5_name(name),
                entry.get("value"),
                units=entry.get("units"),
                required=name in required,
                **origin,
            )

    def _stopped(self, stop: Mapping[str, Any]) -> None:
        """Write the stop document, exit status and reason, end time and duration."""
        entry = self.entry
        write_value(self.bluesky, "stop_document", to_json(stop), text_format="json")
        write_value(entry, "exit_status", str(stop.get("exit_status", "")))
        if stop.get("reason"):
            write_value(entry, "exit_reason", str(stop["reason"]))
        write_value(entry, "end_time", iso_time(stop["time"]))
        duration = float(stop["time"] - self.md["time"])
        write_value(entry, "duration", duration, units="s", source="stop - start document time")

    def _default_chain(self) -> None:
        """Point ``/entry@default`` at the plottable group when it has a signal."""
        group = self.entry.get(self.default_data)
        if isinstance(group, h5py.Group) and "signal" in group.attrs:
            self.entry.attrs["default"] = self.default_data
