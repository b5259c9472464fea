"""One background thread running submitted calls in the order they were submitted.

The catalog writer and the file recorder run there, off the RunEngine
thread (:mod:`usaxs_bluesky.catalog.journal`). A call that raises is handed
to ``on_error(label, exc)`` and the next call runs; :meth:`OrderedWorker.wait`
returns once every call submitted before it is done.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

#: (callback name, document name, run uid): what a failed call was doing
Label = tuple[str, str, str]
OnError = Callable[[Label, BaseException], None]

_STOP = object()


class OrderedWorker:
    """A daemon thread running ``submit``-ted calls one after the other, in order."""

    def __init__(self, name: str = "OrderedWorker", on_error: OnError | None = None) -> None:
        self.name = name
        self.on_error = on_error
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._submitted = 0
        self._done = 0
        self._progress = threading.Condition()

    def submit(self, label: Label, call: Callable[..., Any], *args: Any) -> int:
        """Queue ``call(*args)``; return its sequence number (1, 2, ...)."""
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name=self.name, daemon=True)
                self._thread.start()
            with self._progress:
                self._submitted += 1
                number = self._submitted
            self._queue.put((label, call, args))
        return number

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every call submitted so far is done; False if ``timeout`` (s) passed first."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("OrderedWorker.wait called from its own thread")
        with self._progress:
            target = self._submitted
            return self._progress.wait_for(lambda: self._done >= target, timeout)

    @property
    def pending(self) -> int:
        """Calls submitted and not yet done."""
        with self._progress:
            return self._submitted - self._done

    def close(self, timeout: float | None = None) -> bool:
        """Run what is queued, then stop the thread; False if ``timeout`` (s) passed first."""
        with self._start_lock:  # nothing is queued behind the stop
            thread = self._thread
            if thread is None or not thread.is_alive():
                return True
            self._queue.put(_STOP)
            thread.join(timeout)
            return not thread.is_alive()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            label, call, args = item
            try:
                call(*args)
            except Exception as exc:  # noqa: BLE001 - reported, the next call still runs
                if self.on_error is None:
                    logger.exception("%s: %s on a %s document of run %s failed", self.name, *label)
                else:
                    try:
                        self.on_error(label, exc)
                    except Exception:  # noqa: BLE001 - the reporter must not stop the worker
                        logger.exception("%s: reporting a failure failed", self.name)
            finally:
                with self._progress:
                    self._done += 1
                    self._progress.notify_all()
