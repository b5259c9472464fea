"""NexusWriter on the sim: NXsas files pass nxcheck, USAXS files read by the facility's code.

Runs each plan once per module with the writer subscribed to the session's
RunEngine; the files land in the session's data folder.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from bluesky import plan_stubs as bps
from bluesky import preprocessors as bpp

from usaxs_bluesky.callbacks.nexus_writer import NexusWriter
from usaxs_bluesky.metadata.policy import MetadataError
from usaxs_bluesky.metadata.where import where
from usaxs_bluesky.plans.area_detector import saxsExp, waxsExp
from usaxs_bluesky.plans.common import sample_run_metadata
from usaxs_bluesky.plans.usaxs import Flyscan, uascan
from usaxs_bluesky.reduction.pipeline import reduce_file
from usaxs_bluesky.reduction.usaxs_raw import read_usaxs

NXCHECK = Path(sys.executable).with_name("nxcheck")
HOSTILE = ["../../x", "a/b", "x" * 500, "bad\x00\x07\tname\n", "Größe µm 水"]


class Recorder:
    """Subscribes a NexusWriter to the RunEngine; ``files[uid]`` = committed path."""

    def __init__(self, session):
        self.session = session
        self.files: dict[str, Path] = {}
        self.writer = NexusWriter(on_file=self._on_file)

    def _on_file(self, uid: str, path: Path, kind: str) -> None:
        assert kind == "raw"
        self.files[uid] = path

    def run(self, plan) -> Path:
        (uid,) = self.session.RE(plan)
        return self.files[uid]


@pytest.fixture(scope="module")
def recorder(usaxs_session):
    rec = Recorder(usaxs_session)
    token = usaxs_session.RE.subscribe(rec.writer)
    yield rec
    usaxs_session.RE.unsubscribe(token)


@pytest.fixture(scope="module")
def saxs_files(recorder):
    inst = recorder.session.instrument
    return [recorder.run(saxsExp(inst, 20, 0, 1.0, "spheres")) for _ in range(2)]


@pytest.fixture(scope="module")
def waxs_file(recorder):
    return recorder.run(waxsExp(recorder.session.instrument, 20, 0, 1.0, "spheres"))


@pytest.fixture(scope="module")
def fly_file(recorder):
    return recorder.run(Flyscan(recorder.session.instrument, title="spheres", thickness_mm=1.0))


@pytest.fixture(scope="module")
def step_file(recorder):
    plan = uascan(
        recorder.session.instrument, title="spheres", thickness_mm=1.0, intervals=30, count_time=0.1
    )
    return recorder.run(plan)


def nxcheck_errors(path: Path) -> tuple[int, str]:
    """Run nxcheck -a NXsas; return (number of errors, output without colours)."""
    proc = subprocess.run(
        [str(NXCHECK), str(path), "-a", "NXsas"], capture_output=True, text=True, check=False
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    match = re.search(r"Total number of errors:\s*(\d+)", text)
    assert match, f"nxcheck gave no error count:\n{text}"
    return int(match.group(1)), text


def test_saxs_and_waxs_files_pass_nxsas_check(saxs_files, waxs_file):
    for path in [*saxs_files, waxs_file]:
        errors, text = nxcheck_errors(path)
        assert errors == 0, text


def test_nxsas_content(saxs_files, waxs_file):
    with h5py.File(saxs_files[0]) as f:
        assert f.attrs["default"] == "entry" and f["entry"].attrs["default"] == "data"
        assert f["entry/definition"][()] == b"NXsas"
        data = f["entry/instrument/detector/data"]
        assert data.shape == (195, 487) and data.dtype == np.int32  # 2-D, as the facility's
        assert f["entry/data/data"].id == data.id  # the same dataset, linked
        assert f["entry/instrument/detector/x_pixel_size"].attrs["units"] == "mm"
        assert f["entry/instrument/monochromator/wavelength"].attrs["units"] == "angstrom"
        assert f["entry/sample/thickness"][()] == 1.0
        assert f["entry/sample/thickness"].attrs["units"] == "mm"
        assert f["entry/control/mode"][()] == b"timer"
        assert f["entry/control/integral"][()] == f["entry/Metadata/I0_cts"][()] > 0
        assert f["entry/Metadata/I0_gain"].attrs["epics_pv"] == "usxRIO:fem02:seq01:gain"
        assert f["entry/Metadata/SRcurrent"].attrs["epics_pv"] == "S:SRcurrentAI"
        assert f["entry/Metadata/I_scaling"][()] > 0
        assert f["entry/exit_status"][()] == b"success"
    with h5py.File(waxs_file) as f:
        assert f["entry/instrument/detector/data"].shape == (512, 1028)


def test_two_runs_of_one_sample_give_two_files(saxs_files):
    first, second = saxs_files
    assert first != second and first.parent == second.parent
    assert first.name.endswith("_0001.h5") or first.name < second.name
    with h5py.File(first) as a, h5py.File(second) as b:
        assert a["entry/entry_identifier"][()] != b["entry/entry_identifier"][()]


def test_start_and_stop_documents_are_stored(saxs_files):
    with h5py.File(saxs_files[0]) as f:
        blue = f["entry/instrument/bluesky"]
        start = json.loads(blue["start_document"][()])
        stop = json.loads(blue["stop_document"][()])
        assert stop["run_start"] == start["uid"] == f["entry/entry_identifier"][()].decode()
        assert blue["metadata/plan_name"][()] == b"SAXS"
        assert json.loads(blue["metadata/plan_args"][()])["scan_title"] == "spheres"
        assert blue["metadata/plan_args"].attrs["text_format"] == "json"


def test_fly_file_read_by_the_facility_code(fly_file, testdata, tmp_path):
    ours, real = read_usaxs(fly_file), read_usaxs(testdata / "calib/usaxs/FY1_1HF_1.h5")
    assert ours.plan == real.plan == "fly"
    assert len(ours) == 7999
    for name in ("ar", "i0", "upd", "time", "upd_range", "gains", "bkg", "mask_times"):
        assert getattr(ours, name).shape[1:] == getattr(real, name).shape[1:]
    np.testing.assert_allclose(ours.gains, [1e4, 1e6, 1e8, 1e10, 1e12])
    assert ours.upd_size == pytest.approx(5.4) and ours.sdd == pytest.approx(1085.0)
    assert ours.thickness_mm == 1.0 and ours.sample_name == "spheres"
    with h5py.File(fly_file) as f, h5py.File(testdata / "calib/usaxs/FY1_1HF_1.h5") as g:
        for name in ("mca1", "mca2", "mca3", "AR_PulsePositions", "changes_DDPCA300_mcsChan"):
            assert f[f"entry/flyScan/{name}"].ndim == g[f"entry/flyScan/{name}"].ndim == 1
        assert f["entry/flyScan/mca3"].dtype == g["entry/flyScan/mca3"].dtype
        assert f["entry/flyScan/AR_PulsePositions"].attrs["units"] == "deg"
        assert f["entry/metadata/upd_gain2"].attrs["epics_pv"] == "usxLAX:pd01:seq02:gain2"
        assert f["entry"].attrs["default"] == "flyScan"
    written = reduce_file(fly_file, out_dir=tmp_path, require_blank=False, plot=False)
    assert written[0].is_file()


def test_step_file_read_by_the_facility_code(step_file, testdata, tmp_path):
    ours, real = read_usaxs(step_file), read_usaxs(testdata / "step/SRM3600_0349.h5")
    assert ours.plan == real.plan == "step"
    assert len(ours) == 30 and ours.valid.sum() > 15
    np.testing.assert_allclose(ours.gains, [1e4, 1e6, 1e8, 1e10, 1e12])
    assert ours.upd_size == pytest.approx(5.4) and ours.sdd > 0
    with h5py.File(step_file) as f, h5py.File(testdata / "step/SRM3600_0349.h5") as g:
        for name in ("a_stage_r", "UPD", "I0", "scaler0_time", "upd_autorange_controls_reqrange"):
            assert f[f"entry/data/{name}"].shape == (30,)
            ours_units, real_units = (h[f"entry/data/{name}"].attrs.get("units") for h in (f, g))
            assert ours_units is not None and (not real_units or ours_units == real_units)
            assert f[f"entry/data/{name}"].dtype.kind in "iuf"  # numbers, as the facility's
        assert f["entry/data"].attrs["signal"] == "UPD"
    written = reduce_file(step_file, out_dir=tmp_path, require_blank=False, plot=False)
    assert written[0].is_file()


def test_every_metadata_value_names_its_source(saxs_files, fly_file, step_file):
    for path in (saxs_files[0], fly_file, step_file):
        with h5py.File(path) as f:
            for name in ("configuration", "streams/baseline"):
                f[f"entry/instrument/bluesky/{name}"].visititems(_check_source)
            meta = f["entry/Metadata" if "entry/Metadata" in f else "entry/metadata"]
            assert len(meta) > 20
            meta.visititems(_check_source)
        assert all(loc.source for loc in where(path) if "/bluesky/metadata/" not in loc.hdf5_path)


def _check_source(name: str, obj) -> None:
    """An instrument value says its PV or ophyd name; values from documents say so."""
    if isinstance(obj, h5py.Dataset):
        from_document = str(obj.attrs.get("source", "")).startswith(("start document", "derived"))
        assert from_document or {"epics_pv", "ophyd_name"} & set(obj.attrs), obj.name
        assert "units" in obj.attrs, f"{obj.name}: no units"


def _failing_plan(inst, title):
    """Open a SAXS run with a data file, read the scaler once, then fail."""
    md = yield from sample_run_metadata(
        inst, "SAXS", technique="saxs", title=title, thickness_mm=0.5, user_name=None
    )

    @bpp.run_decorator(md=md)
    def inner():
        yield from bps.trigger_and_read([inst.scaler])
        raise RuntimeError("sample holder jammed")

    return (yield from inner())


def test_failed_run_leaves_a_valid_file_with_its_exit_status(recorder):
    before = dict(recorder.files)
    with pytest.raises(RuntimeError, match="jammed"):
        recorder.session.RE(_failing_plan(recorder.session.instrument, "broken"))
    (path,) = set(recorder.files.values()) - set(before.values())
    with h5py.File(path) as f:
        assert f["entry/exit_status"][()] == b"fail"
        assert "jammed" in f["entry/exit_reason"][()].decode()
        assert json.loads(f["entry/instrument/bluesky/stop_document"][()])["exit_status"] == "fail"
    assert not [p for p in path.parent.iterdir() if ".partial-" in p.name]


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_sample_names(recorder, title):
    path = recorder.run(saxsExp(recorder.session.instrument, 20, 0, 1.0, title))
    data_dir = Path(recorder.session.data_dir).resolve()
    assert path.resolve().is_relative_to(data_dir)
    assert len(path.name) <= 90 and "/" not in path.name[:-3]
    stored = title.replace("\x00", "\ufffd")  # HDF5 strings cannot hold NUL
    with h5py.File(path) as f:
        assert f["entry/sample/name"][0].decode() == stored  # (1,), as the facility's
        assert f["entry/title"][0].decode() == stored
        start = json.loads(f["entry/instrument/bluesky/start_document"][()])
        assert start["title"] == title


def test_empty_sample_name_is_refused(recorder):
    before = dict(recorder.files)
    with pytest.raises(MetadataError):
        recorder.session.RE(saxsExp(recorder.session.instrument, 20, 0, 1.0, ""))
    assert recorder.files == before
