"""Metadata request files: loading, checking (with PVs) and collecting for the start document."""

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from usaxs_sim.launcher import free_port

from usaxs_bluesky.metadata.policy import MetadataError
from usaxs_bluesky.metadata.request_files import load_requests, parse_requests
from usaxs_bluesky.metadata.request_report import check_requests, format_report
from usaxs_bluesky.metadata.request_values import convert
from usaxs_bluesky.metadata.requests import MISSING_OPTIONAL_KEY, START_KEY, collect, requests_to_md

EXAMPLE = """\
requested_by: Jan Ilavsky
items:
  - name: chemical_formula
    source: fixed
    value: "C"
    type: str
    required: true
    description: empirical formula of the sample
  - name: concentration_g_cm3
    source: fixed
    value: 1
    type: float
    units: g/cm3
  - name: cell_temperature
    source: pv
    pv: "usxSample:Temperature"
    type: float
    units: C
    required: true
  - name: solvent
    source: per_sample
    type: str
    required: true
  - name: ph
    source: per_sample
    type: float
  - name: repeats
    source: fixed
    value: 3
    type: int
"""


@pytest.fixture
def request_file(tmp_path):
    path = tmp_path / "request.yml"
    path.write_text(EXAMPLE)
    return path


def fake_pvs(values):
    """A PV reader serving ``values``; unknown names raise TimeoutError as if unreachable."""

    def read(name):
        if name not in values:
            raise TimeoutError(f"PV {name} not connected")
        return values[name]

    return read


def test_load_example(request_file):
    requests = load_requests(request_file)
    assert requests.requested_by == "Jan Ilavsky"
    assert requests.path == request_file
    assert requests.names() == [
        "chemical_formula",
        "concentration_g_cm3",
        "cell_temperature",
        "solvent",
        "ph",
        "repeats",
    ]
    assert requests.names("per_sample") == ["solvent", "ph"]
    assert requests.pv_names == ["usxSample:Temperature"]
    concentration = requests.items[1]
    assert concentration.value == 1.0 and isinstance(concentration.value, float)
    assert concentration.units == "g/cm3" and concentration.required is False
    assert requests.items[2].origin == "usxSample:Temperature"


def _item(**fields):
    base = {"name": "x", "source": "fixed", "value": "v", "type": "str"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    "item, fragment",
    [
        (_item(colour="red"), "unknown key(s) ['colour']"),
        (_item(source="epics"), "source 'epics' not allowed; use one of fixed, pv, per_sample"),
        (_item(type="double"), "type 'double' not allowed; use one of str, float, int, bool"),
        (_item(source="pv", value=None), "source pv needs a PV name"),
        (_item(source="pv", value=None, pv="a b"), "source pv needs a PV name"),
        (_item(source="per_sample", pv="x:y", value=None), "'pv' is only allowed with source pv"),
        (_item(source="per_sample"), "'value' is only allowed with source fixed"),
        (_item(value=None), "source fixed needs a 'value'"),
        (_item(type="float", value="1.2"), "fixed value '1.2' is not of type float"),
        (_item(type="int", value=1.5), "fixed value 1.5 is not of type int"),
        (_item(type="int", value=True), "fixed value True is not of type int"),
        (_item(type="bool", value="yes"), "fixed value 'yes' is not of type bool"),
        (_item(type="str", value=5), "fixed value 5 is not of type str"),
        (_item(name="2theta"), "name '2theta' is not a valid identifier"),
        (_item(name="my name"), "name 'my name' is not a valid identifier"),
        (_item(name="_private"), "name '_private' is not a valid identifier"),
        (_item(required="yes"), "required must be true or false"),
        (_item(units=""), "units must be a non-empty string"),
    ],
)
def test_malformed_item_is_refused_naming_file_and_item(tmp_path, item, fragment):
    import yaml

    path = tmp_path / "bad.yml"
    good = _item(name="first")
    path.write_text(yaml.safe_dump({"items": [good, item]}))
    with pytest.raises(MetadataError) as err:
        load_requests(path)
    message = str(err.value)
    assert str(path) in message
    assert "item 2" in message
    assert fragment in message
    assert "item 1" not in message


def test_every_problem_is_listed(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(
        "items:\n"
        "  - {name: a, source: nowhere}\n"
        "  - {name: b, source: pv, type: float}\n"
        "  - {name: a, source: per_sample}\n"
        "  - {name: c, source: per_sample}\n"
        "  - {name: c, source: per_sample}\n"
    )
    with pytest.raises(MetadataError) as err:
        load_requests(path)
    message = str(err.value)
    assert "item 1 (a): source 'nowhere'" in message
    assert "item 2 (b): source pv needs a PV name" in message
    assert "item 5 (c): duplicate name, already used by item 4" in message


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("items: [\n", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("items: {a: 1}\n", "'items' must be a list"),
        ("itemz: []\n", "unknown top-level key(s) ['itemz']"),
        ("items:\n  - name: a\n    name: b\n    source: per_sample\n", "duplicate key 'name'"),
        ("items: []\nitems: []\n", "duplicate key 'items'"),
        ("items:\n  - just a string\n", "item 1: must be a mapping"),
    ],
)
def test_malformed_file_is_refused(tmp_path, text, fragment):
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(MetadataError, match="bad.yml") as err:
        load_requests(path)
    assert fragment in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(MetadataError, match="cannot read request file"):
        load_requests(tmp_path / "nope.yml")


