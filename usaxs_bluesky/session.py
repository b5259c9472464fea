"""Build a working session: RunEngine + connected instrument + baseline + catalog writer.

Used by the IPython profile, the ``usaxs`` command and the tests. The
RunEngine's metadata persists under ``<data_dir>/md`` (so ``scan_id`` goes on
after a restart); every run is written to the catalog as it happens.

The file and the catalog never depend on each other: the document callbacks
are isolated (:mod:`.callbacks.isolation`), the NeXus writer is the essential
one (its failure ends the run), and catalog writes go through a durable
journal under ``<data_dir>/journal`` (:mod:`.catalog.journal`) that is
replayed when the catalog is back.

Only the journal is written on the RunEngine's thread: the catalog writes and
the file records (checksums) run in one ordered background thread, so a run
of a command file or queue item starts while the catalog still takes the
previous one. ``RE(...)`` returns once the catalog has every document of its
runs (:class:`SessionRunEngine`), so what a call measured is in the catalog
when it returns; the live reducer looks a run up once the writer caught up.
"""

from __future__ import annotations

import atexit
import getpass
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluesky import RunEngine
from bluesky.preprocessors import SupplementalData
from bluesky.utils import PersistentDict

from . import __version__
from .ca_messages import route_ca_messages
from .callbacks.isolation import FAILURE_LOG, IsolatedCallbacks
from .callbacks.nexus_writer import NexusWriter
from .callbacks.ordered import OrderedWorker
from .callbacks.reduction import LiveReducer
from .catalog.journal import (
    CATALOG_MEMBER,
    JournaledCatalogWriter,
    JournaledFileRecorder,
    ReplayResult,
    journal_dir,
    replay_journal,
)
from .catalog.store import open_catalog
from .disk_space import free_space_margin, space_checked
from .instrument import Instrument, build_instrument, connect_instrument, load_config
from .metadata.policy import md_validator
from .metadata.request_files import load_requests
from .metadata.request_model import MetadataRequests
from .plan_stubs.interrupts import stop_counting_on_error
from .plan_stubs.waits import bounded_waits
from .session_lock import ScanCounter, SessionLock

if TYPE_CHECKING:
    from tiled.client.container import Container

MD_DIR = "md"
CATALOG_WORKER = "catalog writer"


