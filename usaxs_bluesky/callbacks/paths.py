"""Data file names and folders in the facility layout, and exclusive file creation.

Layout: ``<root>/YYYY-MM/MM_DD_<user>/MM_DD_<user>_<technique>/<sample>_<NNNN>.h5``.

Files are written under a hidden temporary name in their final folder
(``.<name>.partial-<random>``) and linked to their final name only when
complete, never overwriting an existing file.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType

TECHNIQUES = ("usaxs", "saxs", "waxs")
SUFFIX = ".h5"
PARTIAL = ".partial-"
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


def data_folder(root: str | Path, when: datetime, user: str, technique: str) -> Path:
    """Return ``<root>/YYYY-MM/MM_DD_<user>/MM_DD_<user>_<technique>`` (not created).

    ``technique`` is usaxs, saxs or waxs (any case); ``user`` is made safe.
    Raise ValueError for another technique or if the folder would resolve
    outside ``root`` (e.g. through a symbolic link).
    """
    tech = str(technique).lower()
    if tech not in TECHNIQUES:
        raise ValueError(f"technique {technique!r} not allowed; use one of {', '.join(TECHNIQUES)}")
    day = f"{when:%m_%d}_{safe_name(user)}"
    root = Path(root)
    folder = root / f"{when:%Y-%m}" / day / f"{day}_{tech}"
    if not folder.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"data folder {folder} resolves outside the data root {root}")
    return folder


def _numbers(folder: Path, stem: str) -> Iterator[int]:
    """Yield the numbers of ``<stem>_NNNN.h5`` files and their partial files in ``folder``."""
    pattern = re.compile(
        rf"^\.?{re.escape(stem)}_(\d{{4,}}){re.escape(SUFFIX)}(?:{re.escape(PARTIAL)}\w+)?$"
    )
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for entry in names:
        match = pattern.match(entry)
        if match and (entry.startswith(".") == (PARTIAL in entry)):
            yield int(match.group(1))


def next_data_path(folder: str | Path, sample: str) -> Path:
    """Return ``<folder>/<safe sample>_<NNNN>.h5`` numbered one above the highest in use.

    Counts finished files and in-progress partial files of the same sample;
    starts at 0001. The folder need not exist.
    """
    folder = Path(folder)
    stem = safe_name(sample)
    number = max(_numbers(folder, stem), default=0) + 1
    return folder / f"{stem}_{number:04d}{SUFFIX}"


def partial_files(final_path: str | Path) -> list[Path]:
    """Return the in-progress partial files of ``final_path`` in its folder."""
    final_path = Path(final_path)
    prefix = f".{final_path.name}{PARTIAL}"
    try:
        return sorted(p for p in final_path.parent.iterdir() if p.name.startswith(prefix))
    except FileNotFoundError:
        return []


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
        temp = folder / f".{self.final_path.name}{PARTIAL}{secrets.token_hex(6)}"
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
        with open(self.temp_path, "rb") as stream:
            os.fsync(stream.fileno())
        try:
            os.link(self.temp_path, self.final_path)
        except FileExistsError:
            raise FileExistsError(
                f"{self.final_path} exists; data kept in {self.temp_path}"
            ) from None
        self.temp_path.unlink()
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


def open_next_data_file(folder: str | Path, sample: str, attempts: int = 20) -> ExclusiveFile:
    """Return an opened ExclusiveFile for the next free ``<sample>_<NNNN>.h5`` in ``folder``.

    Retries with the next number when a concurrent writer took the name first.
    """
    for _ in range(attempts):
        output = ExclusiveFile(next_data_path(folder, sample))
        try:
            output.open()
        except FileExistsError:
            time.sleep(random.uniform(0, 0.01))  # break the symmetry of two writers backing off
            continue
        return output
    raise FileExistsError(f"no free file name for {sample!r} in {folder} after {attempts} tries")