@pytest.mark.parametrize(
    "value, type_name, expected",
    [
        (np.float32(2.5), "float", 2.5),
        (np.array([3.0]), "int", 3),
        ("4", "int", 4),
        ("1e-3", "float", 0.001),
        (1, "bool", True),
        ("No", "bool", False),
        (b"water", "str", "water"),
        (7.5, "str", "7.5"),
    ],
)
def test_convert(value, type_name, expected):
    result = convert(value, type_name)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    "value, type_name",
    [
        (np.zeros(3), "float"),
        (float("nan"), "float"),
        (3.5, "int"),
        ("warm", "float"),
        (True, "float"),
        (2, "bool"),
        (None, "str"),
    ],
)
def test_convert_refuses(value, type_name):
    with pytest.raises(ValueError):
        convert(value, type_name)


def test_check_all_good(request_file):
    report = check_requests(
        load_requests(request_file), read_pv=fake_pvs({"usxSample:Temperature": 21.5})
    )
    assert report.ok, report.errors
    assert report.unreachable == []
    statuses = {row.item.name: (row.status, row.value) for row in report.rows}
    assert statuses["cell_temperature"] == ("ok", 21.5)
    assert statuses["solvent"][0] == "per sample"
    assert statuses["repeats"][0] == "warning"  # int quantity without units
    assert any("repeats: int quantity without units" in w for w in report.warnings)
    text = format_report(report)
    for fragment in ("cell_temperature", "usxSample:Temperature", "21.5", "g/cm3", "OK:"):
        assert fragment in text
    assert "NOT OK" not in text


def test_check_reports_unreachable_and_unconvertible_pvs():
    requests = parse_requests(
        {
            "items": [
                {"name": "t", "source": "pv", "pv": "gone:T", "type": "float", "units": "C"},
                {"name": "u", "source": "pv", "pv": "gone:U", "type": "str", "required": True},
                {"name": "m", "source": "pv", "pv": "ok:M", "type": "float", "units": "mm"},
            ]
        }
    )
    report = check_requests(requests, read_pv=fake_pvs({"ok:M": "warm"}))
    assert not report.ok
    assert report.unreachable == ["gone:T", "gone:U"]
    assert any("u: PV gone:U unreachable" in e for e in report.errors)
    assert any("t: PV gone:T unreachable" in w for w in report.warnings)
    assert any("m: PV ok:M value 'warm' is not float" in w for w in report.warnings)
    text = format_report(report)
    assert "NOT OK" in text and "unreachable PVs: gone:T, gone:U" in text


def test_check_without_connecting(request_file):
    report = check_requests(load_requests(request_file), connect=False)
    assert report.ok
    assert report.unreachable == []


def test_collect(request_file):
    requests = load_requests(request_file)
    md = collect(
        requests,
        {"solvent": "water", "ph": "7.2"},
        read_pv=fake_pvs({"usxSample:Temperature": np.float64(25.0)}),
    )
    assert md["chemical_formula"] == {"value": "C", "units": None, "source": "fixed"}
    assert md["concentration_g_cm3"] == {"value": 1.0, "units": "g/cm3", "source": "fixed"}
    assert md["cell_temperature"] == {
        "value": 25.0,
        "units": "C",
        "source": "usxSample:Temperature",
    }
    assert type(md["cell_temperature"]["value"]) is float
    assert md["solvent"] == {"value": "water", "units": None, "source": "per_sample"}
    assert md["ph"]["value"] == 7.2
    assert md[MISSING_OPTIONAL_KEY] == []
    assert md["_requested_by"] == "Jan Ilavsky"
    json.dumps(md)  # start documents must be JSON


def test_collect_omits_missing_optional_items(request_file):
    md = collect(
        load_requests(request_file),
        {"solvent": "water"},
        read_pv=fake_pvs({"usxSample:Temperature": 25.0}),
    )
    assert "ph" not in md
    assert md[MISSING_OPTIONAL_KEY] == ["ph"]


def test_collect_names_every_missing_required_item(request_file):
    with pytest.raises(MetadataError) as err:
        collect(load_requests(request_file), {"ph": 7.0, "colour": "red"}, read_pv=fake_pvs({}))
    message = str(err.value)
    assert "required solvent (per_sample) missing" in message
    assert "required cell_temperature: PV usxSample:Temperature unreachable" in message
    assert "'colour' is not a per-sample item" in message


