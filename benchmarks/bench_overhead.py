"""Per-run and per-point overhead of the session, side by side with the same work bare.

Run: ``nice -n 10 python benchmarks/bench_overhead.py`` (starts the simulator,
time scale 0.02; data in a new temporary folder, printed). Measures, each as
a ratio in one run:

- a fly scan, a SAXS and a WAXS exposure on the session's RunEngine (catalog
  writer, NeXus writer, live reduction subscribed) against the same plan on a
  bare RunEngine with the same preprocessors and no subscribers: wall time,
  overhead (the difference), and how much of it is the wait for the catalog
  writer when ``RE(...)`` returns (the RunEngine thread is free before that);
- catalog ingest of the fly scan's documents: ``TiledWriter(catalog)`` against
  the session's writer (page normaliser), each into a fresh catalog;
- the per-point overhead of a uascan (point time minus the scaled count time)
  against the same step loop on ``ophyd.sim`` on the session's RunEngine;
- cold ``import usaxs_bluesky.session`` against ``import bluesky, ophyd``.

Prints a table; no asserts (timings vary with the machine's load).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_plans import point_interval, sim_step_loop

TIME_SCALE = 0.02
STEP_POINTS = 30
COUNT_TIME = 0.2
IMPORT_REPEAT = 3

Row = tuple[str, float, str]


def wall(func: Callable[[], Any]) -> float:
    """Wall time (s) of one call."""
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


def cold_import(statement: str) -> float:
    """Best wall time (s) of a fresh interpreter running ``statement``."""
    return min(
        wall(lambda: subprocess.run([sys.executable, "-c", statement], check=True))
        for _ in range(IMPORT_REPEAT)
    )


def bare_engine(session) -> Any:
    """A RunEngine with the session's preprocessors and metadata, no subscribers at all."""
    from bluesky import RunEngine

    RE = RunEngine({}, call_returns_result=False)
    RE.md.update({k: v for k, v in session.RE.md.items() if k != "scan_id"})
    RE.preprocessors.extend(session.RE.preprocessors)
    return RE


def timed_drain(session) -> list[float]:
    """Replace the session's wait at RE return by a timed one; return the list of waits (s)."""
    waits: list[float] = []
    worker = session.catalog_worker

    def wait() -> None:
        waits.append(wall(worker.wait))

    session.RE.at_return[:] = [wait]
    return waits


def run_overheads(session, plans: dict[str, Callable[[], Any]]) -> tuple[list[Row], dict]:
    """Rows for each plan: session vs bare wall time; and the fly scan's documents."""
    rows: list[Row] = []
    bare = bare_engine(session)
    waits = timed_drain(session)
    fly_docs: list[tuple[str, dict]] = []
    for name, make in plans.items():
        bare(make())  # warm-up: first moves, mode changes, connections
        t_bare = wall(lambda make=make: bare(make()))
        docs: list[tuple[str, dict]] = []
        token = session.RE.subscribe(lambda n, d, docs=docs: docs.append((n, d)))
        try:
            t_session = wall(lambda make=make: session.RE(make()))
        finally:
            session.RE.unsubscribe(token)
        drain = waits[-1]
        if name == "fly scan":
            fly_docs[:] = docs
        rows += [
            (f"{name}: session RE(plan) wall", t_session, "s"),
            (f"{name}: same plan, no subscribers", t_bare, "s"),
            (f"{name}: overhead per run", t_session - t_bare, "s"),
            (f"{name}:   of which the catalog wait at return", drain, "s"),
            (f"{name}:   RunEngine thread busy beyond bare", t_session - drain - t_bare, "s"),
            (f"{name}: ratio session / bare", t_session / t_bare, "x"),
        ]
    if session.reducer is not None:
        session.reducer.join()
    return rows, {"fly": fly_docs}


