"""The loaded metadata request as a signal, with one read-only signal per requested PV.

Plans read the request (``bps.rd(inst.metadata_requests)``) and then each
requested PV as an ophyd signal (``bps.rd``), so the RunEngine does the
Channel Access reads; nothing blocks inside a plan. The PV signals are made
(and start connecting) when a request is loaded. PV names are used as the
request file gives them (no instrument prefix), as before.
"""

from __future__ import annotations

import re
from typing import Any

from ophyd import EpicsSignalRO, Signal

from ..contract.names import QUANTITY_TYPES


def reads_as_text(item_type: str) -> bool:
    """Return True when a PV for an item of ``item_type`` is read as text (enum labels, strings)."""
    return item_type not in QUANTITY_TYPES


class RequestedMetadata(Signal):
    """Signal whose value is the loaded ``MetadataRequests`` (None when none is loaded).

    :meth:`pv_signal` returns the read-only signal of one requested PV;
    ``put`` of a request makes the signals of all its ``pv`` items.
    """

    #: the class of the PV signals (a fake one for offline use)
    pv_signal_class: type = EpicsSignalRO

    def __init__(self, *, name: str, **kwargs: Any) -> None:
        super().__init__(name=name, value=None, **kwargs)
        self._signals: dict[tuple[str, bool], Signal] = {}

    def pv_signal(self, pv: str, *, text: bool) -> Signal:
        """Return (made once) the read-only signal of PV ``pv``, read as text when ``text``."""
        key = (pv, bool(text))
        if key not in self._signals:
            name = f"{self.name}_{re.sub(r'[^A-Za-z0-9_]', '_', pv)}"
            self._signals[key] = self.pv_signal_class(pv, name=name, string=bool(text))
        return self._signals[key]

    def put(self, value: Any, **kwargs: Any) -> None:
        """Set the loaded request; make the signals of its ``pv`` items (they start connecting)."""
        super().put(value, **kwargs)
        for item in getattr(value, "items", ()):
            if item.source == "pv" and item.pv:
                self.pv_signal(item.pv, text=reads_as_text(item.type))
