"""Data file names and folders in the facility layout, and exclusive file creation.

Layout: ``<root>/YYYY-MM/MM_DD_<user>/MM_DD_<user>_<technique>/<sample>_<NNNN>.<ext>``
(``.h5`` for USAXS, ``.hdf`` for SAXS and WAXS, as at the facility). The order
number ``NNNN`` is one counter per user folder (:class:`OrderNumbers`).

Files are written under a hidden temporary name in their final folder
(``.<name>.partial-<random>``, :mod:`.publish`) and linked to their final
name only when complete, never overwriting an existing file.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType

from .publish import PARTIAL, partial_files, partial_path, publish, write_file

TECHNIQUES = ("usaxs", "saxs", "waxs")
SUFFIX = ".h5"
#: file name ending per technique, as the facility names them
SUFFIXES = {"usaxs": SUFFIX, "saxs": ".hdf", "waxs": ".hdf"}
DATA_SUFFIXES = tuple(sorted(set(SUFFIXES.values())))
ORDER_FILE = ".order_numbers.json"
"""The order-number state of a user folder (hidden, beside the technique folders)."""
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in range(10)
}
_TRANSLIT = {"µ": "u", "μ": "u", "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "đ": "d"}
_TRANSLIT |= {"Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "Th", "œ": "oe", "Œ": "OE"}
_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def safe_name(name: str, max_length: int = 80) -> str:
    """Return ``name`` made safe as one file or folder name on any filesystem.

    Keeps ASCII letters, digits, ``-``, ``_`` and single ``.``; accented letters
    lose their accents, anything else (spaces, slashes, control characters,
    ``..``) becomes ``_``; repeats collapse; leading ``.``/``_``/``-`` and trailing
    ``.``/``_`` go; Windows device names get a trailing ``_``. The result is at
    most ``max_length`` (>= 8) characters and never empty (``unnamed``).
    """
    if max_length < 8:
        raise ValueError(f"max_length must be >= 8, got {max_length}")
    chars = []
    for ch in unicodedata.normalize("NFKD", str(name)):
        if unicodedata.combining(ch):
            continue
        chars.append(ch if ch in _ALLOWED else _TRANSLIT.get(ch, "_"))
    text = re.sub(r"\.{2,}", "_", "".join(chars))
    text = re.sub(r"_{2,}", "_", re.sub(r"[_.]*_[_.]*", "_", text))
    text = _trim(text[:max_length])
    stem, dot, rest = text.partition(".")
    if stem.upper() in _WINDOWS_RESERVED:
        text = f"{stem}_{dot}{rest}"[:max_length].rstrip(".")
    return text or "unnamed"


def _trim(text: str) -> str:
    """Return ``text`` without leading ``._-`` and trailing ``._`` characters."""
    return text.lstrip("._-").rstrip("._")


def user_folder(root: str | Path, when: datetime, user: str) -> Path:
    """Return ``<root>/YYYY-MM/MM_DD_<user>`` (not created); ``user`` is made safe.

    Raise ValueError if the folder would resolve outside ``root`` (e.g. through
    a symbolic link).
    """
    root = Path(root)
    folder = root / f"{when:%Y-%m}" / f"{when:%m_%d}_{safe_name(user)}"
    if not folder.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"data folder {folder} resolves outside the data root {root}")
    return folder


def data_folder(root: str | Path, when: datetime, user: str, technique: str) -> Path:
    """Return ``<root>/YYYY-MM/MM_DD_<user>/MM_DD_<user>_<technique>`` (not created).

    ``technique`` is usaxs, saxs or waxs (any case); ``user`` is made safe.
    Raise ValueError for another technique or if the folder would resolve
    outside ``root`` (e.g. through a symbolic link).
    """
    tech = str(technique).lower()
    if tech not in TECHNIQUES:
        raise ValueError(f"technique {technique!r} not allowed; use one of {', '.join(TECHNIQUES)}")
    parent = user_folder(root, when, user)
    folder = parent / f"{parent.name}_{tech}"
    if not folder.resolve().is_relative_to(Path(root).resolve()):
        raise ValueError(f"data folder {folder} resolves outside the data root {root}")
    return folder


_ORDER = re.compile(
    rf"^\.?.+_(\d{{4,}})(?:{'|'.join(re.escape(x) for x in DATA_SUFFIXES)})"
    rf"(?:{re.escape(PARTIAL)}\w+)?$"
)


def highest_order_number(folder: str | Path) -> int:
    """Return the highest order number of the data files in a user folder's technique folders.

    Counts ``<name>_NNNN.h5`` / ``.hdf`` files and their partial files; 0 if none.
    """
    folder = Path(folder)
    highest = 0
    for tech in TECHNIQUES:
        try:
            names = os.listdir(folder / f"{folder.name}_{tech}")
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in names:
            match = _ORDER.match(entry)
            if match:
                highest = max(highest, int(match.group(1)))
    return highest


class OrderNumbers:
    """The file order numbers of one user folder, as at the facility.

    One counter per user folder, growing through the session and never reused:
    the USAXS, SAXS and WAXS files of one sample measurement (consecutive runs
    of one title, each technique once) share a number; a new title, or a
    technique measured again, takes the next one. The state lives in
    ``<folder>/.order_numbers.json`` (written atomically), so it survives a
    restart; files found in the folder that are numbered higher win over it.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / ORDER_FILE
        self.last, self.title, self.techniques = 0, None, []
        try:
            state = json.loads(self.path.read_text())
            self.last = int(state["last"])
            self.title = state.get("title")
            self.techniques = [str(t) for t in state.get("techniques", [])]
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            pass

    def assign(self, title: str, technique: str) -> int:
        """Return the order number of the next file of ``title`` by ``technique``; record it."""
        tech = str(technique).lower()
        on_disk = highest_order_number(self.folder)
        if on_disk > self.last:
            self.last, self.title, self.techniques = on_disk, None, []
        if self.last and title == self.title and tech not in self.techniques:
            self.techniques.append(tech)
        else:
            self.last, self.title, self.techniques = self.last + 1, title, [tech]
        self._save()
        return self.last

    def _save(self) -> None:
        state = {"last": self.last, "title": self.title, "techniques": self.techniques}
        write_file(self.path, json.dumps(state))