def ingest(docs: list[tuple[str, dict]], tmp: Path) -> list[Row]:
    """Fly-scan documents into fresh catalogs: plain TiledWriter vs the session's writer."""
    import warnings

    from bluesky_tiled_plugins import TiledWriter

    from usaxs_bluesky.catalog.journal import JournaledCatalogWriter
    from usaxs_bluesky.catalog.store import open_catalog

    def replay(label: str, make_writer: Callable[[Any], Callable[[str, dict], None]]) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            catalog = open_catalog(tmp / label)
        writer = make_writer(catalog)

        def feed() -> None:
            for name, doc in docs:
                writer(name, doc)

        return wall(feed)

    old = replay("ingest_old", TiledWriter)
    new = replay("ingest_new", lambda c: JournaledCatalogWriter(c, tmp / "ingest_journal"))
    pages = sum(1 for name, _ in docs if name == "event_page")
    return [
        (f"fly-scan ingest ({pages} pages), TiledWriter(catalog)", old, "s"),
        ("fly-scan ingest, session writer (pages kept)", new, "s"),
        ("ratio plain / session writer", old / new, "x"),
    ]


def step_rows(session) -> list[Row]:
    """Per-point overhead of a uascan against the ophyd.sim loop, both on the session RE."""
    from usaxs_bluesky.plans.usaxs import uascan

    inst = session.instrument
    step = point_interval(
        session.RE,
        uascan(
            inst,
            title="bench step",
            thickness_mm=1.0,
            intervals=STEP_POINTS,
            count_time=COUNT_TIME,
            dynamic_time=False,
        ),  # fmt: skip
    )
    overhead = step - COUNT_TIME * TIME_SCALE
    loop = point_interval(session.RE, sim_step_loop(STEP_POINTS))
    return [
        ("uascan point (sim IOC)", step, "s"),
        ("uascan overhead per point (minus scaled count)", overhead, "s"),
        ("same loop on ophyd.sim, session RE", loop, "s"),
        ("ratio uascan overhead / ophyd.sim loop", overhead / loop, "x"),
    ]


def import_rows() -> list[Row]:
    """Cold import of the session module against bluesky + ophyd."""
    ours = cold_import("import usaxs_bluesky.session")
    base = cold_import("import bluesky, ophyd")
    return [
        ("cold import usaxs_bluesky.session", ours, "s"),
        ("cold import bluesky, ophyd", base, "s"),
        ("ratio", ours / base, "x"),
    ]


def main() -> None:
    from usaxs_sim.launcher import SimProcess

    rows: list[Row] = import_rows()
    sim = SimProcess(time_scale=TIME_SCALE, seed=1)
    sim.apply_env()
    tmp = Path(tempfile.mkdtemp(prefix="bench_overhead_"))  # left for inspection
    with sim:
        from usaxs_bluesky.plans.area_detector import saxsExp, waxsExp
        from usaxs_bluesky.plans.usaxs import Flyscan
        from usaxs_bluesky.session import make_session

        session = make_session(tmp / "data")
        inst = session.instrument
        inst.user_data.user_name.put("bench", wait=True)
        plans = {
            "fly scan": lambda: Flyscan(inst, title="bench fly", thickness_mm=1.0),
            "SAXS": lambda: saxsExp(inst, 20.0, 0.0, 1.0, "bench saxs", acquire_time=0.5),
            "WAXS": lambda: waxsExp(inst, 20.0, 0.0, 1.0, "bench waxs", acquire_time=0.5),
        }
        run, docs = run_overheads(session, plans)
        rows += run
        rows += step_rows(session)
        session.close()
        import epics

        epics.ca.finalize_libca()
    rows += ingest(docs["fly"], tmp)
    print(f"data in {tmp}")
    width = max(len(r[0]) for r in rows)
    print(f"| {'measurement':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for name, value, unit in rows:
        print(f"| {name:<{width}} | {value:8.3f} {unit} |")


if __name__ == "__main__":
    main()
