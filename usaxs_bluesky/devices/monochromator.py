"""Double-crystal monochromator: energy (keV), wavelength (angstrom) and Bragg angle."""

from ophyd import EpicsMotor, EpicsSignal, EpicsSignalRO
from ophyd import FormattedComponent as FCpt

from .pvmap import PVMapDevice


class Monochromator(PVMapDevice):
    """Energy and wavelength of the beam; ``theta`` is the Bragg-angle motor."""

    energy = FCpt(EpicsSignal, "{self._pv[energy]}", kind="hinted")
    wavelength = FCpt(EpicsSignalRO, "{self._pv[wavelength]}")
    theta = FCpt(EpicsMotor, "{self._pv[theta]}", kind="config")
