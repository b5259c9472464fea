"""``usaxs export``: checksummed, verified, resumable copies; bad destinations refused."""

from __future__ import annotations

import json
import shutil
import tarfile
import zipfile
from collections import namedtuple
from pathlib import Path

import pytest

from usaxs_bluesky.catalog import export
from usaxs_bluesky.catalog.export import ExportError, export_runs, verify_export
from usaxs_bluesky.catalog.files import sha256_file
from usaxs_bluesky.catalog.search import find_runs
from usaxs_bluesky.cli import main
from usaxs_bluesky.contract.publish import PARTIAL, partial_path


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_export_tree_manifest_and_verify(filled, tmp_path, capsys):
    dest = tmp_path / "usb"
    args = ["export", "--data-dir", str(filled.data_dir), "--user", "bob", "--to", str(dest)]
    assert main(args) == 0
    assert "[4/4] copied" in capsys.readouterr().err
    runs = find_runs(catalog=filled.catalog, user="bob")
    lines = (dest / "MANIFEST.sha256").read_text().splitlines()
    assert len(lines) == 4
    for run in runs:
        for record in run.files:
            rel = export.export_relpath(run, record.path)
            assert rel.parts[0] == "bob" and rel.parts[2] == (
                "USAXS" if run.plan == "Flyscan" else "WAXS"
            )
            assert f"{record.sha256}  {rel}" in lines
            assert sha256_file(dest / rel) == record.sha256
    manifest = json.loads((dest / "manifest.json").read_text())
    assert {r["uid"] for r in manifest["runs"]} == {r.uid for r in runs}
    assert verify_export(dest) == []
    assert main(["export", "--to", str(dest), "--verify"]) == 0


def test_tampered_copy_detected(filled, tmp_path, capsys):
    dest = tmp_path / "usb"
    export_runs(find_runs(catalog=filled.catalog, user="alice"), dest)
    victim = sorted(dest.rglob("*_raw.h5"))[0]
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    problems = verify_export(dest)
    assert problems == [f"checksum mismatch: {victim.relative_to(dest)}"]
    assert main(["export", "--to", str(dest), "--verify"]) == 1
    assert str(victim.relative_to(dest)) in capsys.readouterr().out
    # exporting again refuses to overwrite the (different) file
    with pytest.raises(ExportError, match="refusing to overwrite"):
        export_runs(find_runs(catalog=filled.catalog, user="alice"), dest)


def test_interrupted_export_resumes(filled, tmp_path, monkeypatch):
    runs = find_runs(catalog=filled.catalog)
    dest = tmp_path / "usb"
    real_copy = export._copy_verified
    calls = []

    def failing_copy(item, target):
        if len(calls) == 3:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial_path(target).write_bytes(b"half a file")
            raise KeyboardInterrupt  # the user pulled the plug mid-copy
        calls.append(item)
        real_copy(item, target)

    monkeypatch.setattr(export, "_copy_verified", failing_copy)
    with pytest.raises(KeyboardInterrupt):
        export_runs(runs, dest)
    monkeypatch.setattr(export, "_copy_verified", real_copy)
    seen = []
    result = export_runs(runs, dest, progress=lambda i, n, item, status: seen.append(status))
    assert (result.skipped, result.copied) == (3, 7)
    assert seen == ["verified"] * 3 + ["copied"] * 7
    assert verify_export(dest) == []
    assert not list(dest.rglob(f".*{PARTIAL}*"))
    assert len((dest / "MANIFEST.sha256").read_text().splitlines()) == 10


@pytest.mark.parametrize("suffix", [".zip", ".tar"])
def test_archive(filled, tmp_path, suffix):
    archive = tmp_path / f"alice{suffix}"
    export_runs(find_runs(catalog=filled.catalog, user="alice"), tmp_path / "out", archive=archive)
    if suffix == ".zip":
        names = zipfile.ZipFile(archive).namelist()
    else:
        names = tarfile.open(archive).getnames()
    assert "MANIFEST.sha256" in names and "manifest.json" in names
    assert len([n for n in names if n.endswith(".h5")]) == 4
    with pytest.raises(ExportError, match="refusing to overwrite"):
        export_runs(
            find_runs(catalog=filled.catalog, user="alice"), tmp_path / "o2", archive=archive
        )


def test_unwritable_destination_changes_nothing(filled, tmp_path, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file")
    before = _tree(tmp_path)
    status = main(["export", "--data-dir", str(filled.data_dir), "--user", "bob",
                   "--to", str(blocker / "usb")])  # fmt: skip
    assert status == 2
    assert "is not a folder" in capsys.readouterr().err
    assert _tree(tmp_path) == before


def test_full_destination_refused(filled, tmp_path, monkeypatch, capsys):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 100, 100))
    dest = tmp_path / "usb"
    status = main(["export", "--data-dir", str(filled.data_dir), "--to", str(dest)])
    assert status == 2
    err = capsys.readouterr().err
    assert "not enough space" in err and "100 bytes free" in err
    assert not dest.exists()


def test_no_match_exports_nothing(filled, tmp_path, capsys):
    dest = tmp_path / "usb"
    args = ["export", "--data-dir", str(filled.data_dir), "--sample", "zirconia", "--to", str(dest)]
    assert main(args) == 1
    assert "no sample name in the catalog matches 'zirconia'" in capsys.readouterr().err
    assert not dest.exists()


def test_missing_source_refused_before_copying(fresh, tmp_path):
    runs = find_runs(catalog=fresh.catalog, user="alice")
    Path(runs[-1].files[0].path).unlink()
    with pytest.raises(ExportError, match="missing source"):
        export_runs(runs, tmp_path / "usb")
    assert not (tmp_path / "usb").exists()
