"""Metadata requests: reading an item's PV (pyepics, outside plans; plans use ``bps.rd``)."""

from __future__ import annotations

import time
from typing import Any

from .request_model import MetadataItem, PVReader
from .request_values import convert


class EpicsPVReader:
    """A :data:`PVReader` using pyepics: all PVs start connecting at once, one shared deadline.

    The CA environment (``EPICS_CA_ADDR_LIST``, ``EPICS_CA_SERVER_PORT``, ...) is taken
    from the process environment when pyepics creates its context.
    Enum and character-array PVs are read as strings.
    """

    def __init__(self, pv_names: list[str], timeout: float = 5.0) -> None:
        import epics

        self._deadline = time.monotonic() + timeout
        self._pvs = {name: epics.get_pv(name, connect=False) for name in dict.fromkeys(pv_names)}

    def __call__(self, name: str) -> Any:
        """Return the value of PV ``name``; raise TimeoutError when it does not connect."""
        import epics

        pv = self._pvs.get(name) or epics.get_pv(name, connect=False)
        remaining = max(self._deadline - time.monotonic(), 0.05)
        if not pv.wait_for_connection(timeout=remaining):
            raise TimeoutError(f"PV {name} not connected")
        as_string = bool(pv.enum_strs) or (pv.type in ("char", "ctrl_char", "time_char"))
        value = pv.get(as_string=as_string, timeout=remaining)
        if value is None:
            raise TimeoutError(f"PV {name} connected but no value read")
        return value


def read_item(item: MetadataItem, read_pv: PVReader) -> tuple[Any, str]:
    """Return (converted value, '') or (None, problem) for a ``pv`` item."""
    try:
        raw = read_pv(item.pv)
    except Exception as exc:  # noqa: BLE001 - reported, never swallowed: the caller lists it
        return None, f"PV {item.pv} unreachable: {exc}"
    try:
        return convert(raw, item.type), ""
    except (ValueError, TypeError) as exc:
        return None, f"PV {item.pv} value {raw!r} is not {item.type}: {exc}"
