"""Issue 4 end to end on the sim: a request file is checked, loaded, recorded in every
measurement (start document and NeXus file) and a run missing a required item is refused
before anything moves (plan call and command file)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import pytest

from usaxs_bluesky.metadata.policy import MetadataError
from usaxs_bluesky.metadata.request_files import load_requests
from usaxs_bluesky.metadata.requests import per_sample_problems
from usaxs_bluesky.plans.area_detector import saxsExp
from usaxs_bluesky.plans.command_file import run_command_file
from usaxs_bluesky.plans.command_parser import CommandFileError, parse_text
from usaxs_bluesky.plans.usaxs import uascan

REQUEST = """\
requested_by: Jan Ilavsky
items:
  - name: chemical_formula
    source: fixed
    value: "SiO2"
    required: true
  - name: cell_temperature
    source: pv
    pv: "usxSample:Temperature"
    type: float
    units: C
    required: true
  - name: solvent
    source: per_sample
    required: true
  - name: volume_fraction
    source: per_sample
    type: float
"""


@pytest.fixture
def request_file(tmp_path) -> Path:
    path = tmp_path / "request.yml"
    path.write_text(REQUEST)
    return path


@pytest.fixture
def loaded(usaxs_session, request_file):
    """The session with the request loaded; cleared afterwards."""
    requests = usaxs_session.load_metadata_requests(request_file)
    try:
        yield usaxs_session
    finally:
        usaxs_session.clear_metadata_requests()
    assert usaxs_session.instrument.metadata_requests.get() is None
    assert requests.path == request_file


def _run(session, plan):
    """Run ``plan``; return the start documents it emitted."""
    starts = []
    token = session.RE.subscribe(lambda name, doc: starts.append(doc), "start")
    try:
        session.RE(plan)
    finally:
        session.RE.unsubscribe(token)
    return starts


def _nexus_file(start) -> Path:
    path = Path(start["hdf5_path"]) / start["hdf5_file"]
    assert path.is_file(), path
    return path


# ------------------------------------------------------------------ without devices


def test_command_lines_take_per_sample_values():
    commands, problems = parse_text(
        'saxs 20 0 1.0 "spheres" solvent=water volume_fraction=0.1\n'
        'saxs 20 0 1.0 "spheres" solvent=water solvent=oil\n'
        "saxs 20 0 1.0 spheres in water\n"
        "saxs 20 0 1.0 spheres in solvent=water\n",
        "f",
    )
    assert commands[0].per_sample == {"solvent": "water", "volume_fraction": "0.1"}
    assert commands[0].title == "spheres"
    assert problems[0] == "f:2: per-sample 'solvent' given twice"
    assert problems[1].startswith("f:3: saxsExp needs 4 arguments")
    assert problems[2].startswith("f:4: extra argument 'in' is not a per-sample name=value")
    assert len(problems) == 3


def test_per_sample_problems(request_file):
    requests = load_requests(request_file)
    assert per_sample_problems(requests, {"solvent": "water"}) == []
    problems = per_sample_problems(requests, {"volume_fraction": "lots", "colour": "red"})
    assert "required solvent (per_sample) missing" in problems
    assert any(p.startswith("volume_fraction: per-sample value 'lots'") for p in problems)
    assert any(p.startswith("'colour' is not a per-sample item") for p in problems)
    assert per_sample_problems(None, {}) == []
    assert "no metadata request loaded" in per_sample_problems(None, {"solvent": "w"})[0]


# ------------------------------------------------------------------ against the sim


def test_check_command_reads_the_sim_pv(sim_ioc, request_file):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "usaxs"), "metadata", "check", str(request_file)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if "cell_temperature" in line)
    assert "usxSample:Temperature" in row and " ok " in row
    assert "unreachable" not in result.stdout
    assert "OK: 4 item(s), 0 error(s)" in result.stdout


def test_session_refuses_a_bad_request_file_before_connecting(tmp_path):
    from usaxs_bluesky.session import make_session

    bad = tmp_path / "bad.yml"
    bad.write_text("items:\n  - {name: x, source: nowhere}\n")
    with pytest.raises(MetadataError, match="bad.yml: item 1 \\(x\\): source 'nowhere'"):
        # the config is never looked at: the request file is refused first
        make_session(tmp_path / "data", config=tmp_path / "absent.yml", metadata_requests=bad)


def test_measurements_record_the_requested_metadata(loaded):
    inst = loaded.instrument
    per_sample = {"solvent": "water", "volume_fraction": "0.05"}
    (saxs,) = _run(loaded, saxsExp(inst, 20, 0, 1.0, "spheres", md={"per_sample": per_sample}))
    (step,) = _run(
        loaded,
        uascan(
            inst,
            title="spheres",
            thickness_mm=1.0,
            intervals=8,
            count_time=0.05,
            md={"per_sample": {"solvent": "toluene"}},
        ),
    )
    for start, solvent in ((saxs, "water"), (step, "toluene")):
        requested = start["requested_metadata"]
        assert "per_sample" not in start
        assert requested["chemical_formula"] == {"value": "SiO2", "units": None, "source": "fixed"}
        assert requested["cell_temperature"]["source"] == "usxSample:Temperature"
        assert requested["cell_temperature"]["units"] == "C"
        assert isinstance(requested["cell_temperature"]["value"], float)
        assert requested["solvent"] == {"value": solvent, "units": None, "source": "per_sample"}
        assert requested["_required"] == ["chemical_formula", "cell_temperature", "solvent"]
        assert requested["_requested_by"] == "Jan Ilavsky"
        assert loaded.catalog[start["uid"]].metadata["start"]["requested_metadata"] == requested
    assert saxs["requested_metadata"]["volume_fraction"]["value"] == 0.05
    assert step["requested_metadata"]["_missing_optional"] == ["volume_fraction"]

    with h5py.File(_nexus_file(saxs), "r") as h5:
        group = h5["/entry/requested_metadata"]
        assert group.attrs["NX_class"] == "NXcollection"
        assert group.attrs["requested_by"] == "Jan Ilavsky"
        temperature = group["cell_temperature"]
        assert temperature[()] == saxs["requested_metadata"]["cell_temperature"]["value"]
        assert temperature.attrs["units"] == "C"
        assert temperature.attrs["epics_pv"] == "usxSample:Temperature"
        assert bool(temperature.attrs["required"]) is True
        solvent = group["solvent"]
        assert solvent[()].decode() == "water" and solvent.attrs["source"] == "per_sample"
        assert group["chemical_formula"].attrs["source"] == "fixed"
        fraction = group["volume_fraction"]
        assert fraction[()] == 0.05 and bool(fraction.attrs["required"]) is False
    with h5py.File(_nexus_file(step), "r") as h5:
        assert h5["/entry/requested_metadata/solvent"][()].decode() == "toluene"
        assert "volume_fraction" not in h5["/entry/requested_metadata"]


def test_command_file_lines_record_their_per_sample_values(loaded, tmp_path):
    path = tmp_path / "cmds.txt"
    path.write_text('saxs 20 0 1.0 "spheres" solvent=heptane volume_fraction=0.2\n')
    (start,) = _run(loaded, run_command_file(loaded.instrument, path))
    requested = start["requested_metadata"]
    assert requested["solvent"]["value"] == "heptane"
    assert requested["volume_fraction"]["value"] == 0.2
    assert start["command_line"] == 1
    assert any(key.startswith(("trans_", "Pin_Tr")) for key in start)  # measured first
    with h5py.File(_nexus_file(start), "r") as h5:
        assert h5["/entry/requested_metadata/solvent"][()].decode() == "heptane"


def test_missing_required_item_is_refused_before_anything_moves(loaded, tmp_path):
    inst = loaded.instrument
    runs = len(loaded.catalog)
    sx, sy = inst.s_stage.x.position, inst.s_stage.y.position
    mode = inst.mode.get()
    target = 40.0 if abs(sx - 40.0) > 1 else 20.0  # a position the stage is not at
    with pytest.raises(MetadataError) as err:
        loaded.RE(saxsExp(inst, target, 0, 1.0, "spheres", md={"per_sample": {"colour": "red"}}))
    message = str(err.value)
    assert "required solvent (per_sample) missing" in message
    assert "'colour' is not a per-sample item" in message

    path = tmp_path / "cmds.txt"
    path.write_text(
        f'saxs {target} 0 1.0 "spheres" solvent=water\n'
        f'saxs {target} 0 1.0 "glassy carbon" volume_fraction=0.1\n'
        f'saxs {target} 0 1.0 "blank" solvent=water volume_fraction=some\n'
    )
    with pytest.raises(CommandFileError) as err:
        loaded.RE(run_command_file(inst, path))
    problems = err.value.problems
    assert f"{path}:2: required solvent (per_sample) missing" in problems
    assert any(
        p.startswith(f"{path}:3: volume_fraction: per-sample value 'some'") for p in problems
    )
    assert len(problems) == 2

    assert len(loaded.catalog) == runs
    assert inst.s_stage.x.position == pytest.approx(sx)
    assert inst.s_stage.y.position == pytest.approx(sy)
    assert inst.mode.get() == mode


def test_per_sample_values_without_a_request_are_refused(usaxs_session, tmp_path):
    inst = usaxs_session.instrument
    assert inst.metadata_requests.get() is None
    with pytest.raises(MetadataError, match="no metadata request loaded"):
        usaxs_session.RE(
            saxsExp(inst, 20, 0, 1.0, "spheres", md={"per_sample": {"solvent": "water"}})
        )
    path = tmp_path / "cmds.txt"
    path.write_text(textwrap.dedent('saxs 20 0 1.0 "spheres" solvent=water\n'))
    with pytest.raises(CommandFileError, match=f"{path}:1: per-sample values"):
        usaxs_session.RE(run_command_file(inst, path))


def test_usaxsscan_refuses_before_moving_the_sample(loaded):
    from usaxs_bluesky.plans.usaxs import USAXSscan

    inst = loaded.instrument
    sx = inst.s_stage.x.position
    target = 40.0 if abs(sx - 40.0) > 1 else 20.0
    try:
        with pytest.raises(MetadataError, match="required solvent"):
            loaded.RE(USAXSscan(inst, target, 0, 1.0, "spheres"))
        assert inst.s_stage.x.position == pytest.approx(sx)
    finally:
        inst.s_stage.x.move(sx, wait=True, timeout=60)
