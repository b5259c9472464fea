"""Write a file under a hidden temporary name, then publish it under its final name.

Every writer of the package (raw NeXus files, order-number state, reduced
NXcanSAS files and plots, exported copies and manifests) goes through here,
so an interrupted write never leaves a half file under a final name and all
in-progress files look alike: ``.<final name>.partial-<random>`` in the final
folder (:func:`partial_path`, :func:`partial_files`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL = ".partial-"
"""Marks an in-progress file: ``.<final name>.partial-<random>``."""


def partial_path(final_path: str | Path) -> Path:
    """Return a fresh (not yet existing) hidden partial name for ``final_path``, in its folder."""
    final_path = Path(final_path)
    return final_path.with_name(f".{final_path.name}{PARTIAL}{secrets.token_hex(6)}")


def partial_files(final_path: str | Path) -> list[Path]:
    """Return the in-progress partial files of ``final_path`` in its folder (sorted)."""
    final_path = Path(final_path)
    prefix = f".{final_path.name}{PARTIAL}"
    try:
        return sorted(p for p in final_path.parent.iterdir() if p.name.startswith(prefix))
    except FileNotFoundError:
        return []


def publish(temp_path: str | Path, final_path: str | Path, *, replace: bool = False) -> Path:
    """Give the written file ``temp_path`` the name ``final_path``; return ``final_path``.

    The data are flushed to disk first. Without ``replace`` an existing final
    file is never overwritten: FileExistsError, and ``temp_path`` is kept so no
    data are lost. On file systems without hard links the file is renamed
    after checking the final name is free. With ``replace`` the final file is
    atomically replaced (state files such as the order numbers).
    """
    temp_path, final_path = Path(temp_path), Path(final_path)
    with open(temp_path, "rb") as stream:
        os.fsync(stream.fileno())
    if replace:
        os.replace(temp_path, final_path)
        return final_path
    try:
        os.link(temp_path, final_path)
    except FileExistsError:
        raise FileExistsError(f"{final_path} exists; data kept in {temp_path}") from None
    except OSError:  # no hard links (FAT/exFAT): rename, after checking the name is free
        if final_path.exists():
            raise FileExistsError(f"{final_path} exists; data kept in {temp_path}") from None
        os.rename(temp_path, final_path)
        return final_path
    temp_path.unlink()
    return final_path


@contextmanager
def published(final_path: str | Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield a fresh partial path to write; on success :func:`publish` it, on error remove it.

    The folder is created. Without ``replace``, FileExistsError is raised
    before anything is written when ``final_path`` exists (and at the end if
    it appeared meanwhile; the partial file is then removed).
    """
    final_path = Path(final_path)
    if not replace and final_path.exists():
        raise FileExistsError(f"{final_path} exists; never overwritten")
    final_path.parent.mkdir(parents=True, exist_ok=True)
    temp = partial_path(final_path)
    try:
        yield temp
        publish(temp, final_path, replace=replace)
    finally:
        temp.unlink(missing_ok=True)


def write_file(final_path: str | Path, data: str | bytes, *, replace: bool = True) -> Path:
    """Write ``data`` (text as UTF-8) to ``final_path`` through a partial file; return the path.

    Replaces an existing file by default (state, manifest and page files).
    """
    with published(final_path, replace=replace) as temp:
        temp.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(final_path)
