"""Counting stops with its plan: a preprocessor that stops triggered detectors on any error.

bluesky stops, on interruption, only what a plan has ``set``; a scaler or a
camera that was *triggered* keeps counting after a stop, an abort or a device
failure, and the next exposure then reads that stale count as its own.
:func:`stop_counting_on_error` (the session installs it after
:func:`~usaxs_bluesky.plan_stubs.waits.bounded_waits`) remembers every
triggered device that can stop until the ``wait`` of its group returns; when
an exception reaches the plan first, it yields a ``stop`` for each of them and
then throws the exception on into the plan (whose cleanup and stop document
follow as before).
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import suppress
from typing import Any

from bluesky.utils import Msg


def stop_counting_on_error(plan: Generator[Msg, Any, Any]) -> Generator[Msg, Any, Any]:
    """Pass ``plan`` through; on an exception, emit ``stop`` for each still-counting trigger."""
    counting: list[tuple[Any, Any]] = []  # (group, device) triggered and not yet waited for
    reply: Any = None
    throw: BaseException | None = None
    while True:
        try:
            msg = plan.throw(throw) if throw is not None else plan.send(reply)
        except StopIteration as stop:
            return stop.value
        throw, reply = None, None
        if msg.command == "trigger" and callable(getattr(msg.obj, "stop", None)):
            counting.append((msg.kwargs.get("group"), msg.obj))
        try:
            reply = yield msg
        except GeneratorExit:
            plan.close()
            raise
        except Exception as exc:  # noqa: BLE001 - any error: stop the counters, then rethrow it
            for _, device in counting:
                with suppress(Exception):  # the original error is the one to report
                    yield Msg("stop", device)
            counting.clear()
            throw = exc
            continue
        if msg.command == "wait":
            group = msg.args[0] if msg.args else msg.kwargs.get("group")
            counting = [(g, device) for g, device in counting if g != group]
