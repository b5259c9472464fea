"""Build the named devices of the instrument from a PV map (``configs/*.yml``) and connect them.

Nothing connects at import. :func:`build_instrument` makes the ophyd objects
(which start Channel Access searches in the background);
:func:`connect_instrument` waits a bounded time and reports every PV that did
not connect, all together, by device and PV name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

import yaml
from ophyd import Device, EpicsSignal, EpicsSignalRO, Signal

from .devices.area_detector import AreaDetector
from .devices.counting import AmplifierGains, AutorangeAmplifier, Scaler, UpdRatio
from .devices.data_files import DataFiles
from .devices.flyscan import UsaxsFlyer
from .devices.monochromator import Monochromator
from .devices.requested import RequestedMetadata
from .devices.sample import SampleData, UserData
from .devices.shutters import Shutter
from .devices.slits import GuardSlit, UsaxsSlit
from .devices.stages import CrystalStage, XStage, XYStage, XYZStage, stage_class
from .devices.terms import Positions, UsaxsTerms

DEFAULT_CONFIG = "12ide.yml"
READ_TIMEOUT = 10.0
"""Seconds a CA read may take once connected (ophyd's default, 2 s, is short for a busy IOC)."""


class InstrumentConnectionError(ConnectionError):
    """Raised when some PVs of the instrument did not connect; lists them all."""

    def __init__(self, missing: dict[str, list[str]], timeout: float) -> None:
        self.missing = missing
        lines = [f"  {device}: {_compact(pvs)}" for device, pvs in sorted(missing.items())]
        count = sum(len(p) for p in missing.values())
        super().__init__(
            f"{count} PV(s) of {len(missing)} device(s) did not connect within {timeout:g} s:\n"
            + "\n".join(lines)
        )


def _compact(pvs: list[str]) -> str:
    """``a.VAL, a.RBV, b`` -> ``a (2 fields), b``: record names with their missing field count."""
    records: dict[str, int] = {}
    for pv in pvs:
        records[pv.split(".")[0]] = records.get(pv.split(".")[0], 0) + ("." in pv)
    return ", ".join(f"{r} ({n} fields)" if n > 1 else r for r, n in records.items())


T = TypeVar("T")


class _Device(Generic[T]):
    """A typed read-only attribute of :class:`Instrument`: ``devices[<attribute name>]``."""

    def __init__(self, kind: type[T]) -> None:
        self.kind = kind
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.__doc__ = f"The ``{name}`` device ({self.kind.__name__})."

    @overload
    def __get__(self, inst: None, owner: type) -> _Device[T]: ...
    @overload
    def __get__(self, inst: Instrument, owner: type) -> T: ...
    def __get__(self, inst: Instrument | None, owner: type) -> T | _Device[T]:
        if inst is None:
            return self
        try:
            return inst.devices[self.name]  # type: ignore[return-value]
        except KeyError:
            raise AttributeError(f"instrument has no device {self.name!r}") from None


@dataclass
class Instrument:
    """The named devices of the instrument, as typed attributes.

    ``devices`` maps each name to its ophyd object; every device the packaged
    PV map builds is also an attribute of its type (``inst.a_stage``,
    ``inst.scaler``, ...). A device a map does not build raises AttributeError.
    """

    config: dict[str, Any]
    devices: dict[str, Device | Signal] = field(default_factory=dict)

    m_stage = _Device(CrystalStage)
    a_stage = _Device(CrystalStage)
    d_stage = _Device(XYStage)
    s_stage = _Device(XYStage)
    saxs_stage = _Device(XYZStage)
    waxs_stage = _Device(XStage)
    guard_slit = _Device(GuardSlit)
    usaxs_slit = _Device(UsaxsSlit)
    scaler = _Device(Scaler)
    upd_autorange = _Device(AutorangeAmplifier)
    amplifier_gains = _Device(AmplifierGains)
    upd_ratio = _Device(UpdRatio)
    monochromator = _Device(Monochromator)
    mono_shutter = _Device(Shutter)
    usaxs_shutter = _Device(Shutter)
    beam_current = _Device(EpicsSignalRO)
    sample_data = _Device(SampleData)
    user_data = _Device(UserData)
    terms = _Device(UsaxsTerms)
    positions = _Device(Positions)
    mode = _Device(EpicsSignal)
    data_root = _Device(Signal)
    data_files = _Device(DataFiles)
    metadata_requests = _Device(RequestedMetadata)
    flyscan = _Device(UsaxsFlyer)
    saxs_det = _Device(AreaDetector)
    waxs_det = _Device(AreaDetector)

    @property
    def baseline(self) -> list[Device | Signal]:
        """Devices whose state is recorded before and after every run."""
        names = [
            "m_stage",
            "a_stage",
            "d_stage",
            "s_stage",
            "saxs_stage",
            "waxs_stage",
            "guard_slit",
            "usaxs_slit",
            "monochromator",
            "upd_autorange",
            "amplifier_gains",
            "terms",
            "positions",
            "mode",
            "mono_shutter",
            "usaxs_shutter",
            "beam_current",
            "sample_data",
            "user_data",
        ]
        return [self.devices[n] for n in names if n in self.devices]


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """Return the PV map read from ``path`` (default: the packaged 12-ID-E map)."""
    if path is None:
        text = resources.files("usaxs_bluesky.configs").joinpath(DEFAULT_CONFIG).read_text()
        source = DEFAULT_CONFIG
    else:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"PV map {path} does not exist")
        text = path.read_text()
        source = str(path)
    config = yaml.safe_load(text)
    if not isinstance(config, dict) or "stages" not in config:
        raise ValueError(f"{source} is not a PV map (no 'stages' section)")
    return config


