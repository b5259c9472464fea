"""Fixtures for the reduction tests: real facility files copied to tmp_path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def testdata_dir() -> Path:
    """USAXS_TESTDATA or <repo>/../shared/testdata."""
    return Path(os.environ.get("USAXS_TESTDATA", REPO.parent / "shared" / "testdata"))


def facility_file(relpath: str) -> Path:
    """Path of a read-only facility file, or skip the test with the reason."""
    path = testdata_dir() / "facility" / relpath
    if not path.is_file():
        pytest.skip(f"facility test file {path} not found (set USAXS_TESTDATA)")
    return path


@pytest.fixture
def facility(tmp_path):
    """Copy facility files into tmp_path; returns a function relpath -> copy."""

    def _copy(relpath: str) -> Path:
        src = facility_file(relpath)
        dst = tmp_path / relpath
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            shutil.copyfile(src, dst)
        return dst

    return _copy


@pytest.fixture
def nxcheck():
    """Path of nexusformat's ``nxcheck`` script (beside this interpreter or on PATH)."""
    import sys

    cand = Path(sys.executable).parent / "nxcheck"
    exe = str(cand) if cand.exists() else shutil.which("nxcheck")
    if exe is None:
        pytest.skip("nxcheck (nexusformat) not installed")
    return exe
