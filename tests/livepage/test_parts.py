"""The live page's parts without HTTP: values from PVs, file containment, curves, frames, model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from usaxs_bluesky.catalog.access import Grant
from usaxs_bluesky.catalog.search import RunSummary
from usaxs_bluesky.livepage.access import UnknownKey, Viewer, key_of, viewer_for
from usaxs_bluesky.livepage.data import NotAllowed, contained, curve_json, render_frame
from usaxs_bluesky.livepage.model import _command_file, _last_error, _run_status
from usaxs_bluesky.livepage.runs import LiveRun
from usaxs_bluesky.livepage.status import StatusMonitor, _plain, status_pvs
from usaxs_bluesky.reduction.common import ReducedCurve


def summary(user="alice", proposal="", plan="SAXS", time=100.0) -> RunSummary:
    return RunSummary("uid1", time, user, "s", plan, 1, None, proposal_id=proposal)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(math.nan, None), (math.inf, None), (-math.inf, None), (-3.5, -3.5), (0, 0), ("x", "x"),
     (np.float32(2.5), 2.5), (None, None), (np.int16(7), 7.0)],
)  # fmt: skip
def test_plain_values_are_json_safe(value, expected):
    assert _plain(value) == expected


@pytest.mark.parametrize(
    ("current", "shutter", "problem"),
    [(100.0, 1, None), (1.9, 1, "no beam"), (0.0, 1, "no beam"), (-5.0, 1, "no beam"),
     (100.0, 0, "shutter closed"), (None, None, None), (math.nan, 1, None)],
)  # fmt: skip
def test_beam_problem_uses_the_suspender_threshold(current, shutter, problem):
    monitor = StatusMonitor(status_pvs())
    found = monitor.beam_problem({"ring_current": _plain(current), "mono_shutter": shutter})
    assert (found is None) if problem is None else (problem in found)


def test_status_pvs_follow_the_pv_map_and_prefix():
    from usaxs_bluesky.instrument import load_config

    config = load_config()
    config["pv_prefix"] = "sim1:"
    pvs = status_pvs(config)
    assert pvs["ring_current"] == "sim1:S:SRcurrentAI"
    assert pvs["mono_shutter"] == "sim1:12ida2:rShtrC:State"
    assert pvs["sample_x"] == "sim1:usxAERO:m8.RBV"


def test_monitor_before_any_connection_is_stale():
    snapshot = StatusMonitor(status_pvs()).snapshot()  # never started: nothing connected
    assert snapshot["stale_since"] is not None
    assert set(snapshot["disconnected"]) == set(status_pvs())
    assert all(item["value"] is None for item in snapshot["items"])


def test_viewer_rules():
    alice = Grant("alice", "alice", (), False)
    prop = Grant("p", None, ("2002",), False)
    staff = Grant("staff", None, (), True)
    assert Viewer(alice).may_see(summary("alice"))
    assert not Viewer(alice).may_see(summary("bob"))
    assert not Viewer(alice).may_see(summary("", proposal=""))
    assert Viewer(prop).may_see(summary("bob", "2002"))
    assert not Viewer(prop).may_see(summary("bob", "20021"))
    assert not Viewer(prop).may_see(summary("", ""))
    assert Viewer(staff).may_see(summary("anyone"))
    assert not Viewer(None).may_see(summary())
    assert Viewer(None, public_runs=True).may_see(summary())


def test_keys_from_header_or_query():
    grants = {"k" * 16: Grant("alice", "alice", (), False)}
    assert key_of({"authorization": "Apikey abc"}, {}) == "abc"
    assert key_of({"authorization": "Bearer abc"}, {"api_key": "zzz"}) == "abc"
    assert key_of({"authorization": "Basic abc"}, {"api_key": "q"}) == "q"
    assert key_of({}, {"api_key": ""}) is None
    assert viewer_for(None, grants, public_runs=False).grant is None
    assert viewer_for("k" * 16, grants, public_runs=False).grant.user == "alice"
    with pytest.raises(UnknownKey):
        viewer_for("K" * 16, grants, public_runs=False)


def test_contained_refuses_outside_missing_and_links(tmp_path):
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    inside = root / "sub" / "a.h5"
    inside.write_bytes(b"x")
    outside = tmp_path / "secret.h5"
    outside.write_bytes(b"s")
    (root / "link.h5").symlink_to(outside)
    assert contained(inside, [root]) == inside.resolve()
    for bad in (outside, root / "link.h5", root / "sub" / ".." / ".." / "secret.h5",
                root / "missing.h5", root / "sub", "/etc/passwd"):  # fmt: skip
        with pytest.raises(NotAllowed):
            contained(bad, [root])


def test_curve_json_drops_points_that_log_axes_cannot_show():
    q = np.array([0.0, -1e-3, 1e-3, 2e-3, 3e-3, np.nan, 5e-3, 6e-3])
    i = np.array([1.0, 1.0, 0.0, -2.0, np.inf, 1.0, 1e300, 5.0])
    curve = ReducedCurve(q, i, np.ones(8), np.zeros(8), 0.02, True, {"technique": "USAXS"})
    out = curve_json(curve)
    assert out["q"] == [5e-3, 6e-3] and out["i"] == [1e300, 5.0]
    assert out["label"] == "smeared" and not out["absolute"]
    many = ReducedCurve(*(np.geomspace(1e-4, 1, 10_000),) * 2, np.ones(10_000), np.ones(10_000),
                        None, False, {"technique": "SAXS"})  # fmt: skip
    assert len(curve_json(many)["q"]) <= 2000 and curve_json(many)["label"] == "SAXS"


@pytest.mark.parametrize(
    "data",
    [np.zeros((8, 8)), np.full((8, 8), np.nan), -np.ones((8, 8)), np.full((8, 8), 5.0),
     np.arange(64.0).reshape(8, 8) ** 6],
)  # fmt: skip
def test_frame_png_for_degenerate_frames(data):
    mask = np.zeros(data.shape, bool)
    mask[0] = True
    png = render_frame(data, mask, title="<b>x</b>")
    assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_command_file_missing_huge_or_absent(tmp_path):
    run = LiveRun(summary(), start={"command_file": str(tmp_path / "none.txt"), "command_line": 3})
    assert _command_file(run)["lines"] == [] and _command_file(run)["current"] == 3
    huge = tmp_path / "huge.txt"
    huge.write_text("saxs 0 0 1 x\n" * 30_000)
    assert _command_file(LiveRun(summary(), start={"command_file": str(huge)}))["lines"] == []
    assert _command_file(LiveRun(summary())) is None
    assert _command_file(None) is None


def test_run_status_progress_and_time_left():
    fly = LiveRun(summary(plan="Flyscan", time=100.0), start={"scan_time_s": 60.0})
    pvs = {"fly_busy": 1, "mcs_channel": 2000, "mcs_channels": 8000}
    status = _run_status(fly, pvs, now=130.0)
    assert (status["points_done"], status["points_total"]) == (2000, 8000)
    assert status["time_left_s"] == pytest.approx(90.0)  # 30 s for 2000 of 8000
    assert _run_status(fly, {"fly_busy": 0}, now=130.0)["time_left_s"] == 30.0  # planned time
    assert _run_status(fly, {}, now=500.0)["time_left_s"] == 0.0
    saxs = LiveRun(summary(plan="SAXS", time=100.0))
    status = _run_status(saxs, {"saxs_images_done": 1, "saxs_images": 4}, now=110.0)
    assert status["time_left_s"] == pytest.approx(30.0)
    odd = _run_status(saxs, {"saxs_images_done": 9, "saxs_images": 0}, now=110.0)
    assert odd["time_left_s"] is None
    assert _run_status(saxs, {"saxs_images_done": None}, now=90.0)["time_left_s"] is None


def test_last_error_is_the_latest_failed_run():
    ok = LiveRun(summary(), stop={"exit_status": "success"})
    bad = LiveRun(summary(plan="WAXS"), stop={"exit_status": "fail", "reason": "boom", "time": 5})
    assert _last_error([ok]) is None
    assert _last_error([bad, ok])["reason"] == "boom"


def test_base_path_for_a_reverse_proxy(live_data):
    from starlette.testclient import TestClient

    from usaxs_bluesky.livepage.app import build_app
    from usaxs_bluesky.livepage.data import RunData
    from usaxs_bluesky.livepage.model import LiveModel
    from usaxs_bluesky.livepage.runs import RunFeed, embedded_opener

    feed = RunFeed(embedded_opener(live_data.data_dir), since=0.0)
    assert feed.refresh()
    model = LiveModel(feed=feed, data=RunData([live_data.data_dir]))
    client = TestClient(build_app(model, {}, base_path="/beamline/live/", public_runs=True))
    page = client.get("/beamline/live/")
    assert page.status_code == 200
    assert 'src="/beamline/live/static/plotly.min.js"' in page.text
    js = client.get("/beamline/live/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert client.get("/static/live.js").status_code == 404
    assert client.get("/api/status").status_code == 404
    runs = client.get("/beamline/live/api/runs").json()["runs"]
    assert len(runs) == 5 and runs[0]["time"] >= runs[-1]["time"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--refresh-ms", "0"], "--refresh-ms"), (["--catalog-poll", "-1"], "--catalog-poll"),
     (["--session-hours", "0"], "--session-hours"), (["--keys", "/nonexistent.yml"], "no file"),
     (["--keys", "BAD"], "expected a mapping")],
)  # fmt: skip
def test_bad_options_fail_before_anything_starts(args, message, tmp_path, capsys):
    from usaxs_bluesky.cli import main

    bad = tmp_path / "bad.yml"
    bad.write_text("- just a list\n")
    args = [str(bad) if a == "BAD" else a for a in args]
    assert main(["live", "--no-pvs", "--data-dir", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err
