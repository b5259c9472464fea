"""ColumnWriter: chunked, resizable HDF5 columns written row by row or block by block."""

import h5py
import numpy as np
import pytest

from usaxs_bluesky.callbacks.h5stream import ColumnWriter


@pytest.fixture
def group(tmp_path):
    with h5py.File(tmp_path / "stream.h5", "w") as f:
        yield f.create_group("entry/stream")


def test_100k_rows_are_written_exactly(group):
    writer = ColumnWriter(group, buffer_rows=1000)
    n = 100_000
    for i in range(n):
        writer.append({"seconds": i * 0.5, "counts": i, "ok": i % 3 == 0})
    assert len(writer) == n
    writer.close()
    np.testing.assert_array_equal(group["seconds"][()], np.arange(n) * 0.5)
    np.testing.assert_array_equal(group["counts"][()], np.arange(n))
    np.testing.assert_array_equal(group["ok"][()], np.arange(n) % 3 == 0)
    assert group["counts"].dtype == np.int64
    assert group["seconds"].maxshape == (None,)
    assert group["seconds"].chunks is not None


def test_memory_is_bounded_by_the_buffer(group):
    writer = ColumnWriter(group, buffer_rows=10)
    for i in range(25):
        writer.append({"x": float(i)})
        assert writer._buffered < 10
    assert group["x"].shape == (20,)  # two full buffers already on disk
    writer.flush()
    assert group["x"].shape == (25,)


def test_big_rows_buffer_fewer_rows(group):
    writer = ColumnWriter(group, buffer_rows=1000)
    frame = np.ones((1024, 1024), dtype=np.int32)  # 4 MiB per row
    writer.append({"image": frame})
    assert writer._buffers["image"].shape[0] <= 4


def test_arrays_strings_and_attrs(group):
    with ColumnWriter(group, buffer_rows=3) as writer:
        writer.set_attrs("spectrum", units="counts", epics_pv="usxLAX:3820:mca2")
        for i in range(7):
            writer.append({"spectrum": np.full(4, i, dtype=np.uint32), "label": f"pt {i} µm"})
        writer.set_attrs("label", ophyd_name="label")
    assert group["spectrum"].shape == (7, 4)
    assert group["spectrum"].maxshape == (None, 4)
    assert group["spectrum"].dtype == np.uint32
    assert group["spectrum"][6].tolist() == [6, 6, 6, 6]
    assert group["spectrum"].attrs["units"] == "counts"
    assert group["spectrum"].attrs["epics_pv"] == "usxLAX:3820:mca2"
    assert h5py.check_string_dtype(group["label"].dtype).encoding == "utf-8"
    assert group["label"].asstr()[3] == "pt 3 µm"
    assert group["label"].attrs["ophyd_name"] == "label"


def test_extend_then_append(group):
    writer = ColumnWriter(group, buffer_rows=4)
    writer.append({"q": 0.5, "i": 1})
    writer.extend({"q": np.linspace(1, 2, 5), "i": np.arange(5)})
    writer.append({"q": 3.0, "i": 9})
    writer.close()
    np.testing.assert_allclose(group["q"][()], [0.5, 1, 1.25, 1.5, 1.75, 2, 3])
    assert group["i"][()].tolist() == [1, 0, 1, 2, 3, 4, 9]


def test_shape_mismatch_is_refused(group):
    writer = ColumnWriter(group)
    writer.append({"spectrum": np.zeros(4)})
    with pytest.raises(ValueError, match=r"spectrum.*\(5,\).*\(4,\)"):
        writer.append({"spectrum": np.zeros(5)})
    with pytest.raises(ValueError, match="spectrum"):
        writer.extend({"spectrum": np.zeros((3, 2))})


def test_new_or_missing_column_is_refused(group):
    writer = ColumnWriter(group)
    writer.append({"a": 1.0, "b": 2.0})
    with pytest.raises(ValueError, match=r"new \['c'\]"):
        writer.append({"a": 1.0, "b": 2.0, "c": 3.0})
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        writer.append({"a": 1.0})
    with pytest.raises(ValueError, match="no column 'c'"):
        writer.set_attrs("c", units="mm")
    writer.close()
    assert group["a"].shape == (1,)


def test_unsafe_dtype_is_refused(group):
    writer = ColumnWriter(group)
    writer.append({"n": 1, "s": "text"})
    with pytest.raises(ValueError, match="'n' is int64"):
        writer.append({"n": 1.5, "s": "x"})
    with pytest.raises(ValueError, match="'s' is str"):
        writer.append({"n": 2, "s": 3.0})


def test_extend_needs_equal_lengths(group):
    writer = ColumnWriter(group)
    with pytest.raises(ValueError, match="equal length"):
        writer.extend({"a": np.zeros(3), "b": np.zeros(4)})


def test_attrs_for_a_column_that_never_comes(group):
    writer = ColumnWriter(group)
    writer.set_attrs("temperature", units="C")
    with pytest.raises(ValueError, match="temperature"):
        writer.append({"x": 1.0})
