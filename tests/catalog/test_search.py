"""Find runs by user, sample pattern, plan and dates, from Python and from ``usaxs find``."""

from __future__ import annotations

import datetime

import pytest

from usaxs_bluesky.catalog.search import Criteria, find_runs, parse_time
from usaxs_bluesky.cli import main

from .conftest import DAY, NOW, RUNS


def _day(age_days: float) -> str:
    return datetime.date.fromtimestamp(NOW - age_days * DAY).isoformat()


def _titles(runs) -> list[str]:
    return [r.sample for r in runs]


def test_every_run_oldest_first(filled):
    runs = find_runs(catalog=filled.catalog)
    assert _titles(runs) == [r[1] for r in reversed(RUNS)]
    assert all(len(r.files_of("raw")) == 1 and len(r.files_of("reduced")) == 1 for r in runs)


@pytest.mark.parametrize(
    "criteria, expected",
    [
        ({"user": "alice"}, {"Glassy Carbon 1", "water_blank"}),
        ({"plan": "Flyscan"}, {"Glassy Carbon 1", "spheres 50x_b"}),
        ({"sample": "SPHERES"}, {"Spheres 50%_a", "spheres 50x_b"}),
        ({"sample": "50%"}, {"Spheres 50%_a"}),  # % is literal, not a wildcard
        ({"sample": "_a"}, {"Spheres 50%_a"}),  # _ is literal too
        ({"sample": "sph*_?"}, {"Spheres 50%_a", "spheres 50x_b"}),
        ({"sample": "glassy*"}, {"Glassy Carbon 1"}),
        ({"sample": "carbon"}, {"Glassy Carbon 1"}),
        ({"sample": "carbon*"}, set()),  # a glob matches the whole name
        ({"since": _day(50)}, {"Glassy Carbon 1", "water_blank"}),
        ({"until": _day(100)}, {"Spheres 50%_a", "spheres 50x_b", "GC?x"}),
        ({"since": _day(250), "until": _day(100)}, {"Spheres 50%_a", "spheres 50x_b"}),
        ({"user": "bob", "plan": "Flyscan"}, {"spheres 50x_b"}),
        ({"user": "bob", "sample": "50%", "since": _day(150)}, {"Spheres 50%_a"}),
        ({"user": "alice", "sample": "spheres"}, set()),
    ],
)
def test_find_by_criteria(filled, criteria, expected):
    assert set(_titles(find_runs(catalog=filled.catalog, **criteria))) == expected


def test_until_a_date_includes_that_whole_day():
    start = parse_time("2026-11-24", option="--since")
    end = parse_time("2026-11-24", option="--until", end_of_day=True)
    assert end - start == pytest.approx(DAY, abs=3600)  # a DST change shifts by an hour
    assert parse_time("2026-11-24T13:30", option="--until", end_of_day=True) < end


def test_dates_in_wrong_order_refused():
    with pytest.raises(ValueError, match="--since .* must be before --until"):
        Criteria.parse(since="2026-11-25", until="2026-11-24")
    with pytest.raises(ValueError) as err:
        Criteria.parse(since="2026-12-02", until="2026-12-01")
    assert str(err.value).startswith("--since '2026-12-02' must be before --until '2026-12-01'")
    with pytest.raises(ValueError, match=r"--since 20\.0 must be before --until 10\.0$"):
        Criteria.parse(since=20.0, until=10.0)
    with pytest.raises(ValueError, match="--since: 'yesterday' is not an ISO date"):
        Criteria.parse(since="yesterday")


def test_cli_table(filled, capsys):
    assert main(["find", "--data-dir", str(filled.data_dir), "--user", "bob"]) == 0
    out = capsys.readouterr().out
    assert "Spheres 50%_a" in out and "spheres 50x_b" in out and "alice" not in out
    assert out.splitlines()[0].split()[:8] == [
        "time", "user", "sample", "plan", "scan", "raw", "red", "uid"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "args, message, status",
    [
        (["--user", "nobody"], "no run of user 'nobody' in the catalog", 1),
        (["--sample", "zirconia"], "no sample name in the catalog matches 'zirconia'", 1),
        (["--user", "alice", "--plan", "WAXS"], "no run matches user='alice', plan='WAXS'", 1),
        (["--since", "2026-11-25", "--until", "2026-11-24"], "must be before --until", 2),
        (
            ["--since", "2026-12-02", "--until", "2026-12-01"],
            "--since '2026-12-02' must be before --until '2026-12-01'",
            2,
        ),
    ],
)
def test_cli_bad_input(filled, capsys, args, message, status):
    assert main(["find", "--data-dir", str(filled.data_dir), *args]) == status
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_runs_of_the_sim_instrument(usaxs_session):
    """Runs made by the session's plans are found by user, sample and plan."""
    from usaxs_bluesky.plans.alignment import rocking_curve
    from usaxs_bluesky.plans.counting import count_sample

    s = usaxs_session
    s.RE(count_sample(s.instrument, title="Find me GC", thickness_mm=1.0, user_name="finder_a",
                      count_time=0.05))  # fmt: skip
    s.RE(rocking_curve(s.instrument, title="find_me_blank", thickness_mm=0.5,
                       user_name="finder_b", num=5, count_time=0.05))  # fmt: skip
    runs = find_runs(catalog=s.catalog, sample="find*me*")
    assert {(r.user, r.sample, r.plan) for r in runs} == {
        ("finder_a", "Find me GC", "count"),
        ("finder_b", "find_me_blank", "rocking_curve"),
    }
    assert [r.sample for r in find_runs(catalog=s.catalog, user="finder_b")] == ["find_me_blank"]
    today = datetime.date.today().isoformat()
    found = find_runs(catalog=s.catalog, plan="count", user="finder_a", since=today, until=today)
    assert [r.sample for r in found] == ["Find me GC"]
    assert all(r.scan_id is not None for r in runs)
