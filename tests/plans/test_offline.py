"""Every plan iterates offline: only messages, no Channel Access, no file system.

The instrument is built from the real PV map with fake ophyd devices (no
Channel Access can start), and a small message loop answers the plan the
way a RunEngine would (reads from a table of plausible values, finished
statuses for sets). While the plan runs, sockets, ``open``, directory listing
and file creation raise: a plan that does I/O itself fails here.
"""

from __future__ import annotations

import builtins
import os
import socket
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import ophyd
import ophyd.sim
import pytest
from bluesky.protocols import Locatable
from bluesky.utils import Msg
from ophyd.signal import EpicsSignalBase
from ophyd.sim import FakeEpicsSignal, FakeEpicsSignalRO, make_fake_device
from ophyd.status import Status

from usaxs_bluesky import devices
from usaxs_bluesky import instrument as instrument_module
from usaxs_bluesky.contract.names import HDF5_FILE, HDF5_PATH, ORDER_NUMBER, TECHNIQUE
from usaxs_bluesky.metadata.request_files import parse_requests
from usaxs_bluesky.queue.plans import MEASUREMENTS, STAFF_PLANS

#: values read by the plans (data key -> value); anything else reads as 1.0
VALUES: dict[str, Any] = {
    "user_data_user_name": "alice",
    "terms_ar_center": 8.84,
    "terms_finish": 0.1,
    "terms_min_step": 1e-5,
    "terms_num_points": 30,
    "terms_count_time": 1.0,
    "terms_fs_scan_time": 30.0,
    "terms_sdd": 1085.0,
    "terms_sad": 200.0,
    "monochromator_wavelength": 0.5904,
    "flyscan_num_pulses": 4000,
    "s_stage_x_low_limit_travel": -100.0,
    "s_stage_x_high_limit_travel": 100.0,
    "s_stage_y_low_limit_travel": -100.0,
    "s_stage_y_high_limit_travel": 100.0,
    "metadata_requests": None,
    **{f"scaler_channels_chan0{k}_chname": n for k, n in enumerate(("I0", "I00", "UPD", "TRD"), 2)},
    "data_files": {HDF5_PATH: "/nowhere", HDF5_FILE: "x_0001.h5", ORDER_NUMBER: 1, TECHNIQUE: "x"},
}
SAMPLE = {"title": "offline", "thickness_mm": 1.0, "user_name": "alice"}
#: plan name -> keyword arguments (every plan of the queue but the command-file reader)
ARGUMENTS: dict[str, dict[str, Any]] = {
    "USAXSscan": {"x": 1.0, "y": 2.0, **SAMPLE},
    "Flyscan": SAMPLE,
    "uascan": SAMPLE,
    "saxsExp": {"x": 1.0, "y": 2.0, **SAMPLE},
    "waxsExp": {"x": 1.0, "y": 2.0, **SAMPLE},
    "count_sample": SAMPLE,
    "transmission": {"x": 1.0, "y": 2.0, **SAMPLE},
    "set_mode": {"mode": "USAXS in beam"},
    "rocking_curve": SAMPLE,
}
#: plans whose job is reading a file the user names (checked before anything moves)
READS_A_FILE = {"run_command_file"}


