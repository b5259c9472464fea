"""Catalog scaling: ingest rate, find latency at 1k/10k/100k runs, export throughput versus ``cp``.

Run: python benchmarks/bench_catalog.py [--sizes 1000,10000,100000] [--export-mb 200]
Synthetic runs are start+stop documents only (200 users, 3 years, varied
sample names). Ingest is measured three ways: TiledWriter replay and client
``create_container`` (both through Tiled's HTTP API, on a sample of runs),
and direct node creation on the catalog adapter (the same catalog code the
server runs, without HTTP), which builds the large catalogs. Prints tables;
no asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

from bluesky_tiled_plugins import TiledWriter
from event_model import compose_run
from tiled.structures.core import Spec, StructureFamily

from usaxs_bluesky.catalog.export import export_runs
from usaxs_bluesky.catalog.files import FileRecorder
from usaxs_bluesky.catalog.search import Criteria, search_runs
from usaxs_bluesky.catalog.server import catalog_adapter
from usaxs_bluesky.catalog.store import open_catalog

USERS = [f"user{i:03d}" for i in range(200)]
WORDS = ["glassy carbon", "water blank", "spheres", "silica", "polymer", "clay", "gel", "alloy"]
PLANS = ["Flyscan", "SAXS", "WAXS", "uascan"]
T0 = time.time() - 3 * 365 * 86400.0
SPAN = 3 * 365 * 86400.0
SPEC = {"name": "BlueskyRun", "version": "3.0"}


def synthetic_docs(rng: random.Random) -> tuple[dict, dict]:
    """Start and stop documents of one synthetic run."""
    md = {
        "user_name": rng.choice(USERS),
        "title": f"{rng.choice(WORDS)} {rng.randint(1, 500)}",
        "plan_name": rng.choice(PLANS),
        "proposal_id": str(rng.randint(1000, 1400)),
        "scan_id": rng.randint(1, 99999),
    }
    bundle = compose_run(time=T0 + rng.random() * SPAN, metadata=md)
    return dict(bundle.start_doc), dict(bundle.compose_stop())


def ingest_adapter(adapter, rng: random.Random, n: int) -> float:
    """Create ``n`` runs directly on the catalog adapter; return runs per second."""

    async def create_all() -> None:
        await adapter.startup()
        for _ in range(n):
            start, stop = synthetic_docs(rng)
            await adapter.create_node(
                structure_family=StructureFamily.container,
                metadata={"start": start, "stop": stop},
                key=start["uid"],
                specs=[Spec(**SPEC)],
            )
        await adapter.shutdown()

    t0 = time.perf_counter()
    asyncio.run(create_all())
    return n / (time.perf_counter() - t0)


def ingest_bulk_sql(catalog_db: Path, rng: random.Random, n: int) -> float:
    """Insert ``n`` run nodes in one SQLite transaction (the catalog's own triggers keep its
    closure and full-text tables); return runs per second. Only for building large test catalogs."""
    rows = []
    for _ in range(n):
        start, stop = synthetic_docs(rng)
        metadata = json.dumps({"start": start, "stop": stop})
        rows.append((start["uid"], "container", metadata, json.dumps([SPEC])))
    t0 = time.perf_counter()
    with sqlite3.connect(catalog_db) as db:
        (root,) = db.execute("SELECT id FROM nodes WHERE parent IS NULL").fetchone()
        db.executemany(
            "INSERT INTO nodes (parent, key, structure_family, metadata, specs) "
            f"VALUES ({root}, ?, ?, ?, ?)",
            rows,
        )
    return n / (time.perf_counter() - t0)


def ingest_tiledwriter(catalog, rng: random.Random, n: int) -> float:
    """Replay ``n`` runs through TiledWriter (HTTP API in process); return runs per second."""
    writer = TiledWriter(catalog)
    t0 = time.perf_counter()
    for _ in range(n):
        start, stop = synthetic_docs(rng)
        writer("start", start)
        writer("stop", stop)
    return n / (time.perf_counter() - t0)


def ingest_client(catalog, rng: random.Random, n: int) -> float:
    """Create ``n`` runs with the client's ``create_container``; return runs per second."""
    t0 = time.perf_counter()
    for _ in range(n):
        start, stop = synthetic_docs(rng)
        catalog.create_container(
            key=start["uid"], metadata={"start": start, "stop": stop}, specs=[Spec(**SPEC)]
        )
    return n / (time.perf_counter() - t0)


