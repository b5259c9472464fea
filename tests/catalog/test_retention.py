"""``usaxs retention``: report by age and user; prune past the minimum, as the dry run lists."""

from __future__ import annotations

import json

import pytest

from usaxs_bluesky.catalog.integrity import verify_catalog
from usaxs_bluesky.catalog.retention import (
    LOG_NAME,
    MIN_DAYS_ENV,
    parse_age_days,
    prune_candidates,
    retention_report,
)
from usaxs_bluesky.catalog.search import find_runs
from usaxs_bluesky.cli import main


def _state(filled):
    files = sorted(str(p) for p in (filled.data_dir / "files").rglob("*.h5"))
    return sorted(filled.catalog), files


def test_report_by_age_and_user(filled, capsys):
    rows = {(r.bucket, r.user): (r.runs, r.files) for r in retention_report(filled.catalog)}
    assert rows == {
        ("< 30 d", "alice"): (1, 2),
        ("30-90 d", "alice"): (1, 2),
        ("90-180 d", "bob"): (1, 2),
        ("180-365 d", "bob"): (1, 2),
        ("> 365 d", "carol"): (1, 2),
    }
    assert main(["retention", "report", "--data-dir", str(filled.data_dir)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split()[:3] == ["total", "5", "10"]


@pytest.mark.parametrize("text, days", [("120d", 120), ("120", 120), ("16w", 112)])
def test_parse_age(text, days):
    assert parse_age_days(text) == days


def test_prune_refuses_a_short_cut_off(fresh, capsys, monkeypatch):
    before = _state(fresh)
    args = ["retention", "prune", "--data-dir", str(fresh.data_dir), "--yes"]
    assert main([*args, "--older-than", "30d"]) == 2
    assert "shorter than the retention minimum of 90 days" in capsys.readouterr().err
    monkeypatch.setenv(MIN_DAYS_ENV, "365")
    assert main([*args, "--older-than", "120d"]) == 2
    assert "minimum of 365 days" in capsys.readouterr().err
    assert main([*args, "--older-than", "2 months"]) == 2
    assert _state(fresh) == before
    assert not (fresh.data_dir / LOG_NAME).exists()


def test_prune_removes_exactly_what_the_dry_run_listed(fresh, capsys):
    args = ["retention", "prune", "--data-dir", str(fresh.data_dir), "--older-than", "120d"]
    before = _state(fresh)
    assert main(args) == 0
    dry = capsys.readouterr().out
    assert "dry run: would remove 2 run(s), 4 file(s)" in dry
    assert _state(fresh) == before
    listed = {line.split()[-1] for line in dry.splitlines()[1:-1]}
    assert listed == {fresh.uids[3], fresh.uids[4]}

    assert main([*args, "--yes"]) == 0
    catalog_after, files_after = _state(fresh)
    assert set(before[0]) - set(catalog_after) == listed
    removed_files = {str(p) for uid in listed for p in fresh.files[uid]}
    assert set(before[1]) - set(files_after) == removed_files
    log = [json.loads(line) for line in (fresh.data_dir / LOG_NAME).read_text().splitlines()]
    assert {e["uid"] for e in log} == listed
    removals = [e for e in log if e["state"] == "removed"]
    assert {f for e in removals for f in e["files_removed"]} == removed_files
    # the catalog agrees with the disk, and the remaining runs are intact
    assert verify_catalog(fresh.catalog) == (6, [])
    assert {r.user for r in find_runs(catalog=fresh.catalog)} == {"alice", "bob"}
    assert prune_candidates(fresh.catalog, 120) == []


def test_prune_a_run_with_event_data(usaxs_session, tmp_path):
    """A run with streams (tables in the catalog) is removed whole."""
    from usaxs_bluesky.plans.counting import count_sample

    s = usaxs_session
    s.RE(count_sample(s.instrument, title="to prune", thickness_mm=1.0, user_name="pruner",
                      count_time=0.05))  # fmt: skip
    run = find_runs(catalog=s.catalog, user="pruner")
    assert len(run) == 1 and list(s.catalog[run[0].uid])
    from usaxs_bluesky.catalog.retention import prune

    prune(s.catalog, run, tmp_path)
    assert run[0].uid not in s.catalog
    assert find_runs(catalog=s.catalog, user="pruner") == []