class FakeSignal(FakeEpicsSignal):
    """A fake read-write EPICS signal that keeps its PV name (plans record it)."""

    def __init__(self, read_pv: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(read_pv, *args, **kwargs)
        self.pvname = read_pv


class FakeSignalRO(FakeEpicsSignalRO):
    """A fake read-only EPICS signal that keeps its PV name."""

    def __init__(self, read_pv: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(read_pv, *args, **kwargs)
        self.pvname = read_pv


def _fake(cls: type) -> type:
    """The fake (Channel-Access-free) version of an ophyd class."""
    if issubclass(cls, EpicsSignalBase):
        return FakeSignal if issubclass(cls, ophyd.EpicsSignal) else FakeSignalRO
    return make_fake_device(cls)


def _fake_signal_subclasses(patch: pytest.MonkeyPatch) -> None:
    """Make ``make_fake_device`` replace every EPICS signal class (ophyd's and ours)."""
    classes = {ophyd.EpicsSignal, ophyd.EpicsSignalRO}
    for module in vars(devices).values():
        for value in vars(module).values() if isinstance(module, ModuleType) else ():
            if isinstance(value, type) and issubclass(value, EpicsSignalBase):
                classes.add(value)
    for cls in classes:
        patch.setitem(ophyd.sim.fake_device_cache, cls, _fake(cls))


@pytest.fixture(scope="module")
def inst():
    """The instrument of the packaged PV map, every EPICS device replaced by its fake."""
    patch = pytest.MonkeyPatch()
    _fake_signal_subclasses(patch)
    for name, value in vars(instrument_module).items():
        if isinstance(value, type) and issubclass(value, ophyd.ophydobj.OphydObject):
            if value not in (ophyd.Device, ophyd.Signal, instrument_module.DataFiles):
                patch.setattr(instrument_module, name, _fake(value))
    stage_class = instrument_module.stage_class
    patch.setattr(instrument_module, "stage_class", lambda axes: _fake(stage_class(axes)))
    try:
        yield instrument_module.build_instrument()
    finally:
        patch.undo()


def _value(obj: Any) -> Any:
    return VALUES.get(obj.name, 1.0)


def _reading(obj: Any) -> dict[str, dict[str, Any]]:
    if isinstance(obj, ophyd.Signal):
        return {obj.name: {"value": _value(obj), "timestamp": 0.0}}
    keys = [getattr(obj, attr).name for attr in obj.read_attrs]
    return {key: {"value": VALUES.get(key, 1.0), "timestamp": 0.0} for key in keys}


def _done() -> Status:
    status = Status()
    status.set_finished()
    return status


def answer(msg: Msg) -> Any:
    """What a RunEngine would send back for ``msg`` (without touching any device)."""
    if msg.command == "read":
        return _reading(msg.obj)
    if msg.command == "locate":
        value = _value(msg.obj) if isinstance(msg.obj, Locatable) else 1.0
        return {"readback": value, "setpoint": value}
    if msg.command in ("set", "trigger", "kickoff", "complete"):
        return _done()
    if msg.command == "open_run":
        return "offline-uid"
    return None


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"I/O inside a plan: {args[:1]}")


@contextmanager
def no_io() -> Iterator[None]:
    """Sockets, ``open`` and listing, making or renaming files raise while active."""
    patch = pytest.MonkeyPatch()
    patch.setattr(socket, "socket", _refuse)
    patch.setattr(socket, "create_connection", _refuse)
    patch.setattr(builtins, "open", _refuse)
    for name in ("open", "listdir", "scandir", "mkdir", "replace", "rename", "link"):
        patch.setattr(os, name, _refuse)
    try:
        yield
    finally:
        patch.undo()


def iterate(plan: Generator[Msg, Any, Any]) -> list[Msg]:
    """Run ``plan`` to its end with :func:`answer`; return the messages it yielded."""
    messages = []
    reply: Any = None
    with no_io():
        while True:
            try:
                msg = plan.send(reply)
            except StopIteration:
                return messages
            messages.append(msg)
            reply = answer(msg)


def _plans() -> dict[str, Callable[..., Any]]:
    return {**MEASUREMENTS, **STAFF_PLANS}


def test_every_queue_plan_is_covered():
    missing = set(_plans()) - set(ARGUMENTS) - READS_A_FILE
    tunes = {name for name in missing if name.startswith("tune_") or name == "preUSAXStune"}
    assert missing == tunes, f"plans without an offline check: {sorted(missing - tunes)}"


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_plan_iterates_offline(inst, name):
    messages = iterate(_plans()[name](inst, **ARGUMENTS[name]))
    commands = [m.command for m in messages]
    assert commands, f"{name} yielded nothing"
    if name != "set_mode":
        assert commands.count("open_run") >= 1 and commands.count("close_run") >= 1


@pytest.mark.parametrize("use_flyscan, plan_name", [(1, "Flyscan"), (0, "uascan")])
def test_usaxs_scan_builds_its_run_metadata_once(inst, monkeypatch, use_flyscan, plan_name):
    monkeypatch.setitem(VALUES, "terms_use_flyscan", use_flyscan)
    messages = iterate(_plans()["USAXSscan"](inst, **ARGUMENTS["USAXSscan"]))
    (start,) = [m for m in messages if m.command == "open_run"]
    assert start.kwargs["plan_name"] == plan_name
    assert (start.kwargs["sx"], start.kwargs["sy"]) == (1.0, 2.0)
    reads = [m.obj.name for m in messages if m.command in ("read", "locate")]
    assert reads.count("user_data_user_name") <= 1
    assert reads.count("metadata_requests") == 1
    assert [m for m in messages if m.command == "set" and m.obj is inst.data_files]


def test_the_offline_loop_catches_io(inst):
    def sneaky() -> Generator[Msg, Any, None]:
        yield Msg("null")
        os.listdir(".")

    with pytest.raises(AssertionError, match="I/O inside a plan"):
        iterate(sneaky())


def test_the_fake_instrument_has_no_channel_access(inst):
    signals = [
        sig
        for device in inst.devices.values()
        for sig in ([device] if isinstance(device, ophyd.Signal) else device.walk_signals())
    ]
    signals = [getattr(s, "item", s) for s in signals]
    assert signals
    real = [s.name for s in signals if isinstance(s, EpicsSignalBase)]
    assert real == [], f"signals that would use Channel Access: {real[:5]}"


REQUEST = {
    "requested_by": "offline test",
    "items": [
        {"name": "temperature", "source": "pv", "pv": "sim:T", "type": "float", "units": "C"},
        {"name": "state", "source": "pv", "pv": "sim:state", "type": "str"},
        {"name": "down", "source": "pv", "pv": "sim:down", "type": "float", "units": "s"},
        {"name": "cell", "source": "fixed", "value": "A", "type": "str"},
    ],
}


class DownPV(FakeSignalRO):
    """A requested PV that cannot be read (its read raises, as a dead IOC's would)."""

    def read(self) -> dict:
        if self.name.endswith("sim_down"):
            raise TimeoutError(f"{self.pvname} not connected")
        return super().read()


def test_requested_pvs_are_read_as_signals(inst, monkeypatch):
    monkeypatch.setattr(inst.metadata_requests, "pv_signal_class", DownPV)
    requests = parse_requests(REQUEST)
    inst.metadata_requests.put(requests)
    monkeypatch.setitem(VALUES, "metadata_requests", requests)
    monkeypatch.setitem(VALUES, "metadata_requests_sim_T", 21.5)
    monkeypatch.setitem(VALUES, "metadata_requests_sim_state", "ready")

    def answer_or_fail(msg: Msg) -> Any:
        if msg.command == "read" and isinstance(msg.obj, DownPV):
            msg.obj.read()  # raises for the dead PV, as the RunEngine's read would
        return answer(msg)

    plan = _plans()["saxsExp"](inst, **ARGUMENTS["saxsExp"])
    messages, reply = [], None
    with no_io():
        while True:
            try:
                msg = plan.send(reply) if not isinstance(reply, Exception) else plan.throw(reply)
            except StopIteration:
                break
            messages.append(msg)
            try:
                reply = answer_or_fail(msg)
            except TimeoutError as exc:
                reply = exc
    inst.metadata_requests.put(None)
    read = {m.obj.name for m in messages if m.command == "read"}
    assert {"metadata_requests_sim_T", "metadata_requests_sim_state"} <= read
    (start,) = [m.kwargs for m in messages if m.command == "open_run"]
    requested = start["requested_metadata"]
    assert requested["temperature"] == {"value": 21.5, "units": "C", "source": "sim:T"}
    assert requested["state"]["value"] == "ready"
    assert requested["cell"]["value"] == "A"
    assert requested["_missing_optional"] == ["down"]
    assert inst.metadata_requests.pv_signal("sim:state", text=True).name.endswith("sim_state")