def find_latency(catalog, rng: random.Random, queries: int) -> tuple[float, float, float]:
    """Median and 95th percentile (ms) of find by user + 90-day range + sample; mean hits."""
    times, hits = [], []
    for _ in range(queries):
        since = T0 + rng.random() * (SPAN - 90 * 86400)
        criteria = Criteria(
            user=rng.choice(USERS),
            since=since,
            until=since + 90 * 86400,
            sample=rng.choice(WORDS).split()[0][:4] + "*",
        )
        t0 = time.perf_counter()
        hits.append(len(search_runs(catalog, criteria)))
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], statistics.mean(hits)


def export_vs_cp(workdir: Path, total_mb: int) -> tuple[float, float, float]:
    """Export ``total_mb`` MB in 10 files and ``cp`` the same files; return MB/s of each and MB."""
    data_dir = workdir / "export_data"
    catalog = open_catalog(data_dir)
    start, stop = synthetic_docs(random.Random(1))
    writer = TiledWriter(catalog)
    writer("start", start)
    writer("stop", stop)
    record = FileRecorder(catalog)
    src = data_dir / "files"
    src.mkdir()
    size = total_mb * 1024 * 1024 // 10
    for i in range(10):
        path = src / f"file_{i:02d}.h5"
        path.write_bytes(random.randbytes(size))
        record(start["uid"], path, "raw")
    runs = search_runs(catalog, Criteria(user=start["user_name"]))
    t0 = time.perf_counter()
    export_runs(runs, workdir / "exported")
    t_export = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run(["cp", "-r", str(src), str(workdir / "copied")], check=True)
    t_cp = time.perf_counter() - t0
    mb = 10 * size / 1024 / 1024
    return mb / t_export, mb / t_cp, mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--http-sample", type=int, default=300, help="runs ingested via HTTP")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument(
        "--direct-up-to", type=int, default=10000, help="runs made with create_node; then bulk SQL"
    )
    parser.add_argument("--export-mb", type=int, default=200)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    warnings.simplefilter("ignore")
    rng = random.Random(12345)
    workdir = Path(tempfile.mkdtemp(prefix="bench_catalog_"))
    try:
        catalog = open_catalog(workdir / "http")
        print(f"{'ingest method':38}  {'runs':>7}  {'runs/s':>8}")
        for name, func in (("TiledWriter replay (HTTP, in process)", ingest_tiledwriter),
                           ("client create_container (HTTP)", ingest_client)):  # fmt: skip
            print(f"{name:38}  {args.http_sample:>7}  {func(catalog, rng, args.http_sample):>8.1f}")

        data_dir = workdir / "scale"
        open_catalog(data_dir)  # initialize the database
        adapter = catalog_adapter(data_dir)
        rows, have = [], 0
        for n in sizes:
            direct = max(0, min(n, args.direct_up_to) - have)
            if direct:
                rate = ingest_adapter(adapter, rng, direct)
                print(f"{'adapter create_node (direct)':38}  {direct:>7}  {rate:>8.1f}")
            if n - have - direct:
                rate = ingest_bulk_sql(data_dir / "catalog" / "catalog.db", rng, n - have - direct)
                print(
                    f"{'bulk SQL insert, one transaction':38}  {n - have - direct:>7}  {rate:>8.1f}"
                )
            have = n
            scale = open_catalog(data_dir, create=False)
            rows.append((n, *find_latency(scale, rng, args.queries)))
        print()
        print(f"{'runs':>7}  {'find median ms':>14}  {'find p95 ms':>11}  {'mean hits':>9}")
        for n, median, p95, hits in rows:
            print(f"{n:>7}  {median:>14.1f}  {p95:>11.1f}  {hits:>9.2f}")
        print()
        exp, cp, mb = export_vs_cp(workdir, args.export_mb)
        print(f"export {mb:.0f} MB: usaxs export {exp:.0f} MB/s (copy + 2 checksums + fsync), "
              f"cp {cp:.0f} MB/s")  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
