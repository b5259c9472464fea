"""Our simulated raw files against the facility's real ones, field by field (docs/files.md)."""

from __future__ import annotations

import h5py
import pytest

from .structure import KINDS, differences, exceptions, fields

#: the facility's real files of each raw kind (``../shared/testdata/facility``)
REAL = {
    "fly": ["calib/usaxs/FY1_1HF_1.h5", "session/usaxs/PPOH_25C_orig_0066.h5"],
    "step": ["step/SRM3600_0349.h5", "step/AirBlank_300pts_0110.h5"],
    "saxs": ["session/saxs/PPOH_25C_orig_0066.hdf", "calib/saxs/FY1_1HF_1.hdf"],
    "waxs": ["session/waxs/PPOH_25C_orig_0066.hdf", "calib/waxs/FY1_1HF_1.hdf"],
}


@pytest.mark.parametrize(("kind", "real"), [(k, r) for k, files in REAL.items() for r in files])
def test_every_facility_field_is_in_our_file(sim_files, testdata, kind, real):
    problems = differences(sim_files[kind, "sample"], testdata / real, kind)
    assert not problems, f"{len(problems)} field(s) differ from {real}:\n" + "\n".join(problems)


def test_every_kind_has_documented_exceptions_with_reasons():
    for kind in KINDS:
        rows = exceptions(kind)
        assert rows, kind
        assert all(reason and not reason.startswith("|") for _, reason in rows)


def test_the_comparison_finds_a_missing_field(sim_files, testdata, tmp_path):
    """A file without ``DDPCA300_gain1`` (what Matilda reads) is caught."""
    broken = tmp_path / "broken.h5"
    broken.write_bytes(sim_files["fly", "sample"].read_bytes())
    with h5py.File(broken, "r+") as f:
        del f["entry/metadata/DDPCA300_gain1"]
        del f["entry/flyScan/mca1"]
        f["entry/flyScan/mca1"] = [[1, 2], [3, 4]]  # wrong rank
    problems = differences(broken, testdata / REAL["fly"][0], "fly")
    assert "/entry/metadata/DDPCA300_gain1: missing" in problems
    assert any(p.startswith("/entry/flyScan/mca1: rank 2") for p in problems)


def test_nxsas_frames_are_two_dimensional(sim_files):
    for kind, shape in (("saxs", (195, 487)), ("waxs", (512, 1028))):
        with h5py.File(sim_files[kind, "sample"]) as f:
            assert f["entry/data/data"].shape == shape
            assert f["entry/instrument/detector/data"].shape == shape
            column = f[f"entry/instrument/bluesky/streams/primary/{kind}_det_image"]
            assert (f["entry/data/data"][()] == column[0]).all()  # a view, same numbers
            meta = f["entry/Metadata"]
            assert meta["StartTime"][0].decode().count(":") == 2
            pre = "pin_ccd" if kind == "saxs" else "waxs_ccd"
            center = meta[f"{pre}_center_x"][0]
            assert center == pytest.approx(
                meta[f"{pre}_center_x_pixel"][0] * meta[f"{pre}_pixel_size_x"][0]
            )


def test_file_names_and_suffixes(sim_files):
    for (kind, _), path in sim_files.items():
        assert path.suffix == (".h5" if kind in ("fly", "step") else ".hdf")


def test_our_additions_stay(sim_files):
    for path in sim_files.values():
        found = fields(path)
        assert "/entry/instrument/bluesky/start_document" in found
        assert "/entry/instrument/bluesky/stop_document" in found
        with h5py.File(path) as f:
            assert f.attrs["default"] == "entry" and f["entry"].attrs["default"] in f["entry"]
