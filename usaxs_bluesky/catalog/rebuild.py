"""Event streams rebuilt from a raw NeXus file, as documents for the catalog writer.

The NeXus writer keeps each stream's rows in ``/entry/instrument/bluesky/
streams/<stream>/<key>`` (one dataset per data key, plus ``time``) and the
stream's descriptor document as JSON in the group's ``@descriptor_document``.
:func:`stream_documents` turns them back into a descriptor and one event page
per stream. What the file does not keep is made up plainly: the event uids
are new, ``seq_num`` counts from 1 and every key's timestamp is the event
time. Streams without ``@descriptor_document`` (files written before it
existed), the baseline (kept as before/after values, without event times) and
streams with external data (detector images) are not rebuilt.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..callbacks.nexus_file import BLUESKY, DESCRIPTOR_ATTR, hdf5_name
from ..contract.names import BASELINE

STREAMS_PATH = f"/entry/{BLUESKY}/streams"
TIME_COLUMN = "time"


def _column(dataset: h5py.Dataset, rows: int) -> list[Any]:
    """The first ``rows`` values of a column as Python values (text as ``str``)."""
    if h5py.check_string_dtype(dataset.dtype) is not None:
        return list(dataset.asstr()[:rows])
    return np.asarray(dataset[:rows]).tolist()


def _descriptor(group: h5py.Group, run_start: str) -> dict | None:
    """The stream's descriptor document, None if the group has none usable for this run."""
    text = group.attrs.get(DESCRIPTOR_ATTR)
    if text is None:
        return None
    doc = json.loads(text.decode() if isinstance(text, bytes) else str(text))
    if not isinstance(doc, dict) or doc.get("run_start") != run_start:
        raise ValueError(f"{group.name}: the descriptor is not one of run {run_start}")
    if not isinstance(doc.get("data_keys"), dict) or not isinstance(doc.get("uid"), str):
        raise ValueError(f"{group.name}: the descriptor has no data_keys or uid")
    return doc


def stream_documents(path: Path, run_start: str) -> tuple[list[tuple[str, dict]], list[str]]:
    """Return ``(documents, not_rebuilt)`` for the streams kept in the raw file ``path``.

    ``documents`` holds ``("descriptor", doc)`` and ``("event_page", doc)``
    pairs in order; ``not_rebuilt`` names each stream left out and why. The
    rows are those every column holds (a file cut short keeps the common rows).
    ValueError for a descriptor that is malformed or of another run.
    """
    documents: list[tuple[str, dict]] = []
    not_rebuilt: list[str] = []
    with h5py.File(path, "r") as f:
        streams = f.get(STREAMS_PATH)
        if not isinstance(streams, h5py.Group):
            return documents, not_rebuilt
        for name, group in streams.items():
            if not isinstance(group, h5py.Group):
                continue
            if name == BASELINE:
                not_rebuilt.append(f"{name}: kept as readings before/after the run, not as events")
                continue
            descriptor = _descriptor(group, run_start)
            if descriptor is None:
                not_rebuilt.append(f"{name}: no {DESCRIPTOR_ATTR} in the file")
                continue
            keys = descriptor["data_keys"]
            if any(info.get("external") for info in keys.values()):
                not_rebuilt.append(f"{name}: external data are not in the file")
                continue
            if TIME_COLUMN not in group:
                not_rebuilt.append(f"{name}: no rows")
                continue
            missing = [key for key in keys if hdf5_name(key) not in group]
            if missing:
                not_rebuilt.append(f"{name}: no column for {', '.join(missing)[:200]}")
                continue
            rows = min(len(group[hdf5_name(key)]) for key in [*keys, TIME_COLUMN])
            times = _column(group[TIME_COLUMN], rows)
            documents.append(("descriptor", descriptor))
            if rows == 0:
                continue
            page = {
                "descriptor": descriptor["uid"],
                "uid": [str(uuid.uuid4()) for _ in range(rows)],
                "seq_num": list(range(1, rows + 1)),
                "time": times,
                "data": {key: _column(group[hdf5_name(key)], rows) for key in keys},
                "timestamps": {key: list(times) for key in keys},
                "filled": {},
            }
            documents.append(("event_page", page))
    return documents, not_rebuilt
