"""Remote ops: a command-file path written to the sim's PVs is checked, then run or refused."""

import threading

import pytest
from plan_runner import poll, run_plan

from usaxs_bluesky.plans.remote_ops import START, WAITING, remote_ops, remote_ops_pvs


@pytest.fixture
def pvs(usaxs_session):
    """The remote-operation PVs of the sim, connected."""
    device = remote_ops_pvs(usaxs_session.instrument.config)
    device.wait_for_connection(timeout=30)
    return device


def _request(pvs, paths, errors):
    """A client: writes each path and Start once the session waits for it."""
    try:
        for path in paths:
            poll(lambda: pvs.state.get() == WAITING and pvs.start.get() != START, "waiting")
            pvs.path.put(str(path), wait=True)
            pvs.start.put(START, wait=True)
            poll(lambda: pvs.start.get() != START, "the session to take the request")
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


def _serve(session, pvs, allowed, paths):
    errors = []
    client = threading.Thread(target=_request, args=(pvs, paths, errors), daemon=True)
    client.start()
    results, docs = run_plan(
        session, remote_ops(session.instrument, pvs, allowed, max_requests=len(paths))
    )
    client.join(60)
    assert not errors, errors
    return results, docs


def test_refused_requests_report_why_and_nothing_moves(usaxs_session, pvs, tmp_path):
    inst = usaxs_session.instrument
    allowed, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    allowed.mkdir()
    elsewhere.mkdir()
    outside = elsewhere / "outside.txt"
    outside.write_text('saxs 5 0 1.0 "outside"\n')
    (allowed / "link.txt").symlink_to(outside)
    bad = allowed / "bad.txt"
    bad.write_text('saxs 5 0 0 "zero thickness"\nwaxs 5 999 1.0 "far"\n')
    before = [inst.s_stage.x.position, inst.s_stage.y.position, inst.mode.get()]
    paths = [outside, allowed / ".." / "elsewhere" / "outside.txt", allowed / "link.txt", bad, " "]
    results, docs = _serve(usaxs_session, pvs, [allowed], paths)
    assert [r.split(":")[0] for r in results] == ["refused"] * 5
    for result in results[:3]:
        assert "is outside the allowed folders" in result
    assert f"{bad.resolve()}:1: thickness must be > 0 mm" in results[3]
    assert f"{bad.resolve()}:2: sy=999 mm is outside the stage limits" in results[3]
    assert "no command-file path given" in results[4]
    assert pvs.result.get() == results[-1]
    assert [n for n, _ in docs if n == "start"] == [], "no run"
    assert [inst.s_stage.x.position, inst.s_stage.y.position, inst.mode.get()] == before


def test_a_requested_file_runs_and_reports_its_progress(usaxs_session, pvs, tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    path = allowed / "remote.txt"
    path.write_text('# remote\nsaxs 1.5 0 1.0 "remote saxs"\n')
    lines_seen = []
    token = pvs.line.subscribe(lambda value=None, **_: lines_seen.append(int(value)), run=False)
    try:
        results, docs = _serve(usaxs_session, pvs, [allowed], [path])
    finally:
        pvs.line.unsubscribe(token)
    assert results == [f"done: {path}, 1 command(s)"]
    assert pvs.result.get() == results[0]
    starts = [d for n, d in docs if n == "start"]
    assert [(s["title"], s["command_line"]) for s in starts] == [("remote saxs", 2)]
    assert 2 in lines_seen and pvs.line.get() == 0
    assert pvs.state.get() == "off"
