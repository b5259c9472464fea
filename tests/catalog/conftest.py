"""Catalogs for the catalog tests: runs replayed through TiledWriter, small HDF5 files recorded."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from bluesky_tiled_plugins import TiledWriter
from event_model import compose_run

from usaxs_bluesky.catalog.files import FileRecorder
from usaxs_bluesky.catalog.integrity import START_PATH, STOP_PATH
from usaxs_bluesky.catalog.store import embedded_paths, open_catalog

MATILDA = Path(__file__).resolve().parents[3] / "shared" / "clients" / "matilda" / "matilda"
DAY = 86400.0
NOW = time.time()

# user, sample title, plan, technique, age (days), proposal
RUNS = [
    ("alice", "Glassy Carbon 1", "Flyscan", "USAXS", 10, "1001"),
    ("alice", "water_blank", "SAXS", "SAXS", 40, "1001"),
    ("bob", "Spheres 50%_a", "WAXS", "WAXS", 100, "2002"),
    ("bob", "spheres 50x_b", "Flyscan", "USAXS", 200, "2002"),
    ("carol", "GC?x", "count", "", 400, "3003"),
]


@dataclass
class Filled:
    """A catalog with :data:`RUNS` and their files: ``uids[i]`` is ``RUNS[i]``."""

    data_dir: Path
    catalog: object
    uids: list[str]
    files: dict[str, list[Path]]


def write_nexus(path: Path, start: dict, stop: dict | None, *, reduced: bool = False) -> Path:
    """A small NeXus file carrying the start/stop documents as the writers do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "x") as f:
        if reduced:
            f.create_group("sasentry01").attrs["canSAS_class"] = "SASentry"
        f.create_dataset("/entry/data/I", data=np.arange(50.0) * (1 + len(start["title"])))
        f[START_PATH] = json.dumps(start)
        if stop is not None:
            f[STOP_PATH] = json.dumps(stop)
    return path


def replay(catalog, *, user, title, plan, technique, age_days, proposal) -> tuple[dict, dict]:
    """Write one run (start + stop) through TiledWriter; return the documents."""
    md = {"user_name": user, "title": title, "plan_name": plan, "proposal_id": proposal}
    if technique:
        md["technique"] = technique
    bundle = compose_run(time=NOW - age_days * DAY, metadata=md)
    stop = bundle.compose_stop()
    writer = TiledWriter(catalog)
    writer("start", bundle.start_doc)
    writer("stop", stop)
    return dict(bundle.start_doc), dict(stop)


def copy_empty_catalog(data_dir: Path, template: Path) -> Any:
    """Return the catalog of ``data_dir``, made by copying the empty one of ``template``."""
    shutil.copytree(embedded_paths(template)["root"], embedded_paths(data_dir)["root"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return open_catalog(data_dir, create=False)


def fill(data_dir: Path, template: Path) -> Filled:
    """Make the embedded catalog in ``data_dir`` with :data:`RUNS`, each with raw + reduced files.

    The empty catalog is copied from ``template`` (initializing one takes seconds).
    """
    catalog = copy_empty_catalog(data_dir, template)
    record = FileRecorder(catalog)
    uids, files = [], {}
    for user, title, plan, technique, age, proposal in RUNS:
        start, stop = replay(
            catalog,
            user=user,
            title=title,
            plan=plan,
            technique=technique,
            age_days=age,
            proposal=proposal,
        )
        uid = start["uid"]
        folder = data_dir / "files" / user / uid[:8]
        raw = write_nexus(folder / f"{uid[:8]}_raw.h5", start, stop)
        red = write_nexus(folder / f"{uid[:8]}_red.h5", start, stop, reduced=True)
        record(uid, raw, "raw")
        record(uid, red, "reduced")
        uids.append(uid)
        files[uid] = [raw, red]
    return Filled(data_dir, catalog, uids, files)


@pytest.fixture(scope="session")
def empty_catalog(tmp_path_factory) -> Path:
    """A data directory with an empty, initialized embedded catalog (copied by :func:`fill`)."""
    data_dir = tmp_path_factory.mktemp("empty_catalog")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        open_catalog(data_dir, create=True)
    return data_dir


@pytest.fixture(scope="module")
def filled(tmp_path_factory, empty_catalog) -> Filled:
    """A catalog shared by the read-only tests of a module."""
    return fill(tmp_path_factory.mktemp("catalog_ro"), empty_catalog)


@pytest.fixture
def fresh(tmp_path, empty_catalog) -> Filled:
    """A catalog of one test's own (for tests that change it)."""
    return fill(tmp_path / "data", empty_catalog)


@pytest.fixture(scope="module")
def readfromtiled():
    """Matilda's ``readfromtiled`` module, imported unchanged from ``../shared/clients``."""
    if not (MATILDA / "readfromtiled.py").is_file():
        pytest.skip(f"Matilda not found at {MATILDA}")
    sys.path.insert(0, str(MATILDA))
    try:
        yield importlib.import_module("readfromtiled")
    finally:
        sys.path.remove(str(MATILDA))


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server of this test session (Debian's package); skip where it is absent."""
    from .pgserver import postgres_server, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with postgres_server() as server:
        yield server
