"""Test helpers: run a plan and keep what it returned and emitted; poll for a condition."""

import time
from collections.abc import Callable
from typing import Any

POLL_S = 0.01
DEADLINE_S = 60.0


def poll(condition: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
    """Return once ``condition()`` holds; raise TimeoutError naming ``what`` past the deadline."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(POLL_S)


def run_plan(session, plan) -> tuple[Any, list[tuple[str, dict]]]:
    """Run ``plan`` on ``session.RE``; return (its return value, the documents it emitted)."""
    docs: list[tuple[str, dict]] = []
    box: list[Any] = []

    def wrapper():
        box.append((yield from plan))

    token = session.RE.subscribe(lambda name, doc: docs.append((name, doc)))
    try:
        session.RE(wrapper())
    finally:
        session.RE.unsubscribe(token)
    return box[0], docs
