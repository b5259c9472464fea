"""Every PV of the simulator says what it is (caproto ``pvproperty(doc=...)``)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import usaxs_sim
from caproto.server import PVGroup


def _group_classes() -> list[type[PVGroup]]:
    """Every PVGroup subclass defined in a module of the usaxs_sim package."""
    classes = set()
    for info in pkgutil.iter_modules(usaxs_sim.__path__):
        if info.name == "__main__":
            continue
        module = importlib.import_module(f"usaxs_sim.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, PVGroup) and cls.__module__.startswith("usaxs_sim."):
                classes.add(cls)
    return sorted(classes, key=lambda cls: cls.__qualname__)


def test_the_walk_finds_the_groups():
    names = {cls.__name__ for cls in _group_classes()}
    assert {"UsaxsSimIOC", "MotorRecord", "ScalerRecord", "FlyScan", "RemoteOps"} <= names


@pytest.mark.parametrize("cls", _group_classes(), ids=lambda cls: cls.__name__)
def test_every_pvproperty_has_a_doc(cls):
    undocumented = [attr for attr, prop in cls._pvs_.items() if not (prop.pvspec.doc or "").strip()]
    assert cls._pvs_, f"{cls.__name__} defines no pvproperty"
    assert undocumented == [], f"{cls.__name__}: pvproperty without doc= {undocumented}"


def test_every_served_pv_has_a_doc():
    from usaxs_sim.ioc import UsaxsSimIOC

    pvdb = UsaxsSimIOC(prefix="docs:").pvdb
    undocumented = sorted(name for name, data in pvdb.items() if not (data.__doc__ or "").strip())
    assert len(pvdb) > 500
    assert undocumented == []
