"""Command files: parsing and checking (pure), then running against the simulator."""

import pytest
from bluesky import plan_stubs as bps
from plan_runner import run_plan

from usaxs_bluesky.plans import command_file
from usaxs_bluesky.plans.command_file import run_command_file
from usaxs_bluesky.plans.command_parser import (
    CommandFileError,
    limit_problems,
    parse_rows,
    parse_text,
    read_command_file,
)

GOOD = """\
# a comment
FlyScan   20   0   1.0   "spheres in water"   # trailing comment

SAXSEXP   40   0.5 1.055 glassy_carbon
mode_usaxs
tune_AR
preUSAXStune
"""


def test_good_text_file_parses_to_canonical_actions():
    commands, problems = parse_text(GOOD, "cmds.txt")
    assert problems == []
    assert [c.action for c in commands] == [
        "USAXSscan", "saxsExp", "mode_usaxs", "tune_ar", "preUSAXStune",
    ]  # fmt: skip
    first = commands[0]
    assert (first.line, first.x, first.y, first.thickness_mm) == (2, 20.0, 0.0, 1.0)
    assert first.title == "spheres in water" and first.where == "cmds.txt:2"
    assert first.text.startswith("FlyScan")


def test_all_problems_are_reported_with_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(
        'flyscan 1 2 0 "ok"\n'
        "jump 1 2 3 x\n"
        'saxs a 2 1 "x"\n'
        'waxs 1 2 1 "unterminated\n'
        "tune_ar 5\n"
        'saxs 1 2 nan "x"\n'
        'saxs 1 2 1 "a/b"\n'
        'saxs 1 2 1 ""\n'
        "saxs 1 2 1\n"
    )
    with pytest.raises(CommandFileError) as info:
        read_command_file(path)
    text = str(info.value)
    assert text.startswith("9 problem(s)")
    for line, what in [
        (1, "thickness must be > 0"),
        (2, "unknown action 'jump'"),
        (3, "sx 'a' is not a number"),
        (4, "malformed quotes"),
        (5, "takes no arguments"),
        (6, "not finite"),
        (7, "path separator"),
        (8, "sample name is empty"),
        (9, "needs 4 arguments"),
    ]:
        assert f"{path}:{line}: " in text and what in text, what
    assert isinstance(info.value, ValueError)


def test_limits_are_checked():
    commands, _ = parse_text('saxs 150 0 1 "far"\nsaxs 0 -60 1 "low"\nsaxs 0 0 1 "ok"', "f")
    problems = limit_problems(commands, {"sx": (-100, 100), "sy": (-50, 50)})
    assert len(problems) == 2
    assert problems[0].startswith("f:1: sx=150 mm is outside") and problems[1].startswith("f:2: sy")


def test_xlsx_sheet(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Action", "sx", "sy", "thickness", "name"])
    sheet.append(["FlyScan", 20, 0, 1.0, "spheres in water"])
    sheet.append(["# skipped", None, None, None, None])
    sheet.append([None, None, None, None, None])
    sheet.append(["waxs", "40", 0, 1.055, "carbon"])
    sheet.append(["mode_out"])
    path = tmp_path / "cmds.xlsx"
    book.save(path)
    commands = read_command_file(path)
    assert [(c.line, c.action) for c in commands] == [
        (2, "USAXSscan"), (5, "waxsExp"), (6, "mode_out"),
    ]  # fmt: skip
    assert commands[1].x == 40.0 and commands[0].title == "spheres in water"
    _, problems = parse_rows([("saxs", 1, 2, -1, "x")], "s.xlsx")
    assert problems == ["s.xlsx:1: thickness must be > 0 mm, got -1"]


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(CommandFileError, match="no commands"):
        read_command_file(tmp_path / "empty.txt")
    with pytest.raises(CommandFileError, match="no such command file"):
        read_command_file(tmp_path / "absent.txt")


# ------------------------------------------------------------------ against the sim


def test_command_file_runs_each_line_with_its_location(usaxs_session, tmp_path):
    inst = usaxs_session.instrument
    path = tmp_path / "run.txt"
    path.write_text('saxs 20 0 1.0 "spheres"\nmode_usaxs\nWAXS 40 0 1.055 "glassy carbon"\n')
    hooks = []

    def hook():
        hooks.append(1)
        yield from bps.null()

    results, docs = run_plan(
        usaxs_session, run_command_file(inst, path, every_n=1, hook=hook, after=bps.null())
    )
    assert [(line, action) for line, action, _ in results] == [
        (1, "saxsExp"), (2, "mode_usaxs"), (3, "waxsExp"),
    ]  # fmt: skip
    assert len(hooks) == 1  # after the first sample; none after the last line
    starts = [d for n, d in docs if n == "start"]
    assert [(s["plan_name"], s["command_line"]) for s in starts] == [("SAXS", 1), ("WAXS", 3)]
    assert all(s["command_file"] == str(path) for s in starts)
    assert starts[1]["command_text"] == 'WAXS 40 0 1.055 "glassy carbon"'
    assert starts[0]["Pin_TrPD"] > 0  # SAXS transmission measured before the exposure
    assert starts[1]["title"] == "glassy carbon" and starts[1]["sx"] == 40.0


def test_bad_file_is_refused_before_anything_moves(usaxs_session, tmp_path):
    inst = usaxs_session.instrument
    path = tmp_path / "limits.txt"
    path.write_text('saxs 0 0 1 "ok"\nsaxs 500 0 1 "far"\nfoo\n')
    x0 = inst.s_stage.x.position
    docs = []
    token = usaxs_session.RE.subscribe(lambda n, d: docs.append(n))
    try:
        with pytest.raises(CommandFileError) as info:
            usaxs_session.RE(run_command_file(inst, path))
    finally:
        usaxs_session.RE.unsubscribe(token)
    assert f"{path}:2: sx=500 mm is outside the stage limits" in str(info.value)
    assert f"{path}:3: unknown action" in str(info.value)
    assert docs == [] and inst.s_stage.x.position == x0


def test_failure_mid_list_keeps_earlier_runs_and_names_the_line(
    usaxs_session, tmp_path, monkeypatch
):
    inst = usaxs_session.instrument

    def broken(*args, **kwargs):
        yield from bps.null()
        raise RuntimeError("detector on fire")

    monkeypatch.setitem(command_file.SAMPLE_PLANS, "waxsExp", broken)
    path = tmp_path / "fail.txt"
    path.write_text('saxs 0 0 1 "first"\nwaxs 0 0 1 "second"\nsaxs 0 0 1 "third"\n')
    docs = []
    token = usaxs_session.RE.subscribe(lambda n, d: docs.append((n, d)))
    try:
        with pytest.raises(CommandFileError, match=rf"{path}:2: waxsExp failed: RuntimeError"):
            usaxs_session.RE(run_command_file(inst, path, transmission=False))
    finally:
        usaxs_session.RE.unsubscribe(token)
    stops = [d for n, d in docs if n == "stop"]
    assert len(stops) == 1 and stops[0]["exit_status"] == "success"
    uid = stops[0]["run_start"]
    assert usaxs_session.catalog[uid].metadata["start"]["title"] == "first"


def test_hook_arguments_are_checked(usaxs_session, tmp_path):
    with pytest.raises(ValueError, match="every_n and hook"):
        usaxs_session.RE(run_command_file(usaxs_session.instrument, tmp_path / "x", every_n=2))
