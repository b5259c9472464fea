"""RE Manager on the sim through bluesky-queueserver-api: plans, groups, runs in the catalog."""

import h5py
import pytest
import yaml
from bluesky_queueserver_api import BPlan
from queue_helpers import TIMEOUT_S, history

from usaxs_bluesky.catalog.files import run_files
from usaxs_bluesky.queue.manager import EXISTING


def test_plans_generated_with_typed_parameters(re_manager):
    listed = yaml.safe_load((re_manager.config_dir / EXISTING).read_text())
    plans = listed["existing_plans"]
    assert {"USAXSscan", "saxsExp", "tune_ar", "command_line", "mv"} <= set(plans)
    params = {p["name"]: p for p in plans["saxsExp"]["parameters"]}
    assert "inst" not in params
    assert params["x"]["annotation"]["type"] == "float"
    assert params["title"]["annotation"]["type"] == "str"
    assert {"s_stage", "a_stage", "scaler"} <= set(listed["existing_devices"])


def test_groups_allow_lists(queue_api):
    users = queue_api.plans_allowed(user_group="users")["plans_allowed"]
    staff = queue_api.plans_allowed(user_group="staff")["plans_allowed"]
    assert {"USAXSscan", "saxsExp", "waxsExp", "command_line"} <= set(users)
    assert not {"tune_ar", "preUSAXStune", "set_mode", "mv", "mvr"} & set(users)
    assert {"tune_ar", "preUSAXStune", "set_mode", "mv", "saxsExp"} <= set(staff)
    assert queue_api.devices_allowed(user_group="users")["devices_allowed"] == {}


@pytest.mark.parametrize("plan", [BPlan("tune_ar"), BPlan("mv", "s_stage.x", 1.0)])
def test_item_outside_the_users_allow_list_is_refused_at_submission(queue_api, plan):
    queue_api.user_group = "users"
    with pytest.raises(queue_api.RequestFailedError, match="not in the list of allowed plans"):
        queue_api.item_add(plan)
    assert queue_api.queue_get()["items"] == []


def test_queued_plans_run_and_land_in_the_catalog(queue_api, queue_catalog):
    queue_api.user_group = "users"
    queue_api.item_add(BPlan("saxsExp", 2.0, 0.5, 1.25, "queued saxs", user_name="ana"))
    queue_api.user_group = "staff"
    queue_api.item_add(BPlan("mv", "s_stage.x", 3.0))
    queue_api.item_add(BPlan("waxsExp", 3.0, 0.0, 0.5, "queued waxs", user_name="ana"))
    queue_api.queue_start()
    queue_api.wait_for_idle(timeout=TIMEOUT_S)
    saxs, move, waxs = history(queue_api, 3)
    assert [i["result"]["exit_status"] for i in (saxs, move, waxs)] == ["completed"] * 3
    assert saxs["user_group"] == "users" and move["user_group"] == "staff"
    for item, title, plan_name in ((saxs, "queued saxs", "SAXS"), (waxs, "queued waxs", "WAXS")):
        (uid,) = item["result"]["run_uids"]
        run = queue_catalog[uid]
        start = run.metadata["start"]
        assert (start["title"], start["plan_name"], start["user_name"]) == (title, plan_name, "ana")
        assert run.metadata["stop"]["exit_status"] == "success"
        raw = [f for f in run_files(run) if f.kind == "raw"]
        assert raw and raw[0].path.endswith(start["hdf5_file"])
        with h5py.File(raw[0].path, "r") as f:
            assert f["/entry/exit_status"][()].decode() == "success"
    baseline = queue_catalog[waxs["result"]["run_uids"][0]]["baseline"].read()
    assert float(baseline["s_stage_x"][0]) == pytest.approx(3.0, abs=1e-3)


def test_metadata_policy_refuses_a_queued_run_before_motion(queue_api):
    queue_api.item_add(BPlan("saxsExp", 1.0, 0.0, -1.0, "bad thickness", user_name="ana"))
    queue_api.queue_start()
    queue_api.wait_for_idle(timeout=TIMEOUT_S)
    (item,) = history(queue_api, 1)
    assert item["result"]["exit_status"] == "failed"
    assert "thickness" in item["result"]["msg"]
    assert item["result"]["run_uids"] == []


def test_remote_ops_runs_as_a_staff_queue_item(re_manager, queue_api, queue_catalog, remote_folder):
    from plan_runner import poll

    from usaxs_bluesky.instrument import load_config
    from usaxs_bluesky.plans.remote_ops import START, WAITING, remote_ops_pvs

    assert "remote_ops" not in queue_api.plans_allowed(user_group="users")["plans_allowed"]
    path = remote_folder / "remote.txt"
    path.write_text('waxs 2 0 1.0 "remote via queue"\n')
    pvs = remote_ops_pvs(load_config())
    pvs.wait_for_connection(timeout=30)
    queue_api.item_add(BPlan("remote_ops", max_requests=1))
    queue_api.queue_start()
    poll(lambda: pvs.state.get() == WAITING, "remote ops to wait", TIMEOUT_S)
    pvs.path.put(str(path), wait=True)
    pvs.start.put(START, wait=True)
    queue_api.wait_for_idle(timeout=TIMEOUT_S)
    (item,) = history(queue_api, 1)
    assert item["result"]["exit_status"] == "completed", item["result"]
    assert pvs.result.get() == f"done: {path}, 1 command(s)"
    (uid,) = item["result"]["run_uids"]
    assert queue_catalog[uid].metadata["start"]["title"] == "remote via queue"


def test_run_command_file_as_one_item(queue_api, queue_catalog, tmp_path):
    path = tmp_path / "one_item.txt"
    path.write_text('waxs 2.5 0 0.5 "file item"\n')
    params = {
        p["name"]
        for p in queue_api.plans_allowed()["plans_allowed"]["run_command_file"]["parameters"]
    }
    assert params == {"path", "user_name", "transmission"}  # no plan-valued arguments
    queue_api.user_group = "users"
    queue_api.item_add(BPlan("run_command_file", str(path), user_name="ana"))
    queue_api.queue_start()
    queue_api.wait_for_idle(timeout=TIMEOUT_S)
    (item,) = history(queue_api, 1)
    assert item["result"]["exit_status"] == "completed", item["result"]
    (uid,) = item["result"]["run_uids"]
    start = queue_catalog[uid].metadata["start"]
    assert (start["title"], start["command_file"], start["command_line"]) == (
        "file item",
        str(path),
        1,
    )
