"""Stream table columns into an HDF5 group: chunked, resizable datasets, bounded memory.

Knows nothing of bluesky: a writer callback hands it rows (one event) or
columns (a block of events or fly-scan arrays).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np
from h5py import h5a, h5d, h5p, h5s, h5t

STRING_DTYPE = h5py.string_dtype("utf-8")
CHUNK_BYTES = 1 << 20
BUFFER_BYTES = 16 << 20


def _lcpl() -> h5p.PropLCID:
    """Return link-creation properties with UTF-8 names (as h5py makes them)."""
    lcpl = h5p.create(h5p.LINK_CREATE)
    lcpl.set_char_encoding(h5t.CSET_UTF8)
    return lcpl


LCPL = _lcpl()
"""Link-creation properties for the low-level calls: names are UTF-8."""
_SCALAR = h5s.create(h5s.SCALAR)
_VLEN_UTF8 = h5t.py_create(STRING_DTYPE, logical=True)
_PY_TEXT = h5t.py_create(STRING_DTYPE)  # memory type of a Python str: h5py converts it


def set_attrs(obj: h5py.HLObject, **attrs: Any) -> None:
    """Set attributes of ``obj`` (None values skipped); text as variable-length UTF-8.

    Text goes through the low-level API: h5py's ``attrs[...] =`` costs twice as much.
    """
    oid = obj.id
    for key, value in attrs.items():
        if value is None:
            continue
        if not isinstance(value, str):
            obj.attrs[key] = value
            continue
        name = key.encode("utf-8")
        if h5a.exists(oid, name):
            h5a.delete(oid, name)
        attr = h5a.create(oid, name, _VLEN_UTF8, _SCALAR)
        attr.write(np.array(value, dtype=STRING_DTYPE), mtype=_PY_TEXT)


def _as_array(value: Any) -> np.ndarray:
    """Return ``value`` as an array, strings (and bytes) as a variable-length string array."""
    if isinstance(value, str | bytes | np.str_ | np.bytes_):
        text = value.decode("utf-8") if isinstance(value, bytes | np.bytes_) else str(value)
        return np.array(text, dtype=STRING_DTYPE)
    array = np.asarray(value)
    if array.dtype.kind in "US":
        return array.astype(STRING_DTYPE)
    if array.dtype.kind == "O" and not all(isinstance(v, str) for v in array.flat):
        raise ValueError(f"unsupported value {value!r}: only numbers, booleans and strings")
    return array


def _column_dtype(array: np.ndarray) -> np.dtype:
    """Return the dataset dtype for a first value (strings as variable-length UTF-8)."""
    return STRING_DTYPE if array.dtype.kind in "OUS" else array.dtype


class ColumnWriter:
    """Append rows or blocks of columns to one dataset per column in ``group``.

    Each column is a dataset of shape ``(n, *shape)`` (``maxshape=(None, *shape)``,
    chunked), created on first use with the dtype and shape of its first value.
    The column set is fixed by the first ``append``/``extend``: a missing or new
    column, a value of another shape, or a value that cannot be cast safely to
    the column's dtype raises ValueError (nothing is padded). Rows are buffered,
    at most ``buffer_rows`` (and at most ``BUFFER_BYTES`` of data, but at least
    one row) at a time, and written when the buffer is full, on ``flush()`` and
    on ``close()``; memory does not grow with the run. A first block is
    written as the datasets are created (no resize).
    """

    def __init__(self, group: h5py.Group, buffer_rows: int = 1024) -> None:
        if buffer_rows < 1:
            raise ValueError(f"buffer_rows must be >= 1, got {buffer_rows}")
        self.group = group
        self.buffer_rows = buffer_rows
        self._datasets: dict[str, h5py.Dataset] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self._buffered = 0
        self._capacity = buffer_rows
        self._written = 0
        self._pending_attrs: dict[str, dict[str, Any]] = {}

    @property
    def columns(self) -> list[str]:
        """Return the column names, in creation order (empty before the first data)."""
        return list(self._datasets)

    def __len__(self) -> int:
        """Return the number of rows written or buffered."""
        return self._written + self._buffered

    def _create(self, name: str, dtype: np.dtype, shape: tuple[int, ...], first: Any) -> None:
        """Create the resizable dataset of one column (holding ``first``, a block, if given)."""
        if name in self.group:
            raise ValueError(f"{self.group.name}/{name} already exists in the file")
        row_bytes = max(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize, 1)
        chunk_rows = max(1, min(self.buffer_rows, CHUNK_BYTES // row_bytes))
        dcpl = h5p.create(h5p.DATASET_CREATE)
        dcpl.set_chunk((chunk_rows, *shape))
        rows = 0 if first is None else len(first)
        space = h5s.create_simple((rows, *shape), (h5s.UNLIMITED, *shape))
        tid = h5t.py_create(dtype, logical=True)
        dsid = h5d.create(self.group.id, name.encode("utf-8"), tid, space, dcpl=dcpl, lcpl=LCPL)
        if rows:
            dsid.write(h5s.ALL, h5s.ALL, np.ascontiguousarray(first, dtype=dtype))
        dataset = h5py.Dataset(dsid)
        set_attrs(dataset, **self._pending_attrs.pop(name, {}))
        self._datasets[name] = dataset
        self._buffers[name] = np.empty((self._capacity, *shape), dtype=dtype)

    def _define(self, first: Mapping[str, np.ndarray], leading: int) -> None:
        """Create every column from its first value(s); ``leading`` = 1 for a block (written)."""
        unknown = sorted(set(self._pending_attrs) - set(first))
        if unknown:
            raise ValueError(f"attributes set for column(s) {unknown} that never came")
        row_bytes = sum(
            max(int(np.prod(a.shape[leading:], dtype=np.int64)), 1) * _column_dtype(a).itemsize
            for a in first.values()
        )
        self._capacity = max(1, min(self.buffer_rows, BUFFER_BYTES // row_bytes))
        for name, array in first.items():
            self._create(
                name, _column_dtype(array), array.shape[leading:], array if leading else None
            )

    def _check(self, arrays: Mapping[str, np.ndarray], leading: int) -> None:
        """Raise ValueError for a different column set, shape or an unsafe dtype."""
        missing = sorted(set(self._datasets) - set(arrays))
        new = sorted(set(arrays) - set(self._datasets))
        if missing or new:
            raise ValueError(f"columns differ from {self.columns}: missing {missing}, new {new}")
        for name, array in arrays.items():
            dataset = self._datasets[name]
            if array.shape[leading:] != dataset.shape[1:]:
                raise ValueError(
                    f"column {name!r}: value shape {array.shape[leading:]}"
                    f" differs from column shape {dataset.shape[1:]}"
                )
            is_str = h5py.check_string_dtype(dataset.dtype) is not None
            if is_str != (array.dtype.kind in "OUS") or (
                not is_str and not np.can_cast(array.dtype, dataset.dtype, casting="same_kind")
            ):
                raise ValueError(
                    f"column {name!r} is {'str' if is_str else dataset.dtype};"
                    f" cannot store a {array.dtype} value"
                )

    def append(self, row: Mapping[str, Any]) -> None:
        """Buffer one row (name -> scalar, string or array); write when the buffer is full."""
        arrays = {name: _as_array(value) for name, value in row.items()}
        if not arrays:
            raise ValueError("empty row")
        if not self._datasets:
            self._define(arrays, 0)
        self._check(arrays, 0)
        for name, array in arrays.items():
            self._buffers[name][self._buffered] = array[()] if array.ndim == 0 else array
        self._buffered += 1
        if self._buffered == self._capacity:
            self.flush()

    def extend(self, columns: Mapping[str, Any]) -> None:
        """Write a block of rows given as equal-length arrays (first axis = rows)."""
        arrays = {name: _as_array(value) for name, value in columns.items()}
        if not arrays:
            raise ValueError("no columns")
        lengths = {name: (a.shape[0] if a.ndim else None) for name, a in arrays.items()}
        if None in lengths.values() or len(set(lengths.values())) != 1:
            raise ValueError(f"columns must be arrays of equal length, got lengths {lengths}")
        count = next(iter(lengths.values()))
        if not self._datasets:
            self._define(arrays, 1)
            self._written = count
            return
        self._check(arrays, 1)
        self.flush()
        for name, array in arrays.items():
            dataset = self._datasets[name]
            dataset.resize(self._written + count, axis=0)
            dataset[self._written :] = array
        self._written += count

    def set_attrs(self, name: str, **attrs: Any) -> None:
        """Set attributes (e.g. ``units``, ``epics_pv``) of a column, now or when it is created."""
        if name in self._datasets:
            set_attrs(self._datasets[name], **attrs)
        elif self._datasets:
            raise ValueError(f"no column {name!r}; columns are {self.columns}")
        else:
            self._pending_attrs.setdefault(name, {}).update(attrs)

    def flush(self) -> None:
        """Write the buffered rows to the datasets."""
        if not self._buffered:
            return
        end = self._written + self._buffered
        for name, dataset in self._datasets.items():
            dataset.resize(end, axis=0)
            dataset[self._written : end] = self._buffers[name][: self._buffered]
        self._written, self._buffered = end, 0

    def close(self) -> None:
        """Flush; the group's file stays open (its owner closes it)."""
        self.flush()

    def __enter__(self) -> ColumnWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
