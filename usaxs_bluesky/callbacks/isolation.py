"""Document callbacks isolated from each other: one failing never starves the others.

:class:`IsolatedCallbacks` is subscribed once to the RunEngine and hands each
document to every member in order. A member that raises is reported (logged)
and recorded (:attr:`IsolatedCallbacks.failures`, and one JSON line in
``<data_dir>/logs/callback_failures.jsonl``); the other members still get the
document. A member marked ``essential`` (the raw-file writer) ends the run
when it fails: after all members have the document, the first such failure
of a run is raised once, so the RunEngine stops the run with
``exit_status="fail"`` and that error as the reason. The stop document goes
to the essential members first; when one fails on it, the others (the
catalog) get it with ``exit_status="fail"`` and that error as the reason, so
a run is never recorded a success without its file.

A member may do its slow part later, in a background thread (the catalog
writer, :mod:`.ordered`); it reports failures there through :meth:`report`,
which records them exactly as a failure raised here (they cannot end the
run any more).
"""

from __future__ import annotations

import errno
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

FAILURE_LOG = Path("logs") / "callback_failures.jsonl"

Callback = Callable[[str, dict], None]


class EssentialCallbackError(RuntimeError):
    """An essential callback (the raw-file writer) failed; the run cannot keep its data."""


def one_line(exc: BaseException) -> str:
    """Return the error on one line, starting ``disk full:`` for ENOSPC (h5py's too)."""
    text = " ".join(str(exc).split())
    if getattr(exc, "errno", None) == errno.ENOSPC or "errno = 28," in text:
        return f"disk full (No space left on device): {text}"
    return text


@dataclass(frozen=True)
class CallbackFailure:
    """One failure: which member, on which document (name, run uid), the error, when."""

    callback: str
    document: str
    run_uid: str
    error: str
    time: float


@dataclass
class _Member:
    name: str
    callback: Callback
    essential: bool


class IsolatedCallbacks:
    """Callable ``(name, doc)`` delivering each document to every member, failures contained."""

    def __init__(self, log_path: str | Path | None = None) -> None:
        self.members: list[_Member] = []
        self.failures: list[CallbackFailure] = []
        self.log_path = Path(log_path) if log_path is not None else None
        self._run_uid = ""
        self._raised_for = ""
        self._lock = threading.Lock()

    def add(self, name: str, callback: Callback, *, essential: bool = False) -> None:
        """Append a member; ``essential`` ones end the run when they fail."""
        self.members.append(_Member(name, callback, essential))

    def report(self, callback: str, document: str, run_uid: str, exc: BaseException) -> None:
        """Record a failure of member ``callback`` on a ``document`` of run ``run_uid``.

        For the part of a member that runs in another thread (any thread may call it).
        """
        self._record(callback, document, exc, run_uid)

    def _record(
        self, callback: str, name: str, exc: BaseException, run_uid: str | None = None
    ) -> CallbackFailure:
        run_uid = self._run_uid if run_uid is None else run_uid
        failure = CallbackFailure(
            callback, name, run_uid, f"{type(exc).__name__}: {one_line(exc)}", time.time()
        )
        logger.error(
            "callback %s failed on a %s document of run %s: %s\n%s",
            callback,
            name,
            run_uid,
            failure.error,
            "".join(traceback.format_exception(exc)),
        )
        with self._lock:
            self.failures.append(failure)
            self._write_log(failure)
        return failure

    def _write_log(self, failure: CallbackFailure) -> None:
        if self.log_path is not None:
            try:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.log_path, "a", encoding="utf-8") as stream:
                    stream.write(json.dumps(asdict(failure)) + "\n")
            except OSError as log_error:  # e.g. the disk is full: the log above still has it
                logger.error("could not record the failure in %s: %s", self.log_path, log_error)

    def __call__(self, name: str, doc: dict) -> None:
        if name == "start":
            self._run_uid = str(doc.get("uid", ""))
        first_essential: BaseException | None = None
        who = ""
        members = self.members
        if name == "stop":  # essential members first: the others learn if the file failed
            members = sorted(members, key=lambda member: not member.essential)
        for member in members:
            try:
                member.callback(name, doc)
            except Exception as exc:  # noqa: BLE001 - recorded, the others still run
                self._record(member.name, name, exc)
                if member.essential and first_essential is None:
                    first_essential, who = exc, member.name
                    if name == "stop":
                        doc = {**doc, "exit_status": "fail", "reason": f"{who}: {one_line(exc)}"}
        if first_essential is not None and self._raised_for != self._run_uid:
            self._raised_for = self._run_uid
            raise EssentialCallbackError(f"{who}: {one_line(first_essential)}") from first_essential
