"""Test helper: run a plan on a session and keep what it returned and emitted."""

from typing import Any


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
