"""``usaxs queue submit``: a command file checked whole, queued as one batch or not at all."""

import h5py
from queue_helpers import TIMEOUT_S, history

from usaxs_bluesky.catalog.files import run_files
from usaxs_bluesky.cli import main

GOOD = """\
# two samples through the queue
saxs   1.5  0.0  1.0  "batch saxs"
waxs   2.5  0.0  0.5  "batch waxs"
"""

BAD = """\
saxs   1.5  0.0  1.0  "fine line"
saxs   1.5  0.0  0    "zero thickness"
tune_arr
waxs   1.5  999  1.0  "beyond sy"
"""


def _submit(capsys, re_manager, path, *extra):
    status = main(["queue", "submit", str(path), "--zmq", re_manager.control_addr, *extra])
    return status, capsys.readouterr().out


def test_good_file_is_one_batch_that_runs(re_manager, queue_api, queue_catalog, tmp_path, capsys):
    path = tmp_path / "batch.txt"
    path.write_text(GOOD)
    status, out = _submit(capsys, re_manager, path, "--user", "ana", "--group", "users")
    assert status == 0, out
    assert "2 item(s) added to the queue as one batch" in out
    items = queue_api.queue_get()["items"]
    assert [i["name"] for i in items] == ["command_line", "command_line"]
    assert [i["meta"]["sample_name"] for i in items] == ["batch saxs", "batch waxs"]
    assert [i["meta"]["command_line"] for i in items] == [2, 3]
    assert {i["meta"]["command_file"] for i in items} == {str(path)}
    assert {i["user_group"] for i in items} == {"users"}

    queue_api.queue_start()
    queue_api.wait_for_idle(timeout=TIMEOUT_S)
    done = history(queue_api, 2)
    assert [i["result"]["exit_status"] for i in done] == ["completed", "completed"], done
    saxs_uids = done[0]["result"]["run_uids"]
    assert len(saxs_uids) == 1  # the transmission goes into the SAXS run's start document
    for item, title, line in zip(done, ("batch saxs", "batch waxs"), (2, 3), strict=True):
        (uid,) = item["result"]["run_uids"]
        run = queue_catalog[uid]
        start = run.metadata["start"]
        assert (start["title"], start["user_name"]) == (title, "ana")
        assert (start["command_file"], start["command_line"]) == (str(path), line)
        assert start["sample_name"] == title  # the item's metadata reaches the run
        (raw,) = [f for f in run_files(run) if f.kind == "raw"]
        with h5py.File(raw.path, "r") as f:
            assert f["/entry/exit_status"][()].decode() == "success"
    assert "transmission_sources" in queue_catalog[saxs_uids[0]].metadata["start"]


def test_bad_file_is_refused_whole_and_the_queue_is_unchanged(
    re_manager, queue_api, tmp_path, capsys
):
    from bluesky_queueserver_api import BPlan

    queue_api.item_add(BPlan("saxsExp", 1.0, 0.0, 1.0, "already queued", user_name="ana"))
    before = [i["item_uid"] for i in queue_api.queue_get()["items"]]
    path = tmp_path / "bad.txt"
    path.write_text(BAD)
    status, out = _submit(capsys, re_manager, path, "--user", "ana")
    assert status == 1
    assert f"{path}:2: thickness must be > 0 mm" in out
    assert f"{path}:3: unknown action 'tune_arr'" in out
    assert f"{path}:4: sy=999 mm is outside the stage limits" in out
    assert f"{path}:1:" not in out
    assert "refused, nothing added (3 problem(s))" in out
    assert [i["item_uid"] for i in queue_api.queue_get()["items"]] == before


def test_a_batch_the_manager_refuses_adds_nothing(re_manager, queue_api, tmp_path, capsys):
    path = tmp_path / "batch.txt"
    path.write_text(GOOD)
    status, out = _submit(capsys, re_manager, path, "--user", "ana", "--group", "visitors")
    assert status == 1
    assert f"{path}: batch refused by the queue: " in out and "Unknown user group" in out
    assert queue_api.queue_get()["items"] == []


def test_bad_xlsx_is_refused_with_its_rows(re_manager, queue_api, tmp_path, capsys):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["action", "sx", "sy", "thickness", "name"])
    book.active.append(["saxs", 1, 0, 1.0, "good row"])
    book.active.append(["waxs", "inf", 0, 1.0, "infinite"])
    path = tmp_path / "batch.xlsx"
    book.save(path)
    status, out = _submit(capsys, re_manager, path, "--user", "ana")
    assert status == 1
    assert f"{path}:3: sx 'inf' is not finite" in out and f"{path}:2:" not in out
    assert queue_api.queue_get()["items"] == []


def test_unreachable_manager_is_an_error(tmp_path, capsys, sim_ioc):
    from usaxs_sim.launcher import free_port

    path = tmp_path / "batch.txt"
    path.write_text(GOOD)
    status = main(["queue", "submit", str(path), "--zmq", f"tcp://127.0.0.1:{free_port()}"])
    assert status == 2
    assert "usaxs queue: error:" in capsys.readouterr().err
