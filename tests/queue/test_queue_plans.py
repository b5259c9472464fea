"""Queue plan signatures: ``inst`` bound, annotations queueserver can rebuild (no RE Manager)."""

import inspect

import pytest

from usaxs_bluesky.instrument import build_instrument
from usaxs_bluesky.plans.command_parser import CommandFileError
from usaxs_bluesky.queue.plans import command_line_plan, queue_plans


def test_bound_plans_keep_name_doc_and_typed_parameters():
    plans = queue_plans(build_instrument())
    saxs = plans["saxsExp"]
    sig = inspect.signature(saxs)
    assert saxs.__name__ == "saxsExp" and "exposure" in saxs.__doc__.lower()
    assert list(sig.parameters)[:4] == ["x", "y", "thickness_mm", "title"]
    assert sig.parameters["x"].annotation is float
    assert sig.parameters["md"].annotation is inspect.Parameter.empty  # dict[str, Any]
    assert "before" not in inspect.signature(plans["run_command_file"]).parameters
    assert inspect.isgeneratorfunction(saxs)


def test_command_line_refuses_a_bad_line_before_any_message():
    command_line = command_line_plan(build_instrument())
    plan = command_line("f.txt", 7, "saxs 1 0 0 s", ["saxs", "1", "0", "0", "s"], user_name="ana")
    with pytest.raises(CommandFileError, match="f.txt:7: thickness must be > 0 mm"):
        next(plan)
