"""A triggered detector is stopped when an interruption or a failure reaches its plan."""

import bluesky.plan_stubs as bps
import pytest
from bluesky.utils import Msg, RequestAbort

from usaxs_bluesky.plan_stubs.interrupts import stop_counting_on_error


class Counter:
    """Stands in for a scaler or camera: triggerable, stoppable."""

    name = "counter"

    def stop(self, *, success: bool = False) -> None:  # pragma: no cover - never called here
        raise AssertionError("the RunEngine, not the wrapper, calls stop()")


def _exposure(counter: Counter, seen: list):
    try:
        yield from bps.trigger(counter, group="count")
        yield from bps.wait(group="count")
        yield from bps.sleep(1)
        yield from bps.trigger(counter, group="again")
        yield from bps.wait(group="again")
    except RequestAbort:
        seen.append("plan saw the abort")
        yield Msg("close_run", exit_status="abort")
        raise


def test_an_abort_while_counting_stops_the_counter_before_the_plan_cleans_up():
    counter, seen = Counter(), []
    plan = stop_counting_on_error(_exposure(counter, seen))
    assert plan.send(None).command == "trigger"
    assert plan.send(None).command == "wait"
    assert plan.send(None).command == "sleep"
    assert plan.send(None).command == "trigger"
    msg = plan.throw(RequestAbort())  # the RunEngine interrupts while counting
    assert (msg.command, msg.obj) == ("stop", counter)
    assert seen == []
    msg = plan.send(None)
    assert msg.command == "close_run" and seen == ["plan saw the abort"]
    with pytest.raises(RequestAbort):
        plan.send(None)


def test_a_finished_count_is_not_stopped():
    counter, seen = Counter(), []
    plan = stop_counting_on_error(_exposure(counter, seen))
    plan.send(None)
    plan.send(None)
    plan.send(None)  # the wait of the first count returned: it is done
    msg = plan.throw(RequestAbort())  # interrupted before the second trigger was sent
    assert msg.command == "close_run"
    with pytest.raises(RequestAbort):
        plan.send(None)


def test_a_failing_stop_keeps_the_original_error():
    counter, seen = Counter(), []
    plan = stop_counting_on_error(_exposure(counter, seen))
    plan.send(None)
    msg = plan.throw(RequestAbort())
    assert msg.command == "stop"
    msg = plan.throw(TimeoutError("IOC gone"))  # the stop itself failed
    assert msg.command == "close_run" and seen == ["plan saw the abort"]
    with pytest.raises(RequestAbort):
        plan.send(None)
