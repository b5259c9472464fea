"""The measuring plans against the sim: documents, streams, keys, point counts, final state."""

import numpy as np
import pytest

from usaxs_bluesky.metadata.policy import MetadataError
from usaxs_bluesky.plan_stubs.modes import SAXS, USAXS, WAXS, set_mode
from usaxs_bluesky.plans.area_detector import saxsExp, waxsExp
from usaxs_bluesky.plans.usaxs import USAXSscan, uascan


def _run(session, plan):
    docs = []
    token = session.RE.subscribe(lambda name, doc: docs.append((name, doc)))
    try:
        session.RE(plan)
    finally:
        session.RE.unsubscribe(token)
    return docs


def _stream(docs, name):
    """Rows of stream ``name`` as {key: array}, from events and event pages."""
    desc = {d["uid"] for n, d in docs if n == "descriptor" and d["name"] == name}
    columns: dict = {}
    for n, d in docs:
        if n == "event" and d["descriptor"] in desc:
            for k, v in d["data"].items():
                columns.setdefault(k, []).append(v)
        elif n == "event_page" and d["descriptor"] in desc:
            for k, v in d["data"].items():
                columns.setdefault(k, []).extend(v)
    return {k: np.asarray(v) for k, v in columns.items()}


def _start(docs):
    return next(d for n, d in docs if n == "start")


def _stop(docs):
    return next(d for n, d in docs if n == "stop")


@pytest.fixture
def inst(usaxs_session):
    inst = usaxs_session.instrument
    x, y = inst.s_stage.x.position, inst.s_stage.y.position
    yield inst
    usaxs_session.RE(set_mode(inst, USAXS))
    inst.s_stage.x.move(x, wait=True, timeout=60)
    inst.s_stage.y.move(y, wait=True, timeout=60)


def test_flyscan_documents(usaxs_session, inst):
    inst.terms.use_flyscan.put(1, wait=True)
    docs = _run(usaxs_session, USAXSscan(inst, 20.0, 0.0, 1.0, "spheres fly"))
    start, stop = _start(docs), _stop(docs)
    assert start["plan_name"] == "Flyscan" and start["title"] == "spheres fly"
    assert start["plan_args"]["scan_title"] == "spheres fly"
    assert start["sample_thickness_mm"] == 1.0 and start["user_name"] == "test_user"
    assert (start["sx"], start["sy"]) == (20.0, 0.0)
    assert start["hdf5_file"].startswith("spheres_fly_") and start["hdf5_file"].endswith(".h5")
    assert "_usaxs" in start["hdf5_path"]
    assert stop["exit_status"] == "success"
    primary = _stream(docs, "primary")
    n = start["num_pulses"] - 1
    assert stop["num_events"]["primary"] == n and len(primary["flyscan_ar"]) == n
    assert np.all(np.diff(primary["flyscan_ar"]) < 0), "analyzer angle decreases monotonically"
    assert np.all(primary["flyscan_clock"] > 0) and np.all(primary["flyscan_I0"] > 0)
    assert len(set(primary["flyscan_upd_range"])) >= 3, "UPD ranges change over the scan"
    changes = _stream(docs, "flyscan_range_changes")
    assert len(changes["flyscan_change_channel"]) >= 3
    assert len(_stream(docs, "flyscan_pulses")["flyscan_pulse_position"]) == n + 1
    assert {"baseline", "primary"} <= {d["name"] for n_, d in docs if n_ == "descriptor"}
    assert not inst.usaxs_shutter.is_open
    assert inst.a_stage.r.position == pytest.approx(inst.terms.ar_center.get(), abs=1e-5)
    assert inst.mode.get() == USAXS


def test_uascan_documents(usaxs_session, inst):
    dx0 = inst.d_stage.x.position
    docs = _run(
        usaxs_session,
        uascan(inst, title="blank step", thickness_mm=1.0, intervals=30, count_time=0.1),
    )
    start, stop = _start(docs), _stop(docs)
    assert start["plan_name"] == "uascan" and start["intervals"] == 30
    assert stop["num_events"]["primary"] == 30
    rows = _stream(docs, "primary")
    assert np.all(np.diff(rows["a_stage_r"]) < 0)
    assert rows["a_stage_r"][-1] == pytest.approx(start["finish"], abs=1e-4)
    assert np.all(np.diff(rows["d_stage_x"]) < 0), "the photodiode follows the scattered beam"
    assert len(set(rows["upd_autorange_lurange"])) >= 2
    assert set(rows["scaler_time"]) >= {0.05, 0.1, 0.2} or len(set(rows["scaler_time"])) == 3
    assert inst.d_stage.x.position == pytest.approx(dx0, abs=1e-3)


@pytest.mark.parametrize(
    "plan, plan_name, mode, det, shape",
    [(saxsExp, "SAXS", SAXS, "saxs_det", (195, 487)), (waxsExp, "WAXS", WAXS, "waxs_det", None)],
)
def test_area_detector_exposure(usaxs_session, inst, plan, plan_name, mode, det, shape):
    docs = _run(usaxs_session, plan(inst, 20.0, 0.0, 1.0, "spheres ad", acquire_time=0.5))
    start = _start(docs)
    assert start["plan_name"] == plan_name and start["title"] == "spheres ad"
    assert f"_{plan_name.lower()}" in start["hdf5_path"]
    rows = _stream(docs, "primary")
    image = rows[f"{det}_image"][0]
    if shape:
        assert image.shape == shape
    assert image.max() > 0 and rows["I0"][0] > 0
    desc = next(d for n, d in docs if n == "descriptor" and d["name"] == "primary")
    config = desc["configuration"][det]["data"]
    assert f"{det}_geometry_distance" in config and f"{det}_cam_acquire_time" in config
    assert inst.mode.get() == mode
    assert inst.s_stage.x.position == pytest.approx(20.0, abs=1e-3)


def test_refused_before_anything_moves(usaxs_session, inst):
    x = inst.s_stage.x.position
    mode = inst.mode.get()
    for bad in (dict(thickness_mm=float("nan"), title="s"), dict(thickness_mm=1.0, title="")):
        with pytest.raises(MetadataError):
            usaxs_session.RE(saxsExp(inst, x + 5, 0.0, bad["thickness_mm"], bad["title"]))
    assert inst.s_stage.x.position == pytest.approx(x, abs=1e-6)
    assert inst.mode.get() == mode


def test_mode_change_skips_moves_already_done(usaxs_session, inst):
    moved = []

    def change():
        moved.append((yield from set_mode(inst, SAXS)))

    usaxs_session.RE(change())
    usaxs_session.RE(change())
    assert moved[0] and moved[1] == [], "the second change finds every stage in place"
    assert inst.mode.get() == SAXS
    assert inst.saxs_stage.z.position == pytest.approx(inst.positions.saxs_z_in.get(), abs=0.01)
