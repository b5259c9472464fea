"""The simulator keeps its user-facing PVs in a state file across a kill and restart."""

from __future__ import annotations

import json
import math
import os

import pytest
from usaxs_sim.beamline import SampleMetadata
from usaxs_sim.launcher import SimProcess
from usaxs_sim.state import FORMAT, VERSION, StateFileRefused, load_state, save_state

pytestmark = pytest.mark.timeout(180)

USER = "Jana Nováková-Łukasiewicz"
TITLE = "SiO2 ⌀50 nm in H2O; 'quoted' & <tagged>"


def _text(values) -> str:
    """A CHAR waveform's value (bytes up to the first NUL) as text."""
    return bytes(values).split(b"\x00")[0].decode("utf-8")


def _fields():
    """The kept PVs and their limits, from the simulator's own group."""
    return SampleMetadata(prefix="").fields()


def _document(pvs) -> dict:
    return {"format": FORMAT, "version": VERSION, "pvs": pvs}


def test_user_pvs_survive_sigkill_and_restart(tmp_path):
    state = tmp_path / "sim-state.json"
    first = SimProcess(time_scale=0.02, seed=1, timeout=60, state_file=state).start()
    try:
        assert not state.exists(), "nothing is written before a user-facing PV is"
        first.write("usxLAX:userName", USER)
        first.write("usxLAX:sampleTitle", TITLE)
        first.write("usxLAX:sampleThickness", 0.125)
        first.write("usxSample:Temperature", -196.5)
        first.write("usxLAX:GUPNumber", b"GUP-98765")
        kept = json.loads(state.read_text(encoding="utf-8"))["pvs"]
        assert kept["usxLAX:userName"] == USER and kept["usxLAX:sampleThickness"] == 0.125
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        port, repeater = first.port, first.repeater_port
        first.process.kill()  # SIGKILL: no chance to save anything at exit
        first.process.wait(timeout=30)
    finally:
        first.stop()
    with SimProcess(
        port=port, repeater_port=repeater, time_scale=0.02, seed=1, timeout=60, state_file=state
    ) as again:
        assert _text(again.read("usxLAX:userName")) == USER
        assert _text(again.read("usxLAX:sampleTitle")) == TITLE
        assert again.read("usxLAX:sampleThickness")[0] == pytest.approx(0.125)
        assert again.read("usxSample:Temperature")[0] == pytest.approx(-196.5)
        assert again.read("usxLAX:GUPNumber")[0] == b"GUP-98765"
        assert "refused" not in again.stderr_tail()


def test_without_state_file_a_restart_has_the_defaults(tmp_path):
    with SimProcess(time_scale=0.02, seed=1, timeout=60) as sim:
        sim.write("usxLAX:userName", USER)
        assert _text(sim.read("usxLAX:userName")) == USER
    with SimProcess(time_scale=0.02, seed=1, timeout=60) as sim:
        assert _text(sim.read("usxLAX:userName")) == ""
    assert list(tmp_path.iterdir()) == []


def test_corrupt_state_file_is_refused_once_and_defaults_used(tmp_path):
    state = tmp_path / "sim-state.json"
    state.write_text(json.dumps(_document({"usxLAX:userName": 42})), encoding="utf-8")
    with SimProcess(time_scale=0.02, seed=1, timeout=60, state_file=state) as sim:
        assert _text(sim.read("usxLAX:userName")) == ""
        assert sim.read("usxLAX:sampleThickness")[0] == pytest.approx(1.0)
        lines = [line for line in sim.stderr_tail(200).splitlines() if "refused" in line]
        assert len(lines) == 1, lines
        assert str(state) in lines[0] and "usxLAX:userName must be a string" in lines[0]
        assert "usxLAX:sampleThickness=1.0" in lines[0], "the message says which defaults"
        sim.write("usxLAX:userName", USER)  # the next write replaces the bad file
    assert load_state(state, _fields())["usxLAX:userName"] == USER


HOSTILE = {
    "binary": b"\x89PNG\r\n\x1a\n\x00\xff",
    "not utf-8": b'{"format": "\xff"}',
    "empty": b"",
    "array": b"[1, 2, 3]",
    "wrong format": json.dumps({"format": "other", "version": 1, "pvs": {}}).encode(),
    "future version": json.dumps({"format": FORMAT, "version": 2, "pvs": {}}).encode(),
    "pvs not object": json.dumps(_document(["usxLAX:userName"])).encode(),
    "unknown pv": json.dumps(_document({"usxAERO:m8.VAL": 5.0})).encode(),
    "hostile name": json.dumps(_document({"../../etc/passwd": "x"})).encode(),
    "bool thickness": json.dumps(_document({"usxLAX:sampleThickness": True})).encode(),
    "string thickness": json.dumps(_document({"usxLAX:sampleThickness": "1.0"})).encode(),
    "null name": json.dumps(_document({"usxLAX:userName": None})).encode(),
    "name too long": json.dumps(_document({"usxLAX:userName": "é" * 200})).encode(),
    "nul in name": json.dumps(_document({"usxLAX:userName": "a\x00b"})).encode(),
    "gup too long": json.dumps(_document({"usxLAX:GUPNumber": "9" * 40})).encode(),
    "deep nesting": b"[" * 100_000,
    "huge": b" " * (1 << 20) + b"{}",
}


@pytest.mark.parametrize("content", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_state_files_are_refused(tmp_path, content):
    state = tmp_path / "state.json"
    state.write_bytes(content)
    with pytest.raises(StateFileRefused) as refused:
        load_state(state, _fields())
    assert len(str(refused.value)) < 400


def test_non_regular_state_files_are_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (tmp_path, fifo, "/dev/zero"):
        with pytest.raises(StateFileRefused, match="not a regular file"):
            load_state(path, _fields())


def test_missing_file_is_empty_and_values_round_trip(tmp_path):
    state = tmp_path / "state.json"
    assert load_state(state, _fields()) == {}
    values = {
        "usxLAX:userName": USER,
        "usxLAX:sampleThickness": math.inf,  # the PV accepts it, so the file keeps it
        "usxSample:Temperature": -0.0,
    }
    save_state(state, values)
    assert load_state(state, _fields()) == values


def test_save_replaces_a_symlink_never_writes_through_it(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me", encoding="utf-8")
    link = tmp_path / "state.json"
    link.symlink_to(target)
    save_state(link, {"usxLAX:userName": USER})
    assert target.read_text(encoding="utf-8") == "keep me"
    assert not link.is_symlink() and load_state(link, _fields()) == {"usxLAX:userName": USER}
