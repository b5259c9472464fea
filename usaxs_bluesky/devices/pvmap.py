"""Base class for devices whose component PVs come from a PV map (name -> PV)."""

from typing import Any

from ophyd import Device


class PVMapDevice(Device):
    """A device whose ``FormattedComponent`` PVs are looked up as ``{self._pv[name]}``.

    Every component of the class must have an entry in ``pvs``; ``pv_prefix``
    is prepended to each (the simulator can serve all PVs under a prefix).
    """

    def __init__(self, *, pvs: dict[str, str], pv_prefix: str = "", **kwargs: Any) -> None:
        missing = [c for c in self._required_pvs() if c not in pvs]
        if missing:
            raise ValueError(f"{kwargs.get('name', type(self).__name__)}: no PV for {missing}")
        self._pv = {key: pv_prefix + pv for key, pv in pvs.items()}
        super().__init__("", **kwargs)

    @classmethod
    def _required_pvs(cls) -> list[str]:
        return list(cls.component_names)
