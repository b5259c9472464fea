"""Slits: the guard slit (four blades and two size readbacks) and the USAXS slit."""

from ophyd import EpicsMotor, EpicsSignal
from ophyd import FormattedComponent as FCpt

from .pvmap import PVMapDevice


class GuardSlit(PVMapDevice):
    """Guard slit: blades (mm) and the gap sizes computed from them (mm)."""

    top = FCpt(EpicsMotor, "{self._pv[top]}", kind="config")
    bot = FCpt(EpicsMotor, "{self._pv[bot]}", kind="config")
    outb = FCpt(EpicsMotor, "{self._pv[outb]}", kind="config")
    inb = FCpt(EpicsMotor, "{self._pv[inb]}", kind="config")
    h_size = FCpt(EpicsSignal, "{self._pv[h_size]}")
    v_size = FCpt(EpicsSignal, "{self._pv[v_size]}")


class UsaxsSlit(PVMapDevice):
    """USAXS beam-defining slit: centre (x, y) and size (h_size, v_size), all motors in mm."""

    x = FCpt(EpicsMotor, "{self._pv[x]}")
    y = FCpt(EpicsMotor, "{self._pv[y]}")
    h_size = FCpt(EpicsMotor, "{self._pv[h_size]}")
    v_size = FCpt(EpicsMotor, "{self._pv[v_size]}")
