"""``where``: which HDF5 path holds which metadata, from which PV."""

import shutil

import h5py
import numpy as np
import pytest

from usaxs_bluesky.metadata.policy import MetadataError
from usaxs_bluesky.metadata.where import MetadataLocation, format_locations, where


@pytest.fixture
def flyscan(testdata, tmp_path):
    """A copy of the facility's USAXS fly scan of a 0.92 mm sample."""
    return shutil.copy(testdata / "calib" / "usaxs" / "FY1_1HF_1.h5", tmp_path)


def test_thickness_in_facility_file(flyscan):
    found = where(flyscan, "thickness")
    assert found == [
        MetadataLocation(
            "/entry/sample/thickness", 0.92, None, "usxLAX:sampleThickness", "epics_pv"
        )
    ]


def test_sdd_found_by_its_pv(flyscan):
    found = where(flyscan, "SDD")
    assert [loc.hdf5_path for loc in found] == ["/entry/metadata/detector_distance"]
    assert found[0].source == "usxLAX:USAXS:SDD"
    assert isinstance(found[0].value, float)


def test_filter_is_case_insensitive_on_name_path_and_source(flyscan):
    assert [loc.hdf5_path for loc in where(flyscan, "SAMPLETHICKNESS")] == [
        "/entry/sample/thickness"
    ]
    by_path = where(flyscan, "/entry/flyScan/")
    assert by_path and all(loc.hdf5_path.startswith("/entry/flyScan/") for loc in by_path)


def test_every_metadata_field_of_facility_file(flyscan):
    found = where(flyscan)
    assert len(found) > 150
    paths = [loc.hdf5_path for loc in found]
    assert paths == sorted(paths)
    metadata = [loc for loc in found if loc.hdf5_path.startswith("/entry/metadata/")]
    assert metadata and all(loc.source_attr == "epics_pv" and loc.source for loc in metadata)
    pulses = next(loc for loc in found if loc.hdf5_path == "/entry/flyScan/AR_PulsePositions")
    assert pulses.value == "array (8000,) float64"
    assert pulses.units == "degrees"


def test_area_detector_file(testdata, tmp_path):
    saxs = shutil.copy(testdata / "calib" / "saxs" / "FY1_1HF_1.hdf", tmp_path)
    (thickness,) = where(saxs, "entry/sample/thickness")
    assert thickness.source == "usxLAX:sampleThickness"
    assert thickness.source_attr == "NDAttrSource"
    assert thickness.units == "mm"


def test_our_own_attributes_and_links(tmp_path):
    path = tmp_path / "ours.h5"
    with h5py.File(path, "w") as f:
        title = f.create_dataset("entry/sample/name", data="glassy carbon")
        title.attrs["ophyd_name"] = "sample_title"
        energy = f.create_dataset("entry/instrument/energy", data=[21.0])
        energy.attrs.update(units=b"keV", source="PV:12ida2:EnCalc")
        f.create_dataset("entry/data/q", data=np.arange(3.0)).attrs["units"] = "1/angstrom"
        f.create_dataset("entry/data/plain", data=1)
        f["entry/link_to_energy"] = h5py.SoftLink("/entry/instrument/energy")
        f["entry/external"] = h5py.ExternalLink("missing.h5", "/x")
    found = {loc.hdf5_path: loc for loc in where(path)}
    assert set(found) == {
        "/entry/sample/name",
        "/entry/instrument/energy",
        "/entry/link_to_energy",
        "/entry/data/q",
    }
    assert found["/entry/sample/name"].value == "glassy carbon"
    assert found["/entry/sample/name"].source == "sample_title"
    assert found["/entry/instrument/energy"].units == "keV"
    assert found["/entry/link_to_energy"].source == "PV:12ida2:EnCalc"
    assert found["/entry/data/q"].source is None
    assert found["/entry/data/q"].value == "array (3,) float64"


def test_format_locations(flyscan):
    text = format_locations(where(flyscan, "thickness"))
    lines = text.splitlines()
    assert lines[0].split() == ["hdf5", "path", "value", "units", "source"]
    assert "/entry/sample/thickness" in lines[2] and "usxLAX:sampleThickness" in lines[2]
    assert lines[-1] == "1 dataset(s)"
    assert format_locations([]) == "no matching metadata found"


def test_missing_file(tmp_path):
    with pytest.raises(MetadataError, match="no such file"):
        where(tmp_path / "nope.h5")


def test_not_hdf5(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not HDF5")
    with pytest.raises(MetadataError, match="not an HDF5 file"):
        where(path)
    with pytest.raises(MetadataError, match="no such file"):
        where(tmp_path)
