"""Shutters with Open/Close commands and a State readback (0 closed, 1 open)."""

from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO
from ophyd.status import SubscriptionStatus

OPEN = 1
CLOSED = 0


class Shutter(Device):
    """A shutter: ``set("open"|"close")`` returns a status that finishes when ``state`` agrees."""

    open_cmd = Cpt(EpicsSignal, "Open", kind="omitted")
    close_cmd = Cpt(EpicsSignal, "Close", kind="omitted")
    state = Cpt(EpicsSignalRO, "State", kind="normal")

    @property
    def is_open(self) -> bool:
        """True when the readback says open."""
        return int(self.state.get(as_string=False)) == OPEN

    def set(self, value: str):
        """Open or close; the status completes when ``state`` reports the new position."""
        target = {"open": OPEN, "close": CLOSED}.get(str(value).lower())
        if target is None:
            raise ValueError(f"{self.name}: set() takes 'open' or 'close', not {value!r}")
        command = self.open_cmd if target == OPEN else self.close_cmd
        command.put(1)

        def arrived(*, value, **_kwargs) -> bool:
            return int(value) == target

        return SubscriptionStatus(self.state, arrived, timeout=10, settle_time=0)

    def open(self) -> None:
        """Open and wait (blocking; use ``bps.mv(shutter, 'open')`` inside plans)."""
        self.set("open").wait()

    def close(self) -> None:
        """Close and wait (blocking; use ``bps.mv(shutter, 'close')`` inside plans)."""
        self.set("close").wait()
