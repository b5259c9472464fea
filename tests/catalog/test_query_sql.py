"""The SQL each dialect runs for a Regex query (PostgreSQL compiled here; SQLite run in
test_queries), and the HTTP parameter rules on their own."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from tiled.queries import QueryValueError, Regex

from usaxs_bluesky.catalog.http_rules import QueryRefused, merge_selected, translate_params
from usaxs_bluesky.catalog.queries import regex_condition, run_key


@pytest.mark.parametrize(
    "case_sensitive, operator", [(True, "~"), (False, "~*")], ids=["sensitive", "insensitive"]
)
def test_regex_on_postgresql(case_sensitive, operator):
    condition = regex_condition(Regex("start.title", "blank", case_sensitive), "postgresql")
    sql = str(condition.compile(dialect=postgresql.dialect()))
    assert f" {operator} " in sql


def test_regex_on_sqlite():
    sql = str(
        regex_condition(Regex("start.title", "b", False), "sqlite").compile(
            dialect=sqlite.dialect()
        )
    )
    assert "REGEXP" in sql


@pytest.mark.parametrize("pattern", ["(", "[a-", "x" * 1001])
def test_bad_patterns_refused(pattern):
    with pytest.raises(QueryValueError, match="regex"):
        regex_condition(Regex("start.title", pattern), "sqlite")


@pytest.mark.parametrize(
    "key, expected",
    [("plan_name", "start.plan_name"), ("start.title", "start.title"), ("stop.exit_status",
     "stop.exit_status"), ("plan_args.scan_title", "start.plan_args.scan_title"),
     ("usaxs_files", "usaxs_files"), ("starting", "start.starting")],
)  # fmt: skip
def test_run_keys(key, expected):
    assert run_key(key) == expected


FIELDS = {"eq": ("key", "value"), "keypresent": ("key", "exists"), "contains": ("key", "value")}


def test_parameters_translated_only_on_the_catalog_of_runs():
    params = [("filter[eq][condition][key]", "title"), ("filter[eq][condition][value]", '"x"'),
              ("sort", "-time,id")]  # fmt: skip
    assert translate_params(params, FIELDS, runs=True) == [
        ("filter[eq][condition][key]", "start.title"),
        ("filter[eq][condition][value]", '"x"'),
        ("sort", "-metadata.start.time,id"),
    ]
    assert translate_params(params, FIELDS, runs=False) == params


def test_bare_contains_field_is_key_present():
    got = translate_params([("filter[contains][condition][exit_status]", "")], FIELDS, runs=True)
    assert got == [("filter[keypresent][condition][key]", "stop.exit_status"),
                   ("filter[keypresent][condition][exists]", "true")]  # fmt: skip
    got = translate_params([("filter[contains][condition][hdf5_file]", "")], FIELDS, runs=True)
    assert got[0] == ("filter[keypresent][condition][key]", "start.hdf5_file")


@pytest.mark.parametrize(
    "params, message",
    [
        ([("api_key", "secret_0123456789abcdef")], "Authorization"),
        ([("filter[nope][condition][key]", "x")], "unknown query 'nope'"),
        ([("filter[eq][condition][nope]", "x")], "'eq' has no field 'nope'"),
        ([("filter[contains][condition][exit_status]", "1")], "'contains' has no field"),
        ([("filter[eq][condition][key]", "a")], None),
        (
            [
                ("filter[eq][condition][key]", "a"),
                ("filter[eq][condition][key]", "b"),
                ("filter[eq][condition][value]", "1"),
            ],
            "each field must be given as often",
        ),  # fmt: skip
    ],
)
def test_parameters_refused(params, message):
    if message is None:  # one field only: Tiled itself says the other is missing
        translate_params(params, FIELDS, runs=True)
        return
    with pytest.raises(QueryRefused, match=message):
        translate_params(params, FIELDS, runs=True)


def test_merge_selected_keeps_both_shapes():
    body = {"data": [{"attributes": {"metadata": {"selected": {"a": 1}}}},
                     {"attributes": {"metadata": {"start": {}}}}]}  # fmt: skip
    merged = merge_selected(body)
    assert merged["data"][0]["attributes"]["metadata"] == {"a": 1, "selected": {"a": 1}}
    assert merged["data"][1]["attributes"]["metadata"] == {"start": {}}
