"""Copy the raw and reduced files of runs to a folder (USB disk, cloud sync) with checksums.

Layout: ``<dest>/<user>/<YYYY-MM-DD>/<technique or plan>/<file>``, plus
``MANIFEST.sha256`` (``sha256sum -c`` format, paths relative to ``<dest>``)
and ``manifest.json`` (runs with their uids and files). Every check (sources
present, destination writable, no different file in the way, enough free
space) is made before anything is written. Each file is copied to a hidden
partial file (``contract.publish``), checked against the checksum recorded in the catalog, then
linked to its final name (never over an existing file) and read back once
more. A repeated export skips copies already verified, so an interrupted
export resumes where it stopped.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..contract.files import safe_name
from ..contract.publish import partial_files, published, write_file
from .files import sha256_file
from .search import RunSummary

MANIFEST = "MANIFEST.sha256"
MANIFEST_JSON = "manifest.json"
EXPORT_KINDS = ("raw", "reduced")
_CHUNK = 1 << 20


class ExportError(ValueError):
    """The export cannot start (or a copy failed its check); the message says why."""


@dataclass(frozen=True)
class CopyItem:
    """One file to export: where from, where to (relative to the destination), its checksum."""

    uid: str
    source: Path
    relpath: PurePosixPath
    sha256: str
    size: int
    kind: str


@dataclass
class ExportPlan:
    """What an export will do: ``todo`` to copy, ``done`` already verified at the destination."""

    destination: Path
    runs: list[RunSummary]
    todo: list[CopyItem] = field(default_factory=list)
    done: list[CopyItem] = field(default_factory=list)

    @property
    def bytes_needed(self) -> int:
        """Bytes still to copy."""
        return sum(item.size for item in self.todo)


@dataclass(frozen=True)
class ExportResult:
    """Counts of an export: files copied, files already there, bytes copied, archive written."""

    copied: int
    skipped: int
    bytes_copied: int
    archive: Path | None = None


Progress = Callable[[int, int, CopyItem, str], None]


def export_relpath(run: RunSummary, source: str) -> PurePosixPath:
    """``<user>/<YYYY-MM-DD>/<technique or plan>/<file name>`` for a file of ``run``."""
    day = datetime.datetime.fromtimestamp(run.time).strftime("%Y-%m-%d")
    group = run.technique or run.plan or "run"
    return PurePosixPath(safe_name(run.user or "unknown"), day, safe_name(group), Path(source).name)


def existing_ancestor(path: Path) -> Path:
    """The nearest folder at or above ``path`` that exists (raises if a file is in the way)."""
    path = path.absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise ExportError(f"destination {path}: {candidate} is not a folder")
            return candidate
    raise ExportError(f"destination {path}: no existing parent folder")


def check_writable(path: Path) -> Path:
    """Return the nearest existing folder of ``path`` after proving a file can be made in it."""
    folder = existing_ancestor(path)
    try:
        fd, probe = tempfile.mkstemp(prefix=".usaxs-probe-", dir=folder)
    except OSError as exc:
        raise ExportError(f"destination {path} is not writable: {exc.strerror}") from None
    os.close(fd)
    os.unlink(probe)
    return folder


def plan_export(runs: Iterable[RunSummary], destination: Path) -> ExportPlan:
    """Return the plan of an export of the raw and reduced files of ``runs`` to ``destination``.

    Raises :class:`ExportError` when a source is missing or has another size
    than recorded, when two files would land on one path, or when a
    different file already sits at a destination path.
    """
    destination = Path(destination).absolute()
    plan = ExportPlan(destination=destination, runs=list(runs))
    wanted: dict[PurePosixPath, CopyItem] = {}
    problems: list[str] = []
    for run in plan.runs:
        for record in run.files_of(*EXPORT_KINDS):
            item = CopyItem(
                run.uid,
                Path(record.path),
                export_relpath(run, record.path),
                record.sha256,
                record.size,
                record.kind,
            )
            if not item.source.is_file():
                problems.append(f"missing source {item.source} (run {run.uid})")
            elif item.source.stat().st_size != item.size:
                problems.append(f"source {item.source} changed since recorded (size)")
            previous = wanted.setdefault(item.relpath, item)
            if previous.sha256 != item.sha256:
                problems.append(f"{previous.source} and {item.source} would both be {item.relpath}")
    for relpath, item in wanted.items():
        target = destination / relpath
        if not target.exists():
            plan.todo.append(item)
        elif (
            target.is_file()
            and target.stat().st_size == item.size
            and sha256_file(target) == item.sha256
        ):
            plan.done.append(item)
        else:
            problems.append(f"refusing to overwrite {target}: a different file is there")
    if problems:
        raise ExportError("; ".join(problems))
    return plan


#: bytes a manifest line may take beyond its path (SHA-256 line; JSON entry with size, kind, uid)
MANIFEST_LINE_BYTES = 256


def _blocks(size: int, block: int) -> int:
    """Return ``size`` rounded up to whole blocks of ``block`` bytes."""
    return -(-size // block) * block


def space_needed(plan: ExportPlan, extra_bytes: int, block: int) -> int:
    """Return the bytes the export takes on a file system of ``block``-byte blocks.

    Every file to copy, the manifests (both, for every file, written next to
    the old ones before the rename), every new folder and ``extra_bytes``
    (an archive) are rounded up to whole blocks.
    """
    items = plan.done + plan.todo
    manifest = sum(MANIFEST_LINE_BYTES + len(str(i.relpath)) for i in items)
    folders = {
        i.relpath.parent for i in plan.todo if not (plan.destination / i.relpath.parent).exists()
    }
    return (
        sum(_blocks(i.size, block) for i in plan.todo)
        + 2 * 2 * _blocks(manifest, block)
        + block * len(folders)
        + _blocks(extra_bytes, block)
    )


def check_destination(destination: Path, data_dir: Path | None) -> None:
    """Raise :class:`ExportError` when ``destination`` is inside the data directory."""
    if data_dir is None:
        return
    dest, root = Path(destination).resolve(), Path(data_dir).resolve()
    if dest.is_relative_to(root):
        raise ExportError(
            f"refusing to export into {dest}: it is inside the data directory {root};"
            " choose a folder outside it"
        )


def check_space(plan: ExportPlan, extra_bytes: int = 0) -> tuple[int, int]:
    """Return ``(bytes needed, bytes free)`` at the destination; :class:`ExportError` if short.

    Needed: :func:`space_needed` with the destination's block size.
    """
    folder = check_writable(plan.destination)
    needed = space_needed(plan, extra_bytes, os.statvfs(folder).f_frsize or 4096)
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise ExportError(
            f"not enough space at {plan.destination}: {needed} bytes needed, {free} bytes free"
        )
    return needed, free


def _copy_verified(item: CopyItem, target: Path) -> None:
    """Copy ``item`` to ``target`` through a partial file; publish it only if the checksum agrees.

    Partial files of ``target`` left by an interrupted export are removed first.
    """
    for stale in partial_files(target):
        stale.unlink(missing_ok=True)
    digest = hashlib.sha256()
    try:
        with published(target) as part:
            with open(item.source, "rb") as src, open(part, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
            if digest.hexdigest() != item.sha256:
                raise ExportError(
                    f"{item.source} does not match the checksum recorded in the catalog"
                )
            shutil.copystat(item.source, part)
    except FileExistsError:
        raise ExportError(
            f"refusing to overwrite {target}: it appeared during the export"
        ) from None
    if sha256_file(target) != item.sha256:
        raise ExportError(f"copy {target} does not read back with the recorded checksum")


def write_manifests(plan: ExportPlan) -> None:
    """Write (merging with a previous export there) ``MANIFEST.sha256`` and ``manifest.json``."""
    dest = plan.destination
    sums: dict[str, str] = {}
    if (dest / MANIFEST).exists():
        for line in (dest / MANIFEST).read_text().splitlines():
            digest, _, rel = line.partition("  ")
            sums[rel] = digest
    runs: dict[str, dict] = {}
    if (dest / MANIFEST_JSON).exists():
        runs = {run["uid"]: run for run in json.loads((dest / MANIFEST_JSON).read_text())["runs"]}
    items = plan.done + plan.todo
    for item in items:
        sums[str(item.relpath)] = item.sha256
    for run in plan.runs:
        files = [item for item in items if item.uid == run.uid]
        runs[run.uid] = {
            "uid": run.uid,
            "user": run.user,
            "sample": run.sample,
            "plan": run.plan,
            "scan_id": run.scan_id,
            "start_time": datetime.datetime.fromtimestamp(run.time).isoformat(),
            "files": [
                {
                    "path": str(i.relpath),
                    "kind": i.kind,
                    "sha256": i.sha256,
                    "size_bytes": i.size,
                    "source": str(i.source),
                }
                for i in files
            ],
        }
    write_file(dest / MANIFEST, "".join(f"{d}  {rel}\n" for rel, d in sorted(sums.items())))
    document = {
        "format": "usaxs-export-1",
        "updated": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "runs": sorted(runs.values(), key=lambda r: r["start_time"]),
    }
    write_file(dest / MANIFEST_JSON, json.dumps(document, indent=2) + "\n")


def verify_export(destination: Path) -> list[str]:
    """Return the problems of an export folder against its ``MANIFEST.sha256`` (empty: good)."""
    manifest = Path(destination) / MANIFEST
    if not manifest.is_file():
        raise ExportError(f"no {MANIFEST} in {destination}")
    problems = []
    for line in manifest.read_text().splitlines():
        digest, _, rel = line.partition("  ")
        path = Path(destination) / rel
        if not path.is_file():
            problems.append(f"missing: {rel}")
        elif sha256_file(path) != digest:
            problems.append(f"checksum mismatch: {rel}")
    return problems


def _archive_names(plan: ExportPlan) -> list[str]:
    return [MANIFEST, MANIFEST_JSON] + sorted(str(i.relpath) for i in plan.done + plan.todo)


def write_archive(plan: ExportPlan, archive: Path) -> Path:
    """Write the exported files and manifests into ``archive`` (``.zip``, ``.tar``, ``.tar.gz``).

    Raises :class:`ExportError` when ``archive`` exists (never overwritten).
    """
    archive = Path(archive).absolute()
    names = _archive_names(plan)
    try:
        with published(archive) as part:
            if archive.name.endswith(".zip"):
                with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                    for name in names:
                        zf.write(plan.destination / name, arcname=name)
            else:
                mode = "w:gz" if archive.name.endswith((".tar.gz", ".tgz")) else "w"
                with tarfile.open(part, mode) as tf:
                    for name in names:
                        tf.add(plan.destination / name, arcname=name)
    except FileExistsError:
        raise ExportError(f"refusing to overwrite {archive}") from None
    return archive


def check_archive_name(archive: Path) -> None:
    """Refuse an archive name of an unknown kind or one that exists already."""
    if not archive.name.endswith((".zip", ".tar", ".tar.gz", ".tgz")):
        raise ExportError(f"--archive {archive}: the name must end in .zip, .tar or .tar.gz")
    if archive.exists():
        raise ExportError(f"refusing to overwrite {archive}")
    check_writable(archive.parent)


def export_runs(
    runs: Iterable[RunSummary],
    destination: Path,
    *,
    archive: Path | None = None,
    progress: Progress | None = None,
    data_dir: Path | None = None,
) -> ExportResult:
    """Export the raw and reduced files of ``runs`` to ``destination`` (and ``archive``).

    ``progress(index, total, item, status)`` is called for every file
    (status ``copied`` or ``verified`` for one already there). Raises
    :class:`ExportError` before writing anything when the export cannot be done,
    or when ``destination`` lies inside ``data_dir`` (the data directory).
    """
    check_destination(destination, data_dir)
    plan = plan_export(runs, destination)
    if archive is not None:
        check_archive_name(Path(archive))
    check_space(plan, extra_bytes=sum(i.size for i in plan.done + plan.todo) if archive else 0)
    total = len(plan.done) + len(plan.todo)
    for index, item in enumerate(plan.done, start=1):
        if progress:
            progress(index, total, item, "verified")
    plan.destination.mkdir(parents=True, exist_ok=True)
    copied = 0
    for index, item in enumerate(plan.todo, start=len(plan.done) + 1):
        _copy_verified(item, plan.destination / item.relpath)
        copied += item.size
        if progress:
            progress(index, total, item, "copied")
    write_manifests(plan)
    written = write_archive(plan, Path(archive)) if archive is not None else None
    return ExportResult(len(plan.todo), len(plan.done), copied, written)
