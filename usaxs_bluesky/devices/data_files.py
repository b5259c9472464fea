"""Where the next data file goes: a path provider that plans set and read, as dodal's do.

Plans yield ``set`` (the request: user, title, technique) and ``read`` (the
answer: ``hdf5_path``, ``hdf5_file``, ``order_number``) messages; the file
system work (the user folder's order-number state) happens here, outside the
plan, so plans stay pure message generators.
"""

from __future__ import annotations

import datetime
import threading
from pathlib import Path
from typing import Any

from ophyd import Signal
from ophyd.status import Status

from ..contract.files import OrderNumbers, data_folder, numbered_name, user_folder
from ..contract.names import HDF5_FILE, HDF5_PATH, ORDER_NUMBER, TECHNIQUE


class DataFiles(Signal):
    """Path provider: ``set({"user", "title", "technique"})`` chooses the next data file.

    The value read afterwards is ``{"hdf5_path", "hdf5_file", "order_number",
    "technique"}``: the folder ``<root>/YYYY-MM/MM_DD_<user>/MM_DD_<user>_<tech>``
    and ``<title>_<NNNN>.h5`` (USAXS) or ``.hdf`` (SAXS, WAXS), ``NNNN`` from
    the user folder's :class:`~usaxs_bluesky.contract.files.OrderNumbers`.
    ``root`` is the signal holding the data root.
    """

    def __init__(self, *, root: Signal, name: str, **kwargs: Any) -> None:
        super().__init__(name=name, value={}, **kwargs)
        self.data_root = root
        self._lock = threading.Lock()
        self._counters: dict[Path, OrderNumbers] = {}

    def choose(self, user: str, title: str, technique: str) -> dict[str, Any]:
        """Return (and record) the data file of the next run; ValueError for a bad technique."""
        now = datetime.datetime.now()
        root = Path(str(self.data_root.get()))
        folder = data_folder(root, now, user, technique)
        parent = user_folder(root, now, user)
        with self._lock:
            counter = self._counters.get(parent)
            if counter is None:
                counter = self._counters[parent] = OrderNumbers(parent)
            number = counter.assign(title, technique)
        return {
            HDF5_PATH: str(folder),
            HDF5_FILE: numbered_name(title, number, technique),
            ORDER_NUMBER: number,
            TECHNIQUE: str(technique).lower(),
        }

    def set(self, value: dict[str, Any], **kwargs: Any) -> Status:
        """Choose the file of ``value`` (``user``, ``title``, ``technique``); done at once."""
        self.put(self.choose(str(value["user"]), str(value["title"]), str(value["technique"])))
        status = Status(obj=self)
        status.set_finished()
        return status