def build_instrument(config: dict[str, Any] | None = None) -> Instrument:
    """Make every device named in the PV map; returns without waiting for connections."""
    config = config if config is not None else load_config()
    prefix = config.get("pv_prefix", "") or ""
    inst = Instrument(config=config)
    add = inst.devices.__setitem__

    for name, axes in config["stages"].items():
        add(name, stage_class(axes)(pvs=axes, pv_prefix=prefix, name=name))
    add(
        "guard_slit",
        GuardSlit(pvs=config["slits"]["guard_slit"], pv_prefix=prefix, name="guard_slit"),
    )
    add(
        "usaxs_slit",
        UsaxsSlit(pvs=config["slits"]["usaxs_slit"], pv_prefix=prefix, name="usaxs_slit"),
    )

    scaler = Scaler(prefix + config["scaler"]["prefix"], name="scaler")
    add("scaler", scaler)
    amps = config["amplifiers"]
    add("upd_autorange", AutorangeAmplifier(prefix + amps["upd_autorange"], name="upd_autorange"))
    add("amplifier_gains", AmplifierGains(pvs=amps, pv_prefix=prefix, name="amplifier_gains"))
    add(
        "upd_ratio",
        UpdRatio(
            name="upd_ratio",
            scaler=scaler,
            autorange=inst.devices["upd_autorange"],
            gains=inst.devices["amplifier_gains"],
        ),
    )

    add(
        "monochromator",
        Monochromator(pvs=config["monochromator"], pv_prefix=prefix, name="monochromator"),
    )
    for name, pv in config["shutters"].items():
        add(name, Shutter(prefix + pv, name=name))
    add("beam_current", EpicsSignalRO(prefix + config["beam_current"], name="beam_current"))

    add("sample_data", SampleData(pvs=config["sample_data"], pv_prefix=prefix, name="sample_data"))
    add("user_data", UserData(pvs=config["user_data"], pv_prefix=prefix, name="user_data"))
    terms = config["terms"]
    add("terms", UsaxsTerms(prefix + terms["usaxs"], name="terms"))
    add("positions", Positions(prefix + terms["positions"], name="positions"))
    add("mode", EpicsSignal(prefix + terms["mode"], name="mode", string=True, put_complete=True))

    add("data_root", Signal(name="data_root", value=str(Path("usaxs_data").resolve())))
    add("data_files", DataFiles(root=inst.devices["data_root"], name="data_files"))
    # the session's loaded MetadataRequests (metadata/requests.py), None when none is loaded
    add("metadata_requests", RequestedMetadata(name="metadata_requests"))
    add("flyscan", UsaxsFlyer(pvs=config["flyscan"], pv_prefix=prefix, name="flyscan"))
    for name, det in config["area_detectors"].items():
        add(
            name,
            AreaDetector(
                prefix + det["prefix"], geometry_prefix=prefix + det["geometry"], name=name
            ),
        )
    return inst


def _epics_signals(obj: Device | Signal) -> list[EpicsSignalRO]:
    if isinstance(obj, Device):
        return [w.item for w in obj.walk_signals(include_lazy=True) if hasattr(w.item, "pvname")]
    return [obj] if hasattr(obj, "pvname") else []


def _pvnames(sig: Any) -> list[str]:
    names = [sig.pvname]
    setpoint = getattr(sig, "setpoint_pvname", None)
    if setpoint and setpoint != sig.pvname:
        names.append(setpoint)
    return names


def unconnected_pvs(inst: Instrument, timeout: float = 5.0) -> dict[str, list[str]]:
    """Wait up to ``timeout`` s for all PVs; return {device name: [PVs not connected]}."""
    signals = {name: _epics_signals(obj) for name, obj in inst.devices.items()}
    deadline = time.monotonic() + timeout
    while True:
        pending = {n: [s for s in sigs if not s.connected] for n, sigs in signals.items()}
        pending = {n: sigs for n, sigs in pending.items() if sigs}
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return {
        name: sorted({pv for s in sigs for pv in _pvnames(s)}) for name, sigs in pending.items()
    }


def connect_instrument(inst: Instrument, timeout: float = 10.0) -> Instrument:
    """Wait for every PV; raise :class:`InstrumentConnectionError` naming all that failed.

    After connecting, the scaler reads only the named channels of the PV map.
    """
    missing = unconnected_pvs(inst, timeout)
    if missing:
        raise InstrumentConnectionError(missing, timeout)
    for obj in inst.devices.values():
        for sig in _epics_signals(obj):
            # ophyd exposes the read timeout only as a constructor argument
            sig._timeout = max(sig.timeout or 0.0, READ_TIMEOUT)
    inst.scaler.select_channels(inst.config["scaler"].get("channels"))
    return inst
