"""Sample and user metadata PVs (what the facility's files record as the sample's identity)."""

from ophyd import EpicsSignal
from ophyd import FormattedComponent as FCpt

from .pvmap import PVMapDevice


class SampleData(PVMapDevice):
    """Sample title and thickness (mm) plus the descriptive ``usxSample:*`` values."""

    title = FCpt(EpicsSignal, "{self._pv[title]}", string=True)
    thickness = FCpt(EpicsSignal, "{self._pv[thickness]}")
    chemical_formula = FCpt(EpicsSignal, "{self._pv[prefix]}ChemicalFormula", string=True)
    concentration = FCpt(EpicsSignal, "{self._pv[prefix]}Concentration", kind="config")
    description = FCpt(EpicsSignal, "{self._pv[prefix]}Description", string=True, kind="config")
    temperature = FCpt(EpicsSignal, "{self._pv[prefix]}Temperature")
    volume_fraction = FCpt(EpicsSignal, "{self._pv[prefix]}VolumeFraction", kind="config")
    scattering_length_density = FCpt(
        EpicsSignal, "{self._pv[prefix]}ScatteringLengthDensity", kind="config"
    )

    @classmethod
    def _required_pvs(cls) -> list[str]:
        return ["title", "thickness", "prefix"]


class UserData(PVMapDevice):
    """Who is measuring: user name, run cycle and proposal (GUP) number."""

    user_name = FCpt(EpicsSignal, "{self._pv[user_name]}", string=True)
    run_cycle = FCpt(EpicsSignal, "{self._pv[run_cycle]}", string=True)
    proposal_id = FCpt(EpicsSignal, "{self._pv[proposal_id]}", string=True)
