"""The ordered worker and the journaled catalog writer on it: the journal is written before
anything is queued, the catalog part runs in order off the caller's thread, and its failures
reach the isolation log as a failure raised on the RunEngine thread would."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from event_model import compose_run

from usaxs_bluesky.callbacks.isolation import FAILURE_LOG, IsolatedCallbacks
from usaxs_bluesky.callbacks.ordered import OrderedWorker
from usaxs_bluesky.catalog.journal import (
    CATALOG_MEMBER,
    RECORDER_MEMBER,
    JournaledCatalogWriter,
    JournaledFileRecorder,
)


def test_calls_run_in_order_and_a_failure_does_not_stop_the_next():
    seen, errors = [], []
    worker = OrderedWorker(on_error=lambda label, exc: errors.append((label, str(exc))))

    def fail():
        raise ValueError("bad \n value")

    for i in range(200):
        worker.submit(("cb", "event", "u"), seen.append, i)
        if i == 50:
            worker.submit(("cb", "stop", "u1"), fail)
    assert worker.wait(timeout=30)
    assert seen == list(range(200))
    assert errors == [(("cb", "stop", "u1"), "bad \n value")]
    assert worker.pending == 0
    assert worker.close(timeout=30)
    worker.submit(("cb", "event", "u"), seen.append, "after close")  # restarts its thread
    assert worker.wait(timeout=30) and seen[-1] == "after close"
    assert worker.close(timeout=30)


def test_wait_from_the_worker_itself_is_refused():
    errors = []
    worker = OrderedWorker(on_error=lambda label, exc: errors.append(type(exc)))
    worker.submit(("cb", "start", "u"), worker.wait)
    assert worker.wait(timeout=30)
    assert errors == [RuntimeError]
    worker.close()


def test_close_runs_what_is_queued():
    release, seen = threading.Event(), []
    worker = OrderedWorker()
    worker.submit(("cb", "start", "u"), release.wait, 30)
    for i in range(5):
        worker.submit(("cb", "event", "u"), seen.append, i)
    assert not worker.wait(timeout=0.05) and worker.pending == 6
    release.set()
    assert worker.close(timeout=30)
    assert seen == list(range(5))


def _run_docs(n_events: int = 3) -> list[tuple[str, dict]]:
    bundle = compose_run()
    desc = bundle.compose_descriptor(
        name="primary", data_keys={"x": {"source": "s", "dtype": "number", "shape": []}}
    )
    docs = [("start", bundle.start_doc), ("descriptor", desc.descriptor_doc)]
    for i in range(n_events):
        docs.append(("event", desc.compose_event(data={"x": i}, timestamps={"x": 0.0})))
    docs.append(("stop", bundle.compose_stop()))
    return docs


class _ListWriter:
    """A catalog writer keeping what it was given (the thread under test is the worker)."""

    def __init__(self, fail_at: str = "") -> None:
        self.seen: list[tuple[str, str]] = []
        self.fail_at = fail_at

    def __call__(self, name: str, doc: dict) -> None:
        self.seen.append((name, threading.current_thread().name))
        if name == self.fail_at:
            raise ConnectionError("catalog gone")


def _routed(docs: list[tuple[str, dict]]) -> list[str]:
    """Document names as event_model's RunRouter hands them on (each event as a page)."""
    return [name.replace("event", "event_page") if name == "event" else name for name, _ in docs]


def _journal_names(folder: Path) -> list[str]:
    (path,) = folder.glob("*.jsonl")
    return [json.loads(line)["name"] for line in path.read_text().splitlines()]


def test_journal_written_before_the_catalog_part_runs(tmp_path):
    release = threading.Event()
    worker = OrderedWorker("catalog test")
    writer = _ListWriter()
    journaled = JournaledCatalogWriter(None, tmp_path, lambda _: writer, worker=worker)
    worker.submit(("cb", "start", "u"), release.wait, 30)  # the worker is busy meanwhile
    docs = _run_docs()
    for name, doc in docs:
        journaled(name, doc)
    assert writer.seen == [], "nothing written to the catalog yet"
    assert _journal_names(tmp_path) == _routed(docs), "the journal has it all"
    release.set()
    assert worker.wait(timeout=30)
    assert writer.seen == [(name, "catalog test") for name in _routed(docs)]
    assert not list(tmp_path.glob("*.jsonl")), "a run the catalog took whole loses its journal"
    worker.close()


def test_catalog_failure_in_the_worker_keeps_the_journal(tmp_path):
    worker = OrderedWorker()
    writer = _ListWriter(fail_at="event_page")
    journaled = JournaledCatalogWriter(None, tmp_path, lambda _: writer, worker=worker)
    docs = _run_docs()
    for name, doc in docs:
        journaled(name, doc)
    assert worker.wait(timeout=30)
    assert [name for name, _ in writer.seen] == ["start", "descriptor", "event_page"]
    assert _journal_names(tmp_path) == _routed(docs)
    assert journaled.pending == list(tmp_path.glob("*.jsonl")) and not journaled.live
    worker.close()


def test_worker_failures_reach_the_isolation_log(tmp_path):
    callbacks = IsolatedCallbacks(tmp_path / FAILURE_LOG)
    worker = OrderedWorker(on_error=lambda label, exc: callbacks.report(*label, exc))
    journaled = JournaledCatalogWriter(
        None, tmp_path / "journal", lambda _: _ListWriter(), worker=worker
    )
    callbacks.add(CATALOG_MEMBER, journaled)
    recorder = JournaledFileRecorder(None, tmp_path / "journal", journaled)
    docs = _run_docs()
    uid = docs[0][1]["uid"]
    for name, doc in docs[:-1]:
        callbacks(name, doc)
    recorder(uid, tmp_path / "never written.h5", "raw")  # as the NeXus writer at the stop
    callbacks(*docs[-1])
    assert worker.wait(timeout=30)
    (failure,) = callbacks.failures
    assert (failure.callback, failure.document, failure.run_uid) == (
        RECORDER_MEMBER,
        "raw file",
        uid,
    )
    assert failure.error.startswith("FileNotFoundError:")
    (line,) = (tmp_path / FAILURE_LOG).read_text().splitlines()
    assert json.loads(line)["callback"] == RECORDER_MEMBER
    worker.close()


def test_a_bad_file_kind_is_reported_not_raised(tmp_path):
    """The caller (the NeXus writer on the RunEngine thread) is not stopped by a bad record."""
    errors = []
    worker = OrderedWorker(on_error=lambda label, exc: errors.append((label, type(exc))))
    journaled = JournaledCatalogWriter(None, tmp_path, lambda _: _ListWriter(), worker=worker)
    recorder = JournaledFileRecorder(None, tmp_path, journaled)
    path = tmp_path / "f.h5"
    path.write_bytes(b"\0" * 10)
    recorder("some-run", path, "nonsense")
    assert worker.wait(timeout=30)
    assert errors == [((RECORDER_MEMBER, "nonsense file", "some-run"), ValueError)]
    worker.close()


@pytest.mark.filterwarnings("ignore:The callback .* raised ValueError:UserWarning")
@pytest.mark.parametrize("uid", ["../escape", ".hidden", ""])
def test_hostile_run_uids_are_refused_on_the_caller_thread(tmp_path, uid):
    journaled = JournaledCatalogWriter(
        None, tmp_path, lambda _: _ListWriter(), worker=OrderedWorker()
    )
    start = dict(compose_run().start_doc, uid=uid)
    with pytest.raises(ValueError, match="not a run uid"):
        journaled("start", start)
    assert not list(tmp_path.iterdir())