def numbered_name(title: str, number: int, technique: str) -> str:
    """Return ``<safe title>_<NNNN><ext>``: the file of order ``number`` (ext by technique)."""
    return f"{safe_name(title)}_{number:04d}{SUFFIXES[str(technique).lower()]}"


def _numbers(folder: Path, stem: str, suffix: str = SUFFIX) -> Iterator[int]:
    """Yield the numbers of ``<stem>_NNNN<suffix>`` files and their partial files in ``folder``."""
    pattern = re.compile(
        rf"^\.?{re.escape(stem)}_(\d{{4,}}){re.escape(suffix)}(?:{re.escape(PARTIAL)}\w+)?$"
    )
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for entry in names:
        match = pattern.match(entry)
        if match and (entry.startswith(".") == (PARTIAL in entry)):
            yield int(match.group(1))


def next_data_path(folder: str | Path, sample: str, suffix: str = SUFFIX) -> Path:
    """Return ``<folder>/<safe sample>_<NNNN><suffix>`` numbered one above the highest in use.

    Counts finished files and in-progress partial files of the same sample;
    starts at 0001. The folder need not exist.
    """
    folder = Path(folder)
    stem = safe_name(sample)
    number = max(_numbers(folder, stem, suffix), default=0) + 1
    return folder / f"{stem}_{number:04d}{suffix}"


class ExclusiveFile:
    """A file written under a hidden temporary name and linked to its final name when complete.

    ``open()`` creates the folder and an empty ``.<name>.partial-<random>`` file
    and returns its path (open it for writing, e.g. ``h5py.File(tmp, "w")``, and
    close it before committing). ``commit()`` links it to the final name without
    overwriting (FileExistsError if the final name exists; the partial file is
    then kept) and removes the partial name. ``discard()`` removes it.

    As a context manager it yields itself: on normal exit it commits unless
    already committed or discarded; on an exception it discards unless the
    caller already committed (e.g. to keep an aborted scan) - the caller decides
    by calling ``commit()`` in its own ``except`` block.
    """

    def __init__(self, final_path: str | Path) -> None:
        self.final_path = Path(final_path)
        self.temp_path: Path | None = None
        self.state = "new"  # new -> open -> committed | discarded

    def open(self) -> Path:
        """Create the partial file and return its path; FileExistsError if the name is taken.

        The name is taken when the final file or another writer's partial file exists.
        """
        if self.state != "new":
            raise RuntimeError(f"{self.final_path}: already {self.state}")
        folder = self.final_path.parent
        folder.mkdir(parents=True, exist_ok=True)
        if self.final_path.exists():
            raise FileExistsError(f"{self.final_path} exists; never overwritten")
        temp = partial_path(self.final_path)
        os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        self.temp_path, self.state = temp, "open"
        # Checked after creating ours: a writer that finishes links its final name before
        # removing its partial file, so one of the two is always seen.
        others = [p for p in partial_files(self.final_path) if p != temp]
        if others or self.final_path.exists():
            self.discard()
            raise FileExistsError(f"{self.final_path} is being written by another writer")
        return temp

    def commit(self) -> Path:
        """Link the partial file to the final name (never overwriting) and return the final path."""
        if self.state != "open" or self.temp_path is None:
            raise RuntimeError(f"{self.final_path}: cannot commit, file is {self.state}")
        publish(self.temp_path, self.final_path)
        self.state = "committed"
        return self.final_path

    def discard(self) -> None:
        """Remove the partial file (if any); the final name is never touched."""
        if self.state == "open" and self.temp_path is not None:
            self.temp_path.unlink(missing_ok=True)
        self.state = "discarded"

    def __enter__(self) -> ExclusiveFile:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.state != "open":
            return
        if exc_type is None:
            self.commit()
        else:
            self.discard()


@contextmanager
def exclusive_output(final_path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success link it to ``final_path``, on error remove it.

    Raise FileExistsError (before anything is written) when ``final_path`` exists
    or is being written by another writer, or at the end if it appeared meanwhile.
    """
    with ExclusiveFile(final_path) as output:
        yield output.temp_path


def open_next_data_file(
    folder: str | Path, sample: str, attempts: int = 20, suffix: str = SUFFIX
) -> ExclusiveFile:
    """Return an opened ExclusiveFile for the next free ``<sample>_<NNNN><suffix>`` in ``folder``.

    Retries with the next number when a concurrent writer took the name first.
    """
    for _ in range(attempts):
        output = ExclusiveFile(next_data_path(folder, sample, suffix))
        try:
            output.open()
        except FileExistsError:
            time.sleep(random.uniform(0, 0.01))  # break the symmetry of two writers backing off
            continue
        return output
    raise FileExistsError(f"no free file name for {sample!r} in {folder} after {attempts} tries")
