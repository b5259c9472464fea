"""``usaxs commands check``: every problem of a command file; live, recorded or PV-map limits."""

import yaml
from openpyxl import Workbook
from plan_runner import run_plan

from usaxs_bluesky.cli import main
from usaxs_bluesky.instrument import load_config
from usaxs_bluesky.plans.area_detector import saxsExp

GOOD = """\
# a good file
FlyScan   20   0   1.0   "spheres in water"
saxs      -3   4.5 0.5   glassy_carbon
mode_usaxs
"""

BAD = """\
flyscan   20   0   1.0   "ok sample"
fly       1    2   1.0   "unknown action"
saxs      nan  0   1.0   "not finite"
saxs      1    0   0     "zero thickness"
waxs      1    0   -2    "negative thickness"
saxs      1    0   1.0   "../../etc/passwd"
saxs      1e9  0   1.0   "far away"
saxs      1    0   1.0   "solvent" solvent=water
mode_usaxs extra
"""


def _pv_map(tmp_path, *, prefix="", limits=None):
    """A PV map file: the packaged one, with another prefix and/or a limits section."""
    config = load_config()
    config["pv_prefix"] = prefix
    if limits is not None:
        config["limits"] = {"s_stage": limits}
    path = tmp_path / "pvmap.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _check(capsys, *args):
    status = main(["commands", "check", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def _offline(tmp_path, limits=None):
    """Options that make the instrument unreachable (PVs under a prefix nobody serves)."""
    pv_map = _pv_map(tmp_path, prefix="nobody:serves:", limits=limits)
    return ["--pv-map", pv_map, "--timeout", "0.3", "--data-dir", tmp_path / "nodata"]


def test_good_file_offline_uses_pv_map_limits(tmp_path, capsys):
    path = tmp_path / "good.txt"
    path.write_text(GOOD)
    limits = {"x": [-50, 50], "y": [-10, 10]}
    status, out = _check(capsys, path, "--user", "jan", *_offline(tmp_path, limits))
    assert status == 0, out
    assert "limits: pv map" in out and "sx -50..50 mm" in out
    assert f"{path}: OK, 3 command(s)" in out
    assert "sample PVs for tune lines not checked" in out


def test_bad_file_lists_every_problem_with_its_line(tmp_path, capsys):
    path = tmp_path / "bad.txt"
    path.write_text(BAD)
    limits = {"x": [-50, 50], "y": [-10, 10]}
    status, out = _check(capsys, path, "--user", "jan", *_offline(tmp_path, limits))
    assert status == 1
    expected = [
        f"{path}:2: unknown action 'fly'",
        f"{path}:3: sx 'nan' is not finite",
        f"{path}:4: thickness must be > 0 mm, got 0",
        f"{path}:5: thickness must be > 0 mm, got -2",
        f"{path}:6: sample name '../../etc/passwd' contains a path separator",
        f"{path}:7: sx=1e+09 mm is outside the stage limits -50..50",
        f"{path}:8:",
        f"{path}:9: mode_usaxs takes no arguments",
    ]
    for text in expected:
        assert text in out, f"{text!r} missing from:\n{out}"
    assert f"{path}:1:" not in out
    assert "8 problem(s)" in out


def test_no_limits_known_says_so_and_does_not_check_positions(tmp_path, capsys):
    path = tmp_path / "far.txt"
    path.write_text('saxs 1e6 0 1.0 "far"\n')
    status, out = _check(capsys, path, "--user", "jan", *_offline(tmp_path))
    assert status == 0, out
    assert "limits: none (no limits known: sample positions not checked)" in out


def test_bad_pv_map_limits_are_an_error(tmp_path, capsys):
    path = tmp_path / "good.txt"
    path.write_text(GOOD)
    status = main(
        ["commands", "check", str(path), "--user", "jan"]
        + [str(a) for a in _offline(tmp_path, {"x": [0, "inf"], "y": [0, 1]})]
    )
    assert status == 2
    assert "limits.s_stage.x" in capsys.readouterr().err


def test_offline_without_user_says_user_not_checked(tmp_path, capsys):
    path = tmp_path / "good.txt"
    path.write_text(GOOD)
    status, out = _check(capsys, path, *_offline(tmp_path))
    assert status == 0
    assert "user name not checked" in out


def test_xlsx_and_missing_file(tmp_path, capsys):
    book = Workbook()
    sheet = book.active
    sheet.append(["action", "sx", "sy", "thickness", "name"])
    sheet.append(["saxs", 1, 0, "thick", "s1"])
    sheet.append(["waxs", 1, 0, 1.0, "s2"])
    path = tmp_path / "cmds.xlsx"
    book.save(path)
    status, out = _check(capsys, path, "--user", "jan", *_offline(tmp_path))
    assert status == 1
    assert f"{path}:2: thickness 'thick' is not a number" in out
    status, out = _check(capsys, tmp_path / "absent.txt", "--user", "jan", *_offline(tmp_path))
    assert status == 1 and "no such command file" in out


def test_per_sample_values_checked_against_the_request(tmp_path, capsys):
    request = tmp_path / "request.yml"
    request.write_text(
        yaml.safe_dump(
            {"requested_by": "jan", "items": [
                {"name": "solvent", "source": "per_sample", "required": True},
            ]}
        )
    )  # fmt: skip
    path = tmp_path / "ps.txt"
    path.write_text('saxs 1 0 1.0 "with" solvent=water\nsaxs 1 0 1.0 "without"\n')
    status, out = _check(capsys, path, "--user", "jan", "--requests", request, *_offline(tmp_path))
    assert status == 1, out
    assert f"{path}:2:" in out and f"{path}:1:" not in out


def test_live_limits_from_the_sim_win_over_the_pv_map(sim_ioc, tmp_path, capsys):
    path = tmp_path / "live.txt"
    path.write_text('saxs 20 0 1.0 "inside"\nsaxs 0 60 1.0 "outside"\n')
    pv_map = _pv_map(tmp_path, limits={"x": [-5, 5], "y": [-5, 5]})
    status, out = _check(capsys, path, "--user", "jan", "--pv-map", pv_map, "--timeout", "10")
    assert status == 1
    assert "limits: live (motor records usxAERO:m8, usxAERO:m9): sx -100..100 mm, sy -50..50" in out
    assert f"{path}:2: sy=60 mm is outside the stage limits -50..50" in out
    assert f"{path}:1:" not in out


def test_live_check_reads_the_user_pv_and_sample_pvs(usaxs_session, tmp_path, capsys):
    inst = usaxs_session.instrument
    path = tmp_path / "tune.txt"
    path.write_text("tune_ar\n")
    old = inst.sample_data.thickness.get()
    inst.sample_data.thickness.put(0.0, wait=True)
    try:
        status, out = _check(capsys, path, "--timeout", "10")
    finally:
        inst.sample_data.thickness.put(old, wait=True)
    assert status == 1
    assert f"{path}:1: tune lines take the sample PVs" in out and "thickness" in out
    assert "user name not checked" not in out  # read from the user PV (test_user)


def test_offline_uses_limits_recorded_in_the_catalog_baseline(usaxs_session, tmp_path, capsys):
    inst = usaxs_session.instrument
    run_plan(usaxs_session, saxsExp(inst, 0, 0, 1.0, "older_baseline_probe"))
    uid, _ = run_plan(usaxs_session, saxsExp(inst, 0, 0, 1.0, "baseline_probe"))  # the newest
    path = tmp_path / "far.txt"
    path.write_text('saxs 0 51 1.0 "outside y"\n')
    pv_map = _pv_map(tmp_path, prefix="nobody:serves:", limits={"x": [-1, 1], "y": [-99, 99]})
    status, out = _check(
        capsys, path, "--user", "jan", "--pv-map", pv_map, "--timeout", "0.3",
        "--data-dir", usaxs_session.data_dir,
    )  # fmt: skip
    assert status == 1, out
    assert f"limits: catalog (baseline of run {uid})" in out
    assert "sy=51 mm is outside the stage limits -50..50" in out
