"""Motorised stages: each axis is an EPICS motor record whose PV comes from the PV map."""

from ophyd import EpicsMotor
from ophyd import FormattedComponent as FCpt

from .pvmap import PVMapDevice


class CrystalStage(PVMapDevice):
    """Collimator (m_stage) or analyzer (a_stage) crystal: rotation, x, y and piezo r2p."""

    r = FCpt(EpicsMotor, "{self._pv[r]}", kind="hinted")
    x = FCpt(EpicsMotor, "{self._pv[x]}")
    y = FCpt(EpicsMotor, "{self._pv[y]}")
    r2p = FCpt(EpicsMotor, "{self._pv[r2p]}")


class XStage(PVMapDevice):
    """A single translation (e.g. the WAXS detector carriage)."""

    x = FCpt(EpicsMotor, "{self._pv[x]}")


class XYStage(PVMapDevice):
    """Two translations (photodiode d_stage, sample s_stage)."""

    x = FCpt(EpicsMotor, "{self._pv[x]}")
    y = FCpt(EpicsMotor, "{self._pv[y]}")


class XYZStage(PVMapDevice):
    """Three translations (the SAXS detector carriage)."""

    x = FCpt(EpicsMotor, "{self._pv[x]}")
    y = FCpt(EpicsMotor, "{self._pv[y]}")
    z = FCpt(EpicsMotor, "{self._pv[z]}")


_BY_AXES: dict[frozenset[str], type[PVMapDevice]] = {
    frozenset({"r", "x", "y", "r2p"}): CrystalStage,
    frozenset({"x"}): XStage,
    frozenset({"x", "y"}): XYStage,
    frozenset({"x", "y", "z"}): XYZStage,
}


def stage_class(axes: dict[str, str]) -> type[PVMapDevice]:
    """Return the stage class that has exactly the axes named in the PV map."""
    try:
        return _BY_AXES[frozenset(axes)]
    except KeyError:
        raise ValueError(f"no stage class with axes {sorted(axes)}") from None