class SessionRunEngine(RunEngine):
    """A RunEngine that, before a call returns, runs each of its :attr:`at_return` callables.

    The session puts the catalog writer's wait there: ``RE(plan)``,
    ``RE.resume()``, ``RE.stop()``, ``RE.abort()`` and ``RE.halt()`` return
    (or raise) once the catalog has every document emitted so far.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.at_return: list[Callable[[], Any]] = []

    def _returning(self) -> None:
        for call in self.at_return:
            call()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self._returning()

    def resume(self) -> Any:
        try:
            return super().resume()
        finally:
            self._returning()

    def stop(self) -> Any:
        try:
            return super().stop()
        finally:
            self._returning()

    def abort(self, reason: str = "") -> Any:
        try:
            return super().abort(reason)
        finally:
            self._returning()

    def halt(self) -> Any:
        try:
            return super().halt()
        finally:
            self._returning()


class _CatalogAfterWrites:
    """The catalog as the live reducer reads it: a run is looked up once the writer caught up."""

    def __init__(self, catalog: Container, worker: OrderedWorker) -> None:
        self.catalog = catalog
        self.worker = worker

    def __getitem__(self, uid: str) -> Any:
        self.worker.wait()
        return self.catalog[uid]


@dataclass
class Session:
    """What a user works with: the RunEngine, the devices, the catalog and the file writer."""

    RE: RunEngine
    instrument: Instrument
    catalog: Container
    data_dir: Path
    nexus_writer: NexusWriter
    reducer: LiveReducer | None
    callbacks: IsolatedCallbacks | None = None
    lock: SessionLock | None = None
    catalog_worker: OrderedWorker | None = None

    def load_metadata_requests(self, path: str | Path) -> MetadataRequests:
        """Load a request file (MetadataError if bad); every later measurement records it."""
        requests = load_requests(path)
        self.instrument.metadata_requests.put(requests)
        return requests

    def clear_metadata_requests(self) -> None:
        """Stop recording requested metadata (no request file loaded)."""
        self.instrument.metadata_requests.put(None)

    def replay_journal(self) -> ReplayResult:
        """Send the runs and file records kept in the journal to the catalog; return what it did."""
        return replay_journal(self.catalog, journal_dir(self.data_dir))

    def wait_for_catalog(self, timeout: float | None = None) -> bool:
        """Wait until the catalog has every document and file record so far; False on timeout."""
        return self.catalog_worker is None or self.catalog_worker.wait(timeout)

    def close(self) -> None:
        """Finish pending reductions and catalog writes, stop their workers, release the data
        directory."""
        if self.reducer is not None:
            self.reducer.close()
        if self.catalog_worker is not None:
            self.catalog_worker.close()
        if self.lock is not None:
            self.lock.release()


def default_metadata(config: dict[str, Any]) -> dict[str, Any]:
    """Start-document keys every run of this instrument carries."""
    inst = config.get("instrument", {})
    return {
        "beamline_id": inst.get("beamline_id", "12-ID-E"),
        "instrument_name": inst.get("name", "APS USAXS"),
        "facility": inst.get("facility", "APS"),
        "usaxs_bluesky_version": __version__,
        "login_id": getpass.getuser(),
    }


def make_run_engine(data_dir: Path, config: dict[str, Any]) -> SessionRunEngine:
    """Return a :class:`SessionRunEngine` whose metadata persists in ``data_dir/md``; ``scan_id``
    from an atomic counter there (:class:`.session_lock.ScanCounter`), never repeated.

    Its ``md_validator`` refuses any run that breaks the metadata policy.
    """
    md_dir = Path(data_dir) / MD_DIR
    md_dir.mkdir(parents=True, exist_ok=True)
    RE = SessionRunEngine(
        PersistentDict(str(md_dir)), call_returns_result=False, scan_id_source=ScanCounter(md_dir)
    )
    RE.md_validator = md_validator
    for key, value in default_metadata(config).items():
        RE.md[key] = value
    return RE


def _fan_out(
    *callbacks: Callable[[str, Path, str], None] | None,
) -> Callable[[str, Path, str], None]:
    """One ``on_file(uid, path, kind)`` callback that calls each given one in order."""
    targets = [cb for cb in callbacks if cb is not None]

    def on_file(uid: str, path: Path, kind: str) -> None:
        for callback in targets:
            callback(uid, path, kind)

    return on_file


def make_session(
    data_dir: str | Path,
    *,
    config: dict[str, Any] | str | Path | None = None,
    catalog_uri: str | None = None,
    api_key: str | None = None,
    connect_timeout: float = 10.0,
    reduce_live: bool = True,
    metadata_requests: str | Path | None = None,
    min_free_mb: float | None = None,
) -> Session:
    """Connect the instrument; return a session writing every run to the catalog and NeXus files.

    Raises :class:`~usaxs_bluesky.session_lock.DataDirectoryInUse` naming the
    other session when one already writes to ``data_dir``, and
    :class:`~usaxs_bluesky.instrument.InstrumentConnectionError` naming
    every unreachable PV when the instrument is not all there. Each file
    written (raw, and with ``reduce_live`` the NXcanSAS and PNG made after
    the run stops, against the latest blank of its technique) is recorded
    with its SHA-256 in the run's catalog entry. ``metadata_requests``: a
    request file (docs/metadata.md), loaded first (MetadataError if bad);
    every measurement then records its items or is refused. A run is refused
    (``DiskSpaceError``) when less than ``min_free_mb`` MB are free where its
    file goes (:mod:`.disk_space` says where the margin comes from).
    """
    requests = load_requests(metadata_requests) if metadata_requests is not None else None
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = SessionLock(data_dir).acquire()
    try:
        if not isinstance(config, dict):
            config = load_config(config)
        instrument = connect_instrument(build_instrument(config), timeout=connect_timeout)
        route_ca_messages(data_dir)  # an IOC gone prints no CA.Client.Exception block
        instrument.data_root.put(str(data_dir))
        instrument.metadata_requests.put(requests)
        catalog = open_catalog(data_dir, uri=catalog_uri, api_key=api_key)
        margin = free_space_margin(min_free_mb, config)
        RE = make_run_engine(data_dir, config)
        RE.md_validator = space_checked(RE.md_validator, data_dir, margin)
        RE.preprocessors.append(SupplementalData(baseline=instrument.baseline))
        RE.preprocessors.append(bounded_waits)
        RE.preprocessors.append(stop_counting_on_error)
        journal = journal_dir(data_dir)
        callbacks = IsolatedCallbacks(data_dir / FAILURE_LOG)
        worker = OrderedWorker(
            CATALOG_WORKER, on_error=lambda label, exc: callbacks.report(*label, exc)
        )
        atexit.register(worker.close)
        RE.at_return.append(worker.wait)
        catalog_writer = JournaledCatalogWriter(catalog, journal, worker=worker)
        callbacks.add(CATALOG_MEMBER, catalog_writer)
        recorder = JournaledFileRecorder(catalog, journal, catalog_writer)
        reducer = None
        if reduce_live:
            reducer = LiveReducer(
                catalog=_CatalogAfterWrites(catalog, worker), data_dir=data_dir, on_file=recorder
            )
        nexus_writer = NexusWriter(on_file=_fan_out(recorder, reducer))
        callbacks.add("nexus_writer", nexus_writer, essential=True)
        RE.subscribe(callbacks)
    except BaseException:
        lock.release()
        raise
    return Session(
        RE=RE,
        instrument=instrument,
        catalog=catalog,
        data_dir=data_dir,
        nexus_writer=nexus_writer,
        reducer=reducer,
        callbacks=callbacks,
        lock=lock,
        catalog_worker=worker,
    )