def test_collect_refuses_wrong_per_sample_type(request_file):
    with pytest.raises(MetadataError, match="ph: per-sample value 'acid' is not float"):
        collect(
            load_requests(request_file),
            {"solvent": "water", "ph": "acid"},
            read_pv=fake_pvs({"usxSample:Temperature": 25.0}),
        )


def test_requests_to_md(request_file):
    md = requests_to_md(
        load_requests(request_file),
        {"solvent": "toluene"},
        read_pv=fake_pvs({"usxSample:Temperature": 20}),
    )
    assert list(md) == [START_KEY] == ["requested_metadata"]
    assert md[START_KEY]["solvent"]["value"] == "toluene"


# ------------------------------------------------------------- real Channel Access

IOC = """
import sys
from caproto import ChannelType
from caproto.server import PVGroup, pvproperty, run

class Sample(PVGroup):
    temperature = pvproperty(value=23.5, name="Temperature", dtype=float, units="C")
    solvent = pvproperty(value="toluene", name="Solvent", dtype=ChannelType.STRING)
    mode = pvproperty(value="on", name="Mode", dtype=ChannelType.ENUM, enum_strings=["off", "on"])

run(Sample(prefix=sys.argv[1]).pvdb, interfaces=["127.0.0.1"], log_pv_names=False)
"""

READER = """
import json, sys
from usaxs_bluesky.metadata.request_files import load_requests
from usaxs_bluesky.metadata.request_report import check_requests, format_report
from usaxs_bluesky.metadata.requests import collect
requests = load_requests(sys.argv[1])
report = check_requests(requests, timeout=3.0)
print(format_report(report), file=sys.stderr)
md = collect(requests, {}, timeout=3.0)
print(json.dumps({"ok": report.ok, "unreachable": report.unreachable, "md": md}))
"""


@pytest.fixture
def tiny_ioc(tmp_path, monkeypatch):
    """Serve ``<prefix>Temperature``, ``Solvent`` and ``Mode`` on a port of our own."""
    from caproto.sync.client import read

    port = free_port()
    prefix = f"reqtest{os.getpid()}:"
    env = dict(
        os.environ,
        EPICS_CA_SERVER_PORT=str(port),  # caproto servers answer UDP searches on this port
        EPICS_CAS_SERVER_PORT=str(port),
        EPICS_CAS_INTF_ADDR_LIST="127.0.0.1",
        EPICS_CAS_AUTO_BEACON_ADDR_LIST="NO",
        EPICS_CAS_BEACON_ADDR_LIST="127.0.0.1",
    )
    script = tmp_path / "tiny_ioc.py"
    script.write_text(IOC)
    log_path = tmp_path / "tiny_ioc.log"
    log = log_path.open("wb")  # a file, not a pipe: a full pipe would block the IOC
    proc = subprocess.Popen(
        [sys.executable, str(script), prefix], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    monkeypatch.setenv("EPICS_CA_SERVER_PORT", str(port))
    deadline = time.monotonic() + 30
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"tiny IOC exited: {log_path.read_text()}")
            try:
                read(prefix + "Temperature", timeout=0.5, repeater=False)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    pytest.fail("tiny IOC did not answer within 30 s")
        monkeypatch.undo()
        yield prefix, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.timeout(120)
def test_check_and_collect_over_channel_access(tiny_ioc, tmp_path):
    prefix, port = tiny_ioc
    path = tmp_path / "request.yml"
    path.write_text(
        textwrap.dedent(
            f"""\
            items:
              - {{name: cell_temperature, source: pv, pv: "{prefix}Temperature",
                  type: float, units: C, required: true}}
              - {{name: solvent, source: pv, pv: "{prefix}Solvent", type: str}}
              - {{name: heater, source: pv, pv: "{prefix}Mode", type: str}}
              - {{name: pressure, source: pv, pv: "{prefix}Nowhere", type: float, units: bar}}
            """
        )
    )
    env = dict(os.environ, EPICS_CA_SERVER_PORT=str(port))
    result = subprocess.run(
        [sys.executable, "-c", READER, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["ok"] is True  # the unreachable item is optional: a warning
    assert out["unreachable"] == [f"{prefix}Nowhere"]
    md = out["md"]
    assert md["cell_temperature"] == {
        "value": 23.5,
        "units": "C",
        "source": f"{prefix}Temperature",
    }
    assert md["solvent"]["value"] == "toluene"
    assert md["heater"]["value"] == "on"
    assert md[MISSING_OPTIONAL_KEY] == ["pressure"]
    assert f"{prefix}Nowhere" in result.stderr  # the report names it
