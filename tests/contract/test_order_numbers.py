"""File order numbers as at the facility: one counter per user folder, shared by techniques."""

from __future__ import annotations

import datetime

import pytest
from bluesky import RunEngine
from bluesky import plan_stubs as bps
from ophyd import Signal

from usaxs_bluesky.contract.files import ORDER_FILE, OrderNumbers, highest_order_number
from usaxs_bluesky.devices.data_files import DataFiles

SESSION = [("blank", "usaxs"), ("blank", "saxs"), ("blank", "waxs")]


def test_one_number_per_sample_measurement_shared_by_techniques(tmp_path):
    counter = OrderNumbers(tmp_path / "12_01_jan")
    numbers = [counter.assign(title, tech) for title, tech in SESSION]
    numbers += [counter.assign("PU_25C", tech) for tech in ("usaxs", "saxs", "waxs")]
    assert numbers == [1, 1, 1, 2, 2, 2]
    assert counter.assign("PU_25C", "usaxs") == 3  # the same sample measured again
    assert counter.assign("blank", "saxs") == 4  # another sample


def test_restart_continues_and_never_reuses(tmp_path):
    folder = tmp_path / "12_01_jan"
    first = OrderNumbers(folder)
    assert [first.assign("a", "usaxs"), first.assign("a", "saxs")] == [1, 1]
    again = OrderNumbers(folder)  # a new session: state read from the folder
    assert again.assign("a", "waxs") == 1  # still the same sample measurement
    assert again.assign("b", "usaxs") == 2
    (folder / ORDER_FILE).unlink()  # state lost: the files in the folder decide
    usaxs = folder / "12_01_jan_usaxs"
    usaxs.mkdir()
    (usaxs / "b_0002.h5").write_bytes(b"")
    (usaxs / ".c_0007.h5.partial-ab12").write_bytes(b"")  # a run still being written
    assert highest_order_number(folder) == 7
    assert OrderNumbers(folder).assign("b", "saxs") == 8


def test_damaged_state_file_falls_back_to_the_folder(tmp_path):
    folder = tmp_path / "u"
    folder.mkdir()
    (folder / ORDER_FILE).write_text("{not json")
    assert OrderNumbers(folder).assign("x", "usaxs") == 1
    (folder / ORDER_FILE).write_text('{"last": "NaN?"}')
    assert OrderNumbers(folder).assign("x", "usaxs") == 1


@pytest.mark.parametrize("title", ["../../x", "a/b", "Größe µm 水", "x" * 300])
def test_path_provider_in_a_plan(tmp_path, title):
    root = Signal(name="data_root", value=str(tmp_path))
    files = DataFiles(root=root, name="data_files")
    RE = RunEngine(call_returns_result=True)

    def plan():
        chosen = []
        for tech in ("usaxs", "saxs", "waxs", "usaxs"):
            yield from bps.mv(files, {"user": "jan", "title": title, "technique": tech})
            chosen.append((yield from bps.rd(files)))
        return chosen

    chosen = RE(plan()).plan_result
    assert [c["order_number"] for c in chosen] == [1, 1, 1, 2]
    assert [c["hdf5_file"].rsplit(".", 1)[1] for c in chosen] == ["h5", "hdf", "hdf", "h5"]
    day = datetime.datetime.now().strftime("%m_%d")
    for c in chosen:
        assert c["hdf5_path"].startswith(str(tmp_path))
        assert c["hdf5_path"].endswith(f"{day}_jan_{c['technique']}")
        assert "/" not in c["hdf5_file"] and ".." not in c["hdf5_file"]


def test_bad_technique_is_refused(tmp_path):
    files = DataFiles(root=Signal(name="r", value=str(tmp_path)), name="data_files")
    with pytest.raises(ValueError, match="technique"):
        files.set({"user": "jan", "title": "a", "technique": "xrd"})
