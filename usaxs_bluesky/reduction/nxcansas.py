"""Write and read reduced curves as NXcanSAS (NeXus application definition).

Layout written (one file, one SASentry, one SASdata group per curve)::

    /sasentry01           NXentry  canSAS_class=SASentry  @default=sasdata01
      definition="NXcanSAS", title, run
      sasdata01..NN       NXdata   canSAS_class=SASdata  @signal=I @I_axes=Q @Q_indices=0
        I [1/cm] @uncertainties=Idev, Idev, Q [1/angstrom] @resolutions, Qdev | dQw + dQl
      sasinstrument/sassource, sassample, sasprocess/sasnote, (sastransmission_spectrum: no)

Files are created exclusively under a temporary name and renamed when
complete; an existing target is never overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..contract.publish import published
from .common import ReducedCurve, ReductionError

__all__ = ["read_nxcansas", "write_nxcansas"]

_STR = h5py.string_dtype()


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("usaxs_bluesky")
    except Exception:  # noqa: BLE001 - package metadata may be absent in a checkout
        return "unknown"


def _set_str(group: h5py.Group, name: str, value: str) -> h5py.Dataset:
    return group.create_dataset(name, data=str(value), dtype=_STR)


def _write_sasdata(group: h5py.Group, curve: ReducedCurve, units: str) -> None:
    group.attrs["NX_class"] = "NXdata"
    group.attrs["canSAS_class"] = "SASdata"
    group.attrs["signal"] = "I"
    group.attrs["I_axes"] = "Q"
    group.attrs["Q_indices"] = np.int32(0)
    q = group.create_dataset("Q", data=np.asarray(curve.q, dtype=float))
    q.attrs["units"] = "1/angstrom"
    inten = group.create_dataset("I", data=np.asarray(curve.i, dtype=float))
    inten.attrs["units"] = units
    inten.attrs["uncertainties"] = "Idev"
    idev = group.create_dataset("Idev", data=np.asarray(curve.idev, dtype=float))
    idev.attrs["units"] = units
    if curve.smeared and curve.dql is not None:
        # NXcanSAS slit smearing: dQw (width) and dQl (length), in this order
        q.attrs.create("resolutions", data=np.array(["dQw", "dQl"], dtype=object), dtype=_STR)
        dqw = group.create_dataset("dQw", data=np.asarray(curve.qdev, dtype=float))
        dqw.attrs["units"] = "1/angstrom"
        dql = group.create_dataset("dQl", data=np.full(len(curve.q), float(curve.dql)))
        dql.attrs["units"] = "1/angstrom"
        q.attrs["resolutions_description"] = "slit-smeared: dQw width, dQl slit length"
    else:
        q.attrs["resolutions"] = "Qdev"
        qdev = group.create_dataset("Qdev", data=np.asarray(curve.qdev, dtype=float))
        qdev.attrs["units"] = "1/angstrom"
        q.attrs["resolutions_description"] = "Gaussian"
    group.attrs["smeared"] = int(bool(curve.smeared))
    title = (
        "slit-smeared" if curve.smeared else "desmeared" if "desmearing" in curve.metadata else ""
    )
    if title:
        group.attrs["title"] = title


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def write_nxcansas(
    path: str | Path,
    curves: Sequence[ReducedCurve],
    *,
    title: str | None = None,
    extra_notes: dict[str, Any] | None = None,
) -> Path:
    """Write ``curves`` (first one is the default plot) to a new NXcanSAS file.

    Raises FileExistsError if ``path`` exists; nothing is left behind on error.
    """
    path = Path(path)
    if not curves:
        raise ReductionError("write_nxcansas needs at least one curve")
    if path.exists():
        raise FileExistsError(f"{path} exists; reduced files are never overwritten")
    meta = curves[0].metadata
    units = "1/cm" if meta.get("absolute", False) else "arbitrary"
    with published(path) as tmp:
        with h5py.File(tmp, "w-") as f:
            f.attrs["default"] = "sasentry01"
            f.attrs["file_name"] = path.name
            f.attrs["file_time"] = datetime.now(UTC).isoformat()
            f.attrs["creator"] = "usaxs_bluesky.reduction"
            f.attrs["NeXus_version"] = "v2024.02"
            f.attrs["HDF5_Version"] = h5py.version.hdf5_version
            f.attrs["h5py_version"] = h5py.version.version
            entry = f.create_group("sasentry01")
            entry.attrs["NX_class"] = "NXentry"
            entry.attrs["canSAS_class"] = "SASentry"
            entry.attrs["version"] = "1.1"
            entry.attrs["default"] = "sasdata01"
            _set_str(entry, "definition", "NXcanSAS")
            _set_str(entry, "title", title or str(meta.get("sample_name", "")))
            run = _set_str(entry, "run", Path(str(meta.get("sample_file", ""))).stem or "0")
            run.attrs["name"] = "raw file"
            for k, curve in enumerate(curves, start=1):
                _write_sasdata(entry.create_group(f"sasdata{k:02d}"), curve, units)
            _write_sample(entry, meta)
            _write_instrument(entry, curves[0])
            _write_process(entry, curves, extra_notes or {})
    return path


def _write_sample(entry: h5py.Group, meta: dict) -> None:
    sample = entry.create_group("sassample")
    sample.attrs["NX_class"] = "NXsample"
    sample.attrs["canSAS_class"] = "SASsample"
    _set_str(sample, "name", str(meta.get("sample_name", "")))
    thick = _num(meta.get("thickness_mm"))
    if thick is not None:
        ds = sample.create_dataset("thickness", data=thick)
        ds.attrs["units"] = "mm"
    trans = _num(meta.get("transmission"))
    if trans is not None:
        ds = sample.create_dataset("transmission", data=trans)
        ds.attrs["units"] = ""


def _write_instrument(entry: h5py.Group, curve: ReducedCurve) -> None:
    meta = curve.metadata
    inst = entry.create_group("sasinstrument")
    inst.attrs["NX_class"] = "NXinstrument"
    inst.attrs["canSAS_class"] = "SASinstrument"
    _set_str(inst, "name", "APS USAXS/SAXS/WAXS at 12-ID-E")
    src = inst.create_group("sassource")
    src.attrs["NX_class"] = "NXsource"
    src.attrs["canSAS_class"] = "SASsource"
    _set_str(src, "type", "Synchrotron X-ray Source")
    _set_str(src, "probe", "x-ray")
    wl = _num(meta.get("wavelength_A"))
    if wl is not None:
        ds = src.create_dataset("incident_wavelength", data=wl)
        ds.attrs["units"] = "angstrom"
    coll = inst.create_group("sascollimation")
    coll.attrs["NX_class"] = "NXcollimator"
    coll.attrs["canSAS_class"] = "SAScollimation"
    det = inst.create_group("sasdetector")
    det.attrs["NX_class"] = "NXdetector"
    det.attrs["canSAS_class"] = "SASdetector"
    _set_str(det, "name", str(meta.get("detector", meta.get("technique", "detector"))))
    sdd = _num(meta.get("sdd_mm"))
    if sdd is not None:
        ds = det.create_dataset("SDD", data=sdd)
        ds.attrs["units"] = "mm"
    if curve.dql is not None:
        ds = det.create_dataset("slit_length", data=float(curve.dql))
        ds.attrs["units"] = "1/angstrom"


def _write_process(entry: h5py.Group, curves: Sequence[ReducedCurve], extra: dict) -> None:
    proc = entry.create_group("sasprocess")
    proc.attrs["NX_class"] = "NXprocess"
    proc.attrs["canSAS_class"] = "SASprocess"
    _set_str(proc, "name", "usaxs_bluesky.reduction")
    _set_str(proc, "date", datetime.now(UTC).isoformat())
    _set_str(proc, "version", _package_version())
    meta = curves[0].metadata
    _set_str(
        proc,
        "description",
        f"{meta.get('technique', '')} reduction; blank: {meta.get('blank_file') or 'none'}",
    )
    note = proc.create_group("sasnote")
    note.attrs["NX_class"] = "NXnote"
    note.attrs["canSAS_class"] = "SASnote"
    params = {}
    for c in curves:
        for k, v in c.metadata.items():
            params.setdefault(k, v)
    params.update(extra)
    _set_str(note, "type", "application/json")
    _set_str(note, "data", json.dumps(params, default=_jsonable, sort_keys=True))
    for k, v in params.items():
        if isinstance(v, str | int | float | np.floating | np.integer) and k.isidentifier():
            _set_str(note, k, str(v)) if isinstance(v, str) else note.create_dataset(k, data=v)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def read_nxcansas(path: str | Path) -> list[ReducedCurve]:
    """Read every SASdata group of every SASentry back into ReducedCurves."""
    path = Path(path)
    out: list[ReducedCurve] = []
    with h5py.File(path, "r") as f:
        for ename, entry in f.items():
            if not isinstance(entry, h5py.Group) or _attr(entry, "canSAS_class") != "SASentry":
                continue
            params: dict[str, Any] = {}
            if "sasprocess/sasnote/data" in entry:
                raw = entry["sasprocess/sasnote/data"][()]
                params = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
            for gname, grp in entry.items():
                if not isinstance(grp, h5py.Group) or _attr(grp, "canSAS_class") != "SASdata":
                    continue
                smeared = "dQl" in grp
                qdev = grp["dQw"][()] if smeared else grp["Qdev"][()] if "Qdev" in grp else None
                q = grp["Q"][()]
                meta = dict(params)
                meta["entry"] = ename
                meta["group"] = gname
                out.append(
                    ReducedCurve(
                        q=q,
                        i=grp["I"][()],
                        idev=grp["Idev"][()],
                        qdev=qdev if qdev is not None else np.zeros_like(q),
                        dql=float(grp["dQl"][0]) if smeared else None,
                        smeared=smeared,
                        metadata=meta,
                    )
                )
    return out


def _attr(obj: h5py.HLObject, name: str) -> str | None:
    v = obj.attrs.get(name)
    return v.decode() if isinstance(v, bytes) else v
