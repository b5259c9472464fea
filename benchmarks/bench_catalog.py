"""Catalog scaling: find per criterion at 10^4..10^6 runs, cold ``usaxs find``, ingest, export.

Run: python benchmarks/bench_catalog.py [--sizes 10000,100000,1000000] [--export-mb 0]
Synthetic runs are start+stop documents only (200 users, 3 years, varied
sample names). The large catalogs are built by batch-inserting the run
nodes directly in SQL into the catalog's own schema (one transaction; the
catalog's triggers keep its closure and full-text tables), then opened the
normal way (which makes the search indexes). For each criterion alone and
combined it times the first page (100 runs, newest first, with the total):
``direct`` (the read-only SQL path of ``usaxs find``), ``tiled`` (the same
search through the embedded Tiled catalog) and the plain-SQL lower bound
(the same conditions, selecting only keys, on an open connection), with
statements per query. Cold ``usaxs find`` is timed against the ``sqlite3``
CLI running the same query. Ingest: TiledWriter replay through the API,
``catalog reindex`` one request per run and batched (:mod:`usaxs_bluesky.catalog.batch`),
adapter ``create_node``, batch SQL. PostgreSQL (skipped with its reason where
Debian's package is absent): a throwaway server, the same synthetic runs, the
Tiled path against the plain SQL of the same conditions. Prints tables; no asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from bluesky_tiled_plugins import TiledWriter
from event_model import compose_run
from sqlalchemy import event
from sqlalchemy.engine import Engine
from tiled.structures.core import Spec, StructureFamily

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the PostgreSQL helper

from usaxs_bluesky.catalog import direct
from usaxs_bluesky.catalog.export import export_runs
from usaxs_bluesky.catalog.files import FileRecorder
from usaxs_bluesky.catalog.integrity import reindex
from usaxs_bluesky.catalog.pg import ensure_pg_indexes, pg_expression, tables_uri_of
from usaxs_bluesky.catalog.search import Criteria, sample_regex, search_page, search_runs
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


PAGE = 100
DAY = 86400.0


def criteria_cases(rng: random.Random) -> dict[str, Criteria]:
    """One random instance of each criterion alone and of the combinations."""
    since = T0 + rng.random() * (SPAN - 90 * DAY)
    user, plan = rng.choice(USERS), rng.choice(PLANS)
    word = rng.choice(WORDS).split()[0]
    return {
        "user": Criteria(user=user),
        "plan": Criteria(plan=plan),
        "dates (7 days)": Criteria(since=since, until=since + 7 * DAY),
        "sample substring": Criteria(sample=word[1:5].upper()),
        "sample glob": Criteria(sample=f"{word[:4]}* {rng.randint(1, 500)}"),
        "user + dates (90 d)": Criteria(user=user, since=since, until=since + 90 * DAY),
        "user + dates + sample": Criteria(
            user=user, since=since, until=since + 90 * DAY, sample=word[:4] + "*"
        ),
        "user + plan + sample": Criteria(user=user, plan=plan, sample=word[1:5]),
    }


def plain_sql(db: sqlite3.Connection, criteria: Criteria) -> int:
    """The lower bound: count and first page of keys, same conditions, on an open connection."""
    where, params = direct.where_clause(criteria, titles=True)
    total = db.execute(f"SELECT count(*) FROM nodes WHERE {where}", params).fetchone()[0]
    db.execute(
        f"SELECT key FROM nodes WHERE {where} ORDER BY {direct.order_by(criteria)} LIMIT {PAGE}",
        params,
    ).fetchall()
    return total


def _stats(times: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank) of ``times``."""
    times = sorted(times)
    return statistics.median(times), times[math.ceil(0.95 * len(times)) - 1]


class StatementCounter:
    """Counts the SQL statements SQLAlchemy runs (the Tiled path)."""

    def __init__(self) -> None:
        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, *args) -> None:
        self.count += 1


def find_rows(data_dir: Path, rng: random.Random, queries: int, tiled_queries: int) -> list:
    """Per criterion: (name, mean hits, direct med/p95, plain med/p95, tiled med/p95, stmts)."""
    catalog = open_catalog(data_dir, create=False)
    counter = StatementCounter()
    db = sqlite3.connect(data_dir / "catalog" / "catalog.db")
    db.create_function("regexp", 2, direct._regexp, deterministic=True)
    cases = [criteria_cases(rng) for _ in range(queries)]
    rows = []
    for name in cases[0]:
        t_direct, t_plain, t_tiled, hits, statements = [], [], [], [], []
        for i, case in enumerate(c[name] for c in cases):
            t0 = time.perf_counter()
            page = direct.page(data_dir, case, limit=PAGE)
            t_direct.append((time.perf_counter() - t0) * 1000)
            hits.append(page.total)
            t0 = time.perf_counter()
            assert plain_sql(db, case) == page.total
            t_plain.append((time.perf_counter() - t0) * 1000)
            if i < tiled_queries:
                before = counter.count
                t0 = time.perf_counter()
                assert search_page(catalog, case, limit=PAGE).total == page.total
                t_tiled.append((time.perf_counter() - t0) * 1000)
                statements.append(counter.count - before)
        rows.append(
            (name, statistics.mean(hits), *_stats(t_direct), *_stats(t_plain),
             *_stats(t_tiled), statistics.mean(statements))
        )  # fmt: skip
    db.close()
    return rows


def pg_where(criteria: Criteria) -> tuple[str, list]:
    """The PostgreSQL conditions the Tiled path runs (the literal-path JSONB and trigram
    expressions of :mod:`usaxs_bluesky.catalog.pg`), with ``$n`` parameters."""
    conditions = ["nodes.parent = (SELECT id FROM nodes WHERE parent IS NULL)"]
    params: list = []

    def param(value) -> str:
        params.append(value)
        return f"${len(params)}"

    for key, value in (("user_name", criteria.user), ("plan_name", criteria.plan)):
        if value:
            expression = pg_expression(f"start.{key}")
            conditions.append(f"{expression} = {param(json.dumps(value))}::jsonb")
    if criteria.since is not None:
        conditions.append(
            f"{pg_expression('start.time')} >= to_jsonb({param(criteria.since)}::float8)"
        )
    if criteria.until is not None:
        conditions.append(
            f"{pg_expression('start.time')} < to_jsonb({param(criteria.until)}::float8)"
        )
    if criteria.sample:
        text = pg_expression("start.title", text=True)
        conditions.append(f"{text} ~* {param(sample_regex(criteria.sample))}")
    return " AND ".join(conditions), params


async def pg_bulk_insert(uri: str, rng: random.Random, n: int) -> float:
    """Insert ``n`` run nodes in one PostgreSQL transaction (the closure trigger runs); runs/s."""
    import asyncpg

    rows = []
    for _ in range(n):
        start, stop = synthetic_docs(rng)
        rows.append((start["uid"], json.dumps({"start": start, "stop": stop}), json.dumps([SPEC])))
    connection = await asyncpg.connect(tables_uri_of(uri))
    t0 = time.perf_counter()
    try:
        async with connection.transaction():
            root = await connection.fetchval("SELECT id FROM nodes WHERE parent IS NULL")
            await connection.executemany(
                "INSERT INTO nodes (parent, key, structure_family, metadata, specs) "
                f"VALUES ({root}, $1, 'container', $2::jsonb, $3::jsonb)",
                rows,
            )
    finally:
        await connection.close()
    return n / (time.perf_counter() - t0)


def pg_find_rows(catalog, uri: str, rng: random.Random, queries: int, tiled_queries: int):
    """Per criterion: (name, mean hits, tiled med/p95, plain med/p95, stmts) on PostgreSQL,
    through the in-process client ``catalog`` (one per process: Tiled pools its connections)."""
    import asyncpg

    counter = StatementCounter()
    cases = [criteria_cases(rng) for _ in range(queries)]
    loop = asyncio.new_event_loop()
    connection = loop.run_until_complete(asyncpg.connect(tables_uri_of(uri)))

    def plain(criteria: Criteria) -> int:
        where, params = pg_where(criteria)
        total = loop.run_until_complete(
            connection.fetchval(f"SELECT count(*) FROM nodes WHERE {where}", *params)
        )
        loop.run_until_complete(connection.fetch(
            f"SELECT key FROM nodes WHERE {where} ORDER BY {pg_expression('start.time')} DESC, "
            f"nodes.id DESC LIMIT {PAGE}", *params))  # fmt: skip
        return total

    rows = []
    for name in cases[0]:
        t_plain, t_tiled, hits, statements = [], [], [], []
        for i, case in enumerate(c[name] for c in cases):
            t0 = time.perf_counter()
            total = plain(case)
            t_plain.append((time.perf_counter() - t0) * 1000)
            hits.append(total)
            if i < tiled_queries:
                before = counter.count
                t0 = time.perf_counter()
                assert search_page(catalog, case, limit=PAGE).total == total
                t_tiled.append((time.perf_counter() - t0) * 1000)
                statements.append(counter.count - before)
        rows.append((name, statistics.mean(hits), *_stats(t_tiled), *_stats(t_plain),
                     statistics.mean(statements)))  # fmt: skip
    loop.run_until_complete(connection.close())
    loop.close()
    return rows


def run_postgres(workdir: Path, sizes: list[int], rng: random.Random, args) -> None:
    """Ingest and find on a throwaway PostgreSQL server (Debian's package)."""
    from catalog.pgserver import postgres_server, unavailable_reason

    if unavailable_reason():
        print(f"PostgreSQL skipped: {unavailable_reason()}")
        return
    with postgres_server() as server:
        uri = server.create_database("bench_catalog")
        pg_dir = workdir / "pg"
        catalog = open_catalog(pg_dir, catalog_uri=uri, create=True)
        rate = ingest_tiledwriter(catalog, rng, args.http_sample)
        print(f"PostgreSQL: {'TiledWriter replay':34}  {args.http_sample:>7}  {rate:>8.1f}")
        have = args.http_sample
        for n in sizes:
            rate = asyncio.run(pg_bulk_insert(uri, rng, n - have))
            print(
                f"PostgreSQL: {'batch SQL insert, one transaction':34}  {n - have:>7}  {rate:>8.1f}"
            )
            have = n
            t0 = time.perf_counter()
            ensure_pg_indexes(uri)
            print(f"PostgreSQL index + ANALYZE {n} runs: {time.perf_counter() - t0:.1f} s")
            rows = pg_find_rows(catalog, uri, rng, args.queries, args.tiled_queries)
            print(f"\nPostgreSQL find, first page of {PAGE} + total, at {n} runs (ms)")
            print(f"{'criterion':22} {'hits':>8} {'tiled':>7} {'p95':>7} {'plain':>7} {'p95':>7}"
                  f" {'ratio':>6} {'stmts':>5}")  # fmt: skip
            for name, hits, t50, t95, p50, p95, stmts in rows:
                print(f"{name:22} {hits:>8.0f} {t50:>7.2f} {t95:>7.2f} {p50:>7.2f} {p95:>7.2f}"
                      f" {t50 / p50:>6.1f} {stmts:>5.0f}")  # fmt: skip
            print()


def reindex_rate(workdir: Path, n: int) -> tuple[float, float]:
    """Runs/s of ``reindex`` over ``n`` start/stop-only NeXus files: one request per run
    (a server) and batched SQL (the embedded catalog)."""
    from catalog.conftest import write_nexus

    folder = workdir / "reindex_files"
    rng = random.Random(7)
    for i in range(n):
        start, stop = synthetic_docs(rng)
        write_nexus(folder / f"run_{i:05d}.h5", start, stop)
    rates = []
    for name, batched in (("one_by_one", False), ("batched", True)):
        data_dir = workdir / f"reindex_{name}"
        catalog = open_catalog(data_dir)
        catalog_db = data_dir / "catalog" / "catalog.db" if batched else None
        t0 = time.perf_counter()
        result = reindex(catalog, folder, catalog_db=catalog_db)
        rates.append(n / (time.perf_counter() - t0))
        assert len(result.created) == n
    return rates[0], rates[1]


def cold_find(data_dir: Path, repeat: int = 5) -> tuple[float, float]:
    """Median wall time (ms) of ``usaxs find --user`` and of ``sqlite3`` running the same query."""
    usaxs = Path(sys.executable).with_name("usaxs")
    criteria = Criteria(user=USERS[7])
    where, params = direct.where_clause(criteria)
    sql = (
        f"SELECT count(*) FROM nodes WHERE {where};"
        f"SELECT key, metadata FROM nodes WHERE {where} "
        f"ORDER BY {direct.order_by(criteria)} LIMIT {PAGE};"
    ).replace("?", f"'{USERS[7]}'")
    db = str(data_dir / "catalog" / "catalog.db")
    t_usaxs, t_cli = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([str(usaxs), "find", "--data-dir", str(data_dir), "--user", USERS[7]],
                       check=True, capture_output=True)  # fmt: skip
        t_usaxs.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        subprocess.run(["sqlite3", "-readonly", db, sql], check=True, capture_output=True)
        t_cli.append((time.perf_counter() - t0) * 1000)
    return statistics.median(t_usaxs), statistics.median(t_cli)


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
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--http-sample", type=int, default=200, help="runs ingested via HTTP")
    parser.add_argument("--queries", type=int, default=20, help="queries per criterion")
    parser.add_argument("--tiled-queries", type=int, default=5, help="of those, through Tiled")
    parser.add_argument("--adapter-sample", type=int, default=1000, help="runs via create_node")
    parser.add_argument("--export-mb", type=int, default=0, help="0: skip the export benchmark")
    parser.add_argument("--reindex-sample", type=int, default=300, help="files reindexed")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    warnings.simplefilter("ignore")
    rng = random.Random(12345)
    workdir = Path(tempfile.mkdtemp(prefix="bench_catalog_"))
    try:
        catalog = open_catalog(workdir / "http")
        print(f"{'ingest method':38}  {'runs':>7}  {'runs/s':>8}")
        for name, func in (("TiledWriter replay (reindex path)", ingest_tiledwriter),
                           ("client create_container (HTTP)", ingest_client)):  # fmt: skip
            print(f"{name:38}  {args.http_sample:>7}  {func(catalog, rng, args.http_sample):>8.1f}")
        one, batched = reindex_rate(workdir, args.reindex_sample)
        print(f"{'reindex, one request per run':38}  {args.reindex_sample:>7}  {one:>8.1f}")
        print(f"{'reindex, batched SQL (embedded)':38}  {args.reindex_sample:>7}  {batched:>8.1f}")
        if not args.no_postgres:
            run_postgres(workdir, sizes, rng, args)
        if args.no_sqlite:
            return
        adapter_dir = workdir / "adapter"
        open_catalog(adapter_dir)
        rate = ingest_adapter(catalog_adapter(adapter_dir), rng, args.adapter_sample)
        print(f"{'adapter create_node':38}  {args.adapter_sample:>7}  {rate:>8.1f}")

        data_dir = workdir / "scale"
        open_catalog(data_dir)  # initialize the database
        have = 0
        for n in sizes:
            rate = ingest_bulk_sql(data_dir / "catalog" / "catalog.db", rng, n - have)
            print(f"{'batch SQL insert, one transaction':38}  {n - have:>7}  {rate:>8.1f}")
            have = n
            t0 = time.perf_counter()
            open_catalog(data_dir, create=False)  # makes the missing indexes
            print(f"open + index {n} runs: {time.perf_counter() - t0:.1f} s")
            rows = find_rows(data_dir, rng, args.queries, args.tiled_queries)
            print(f"\nfind, first page of {PAGE} + total, at {n} runs (ms)")
            print(f"{'criterion':22} {'hits':>8} {'direct':>7} {'p95':>7} {'plain':>7} {'p95':>7}"
                  f" {'ratio':>6} {'tiled':>7} {'p95':>7} {'stmts':>5}")  # fmt: skip
            for name, hits, d50, d95, p50, p95, t50, t95, stmts in rows:
                print(f"{name:22} {hits:>8.0f} {d50:>7.2f} {d95:>7.2f} {p50:>7.2f} {p95:>7.2f}"
                      f" {d50 / p50:>6.1f} {t50:>7.1f} {t95:>7.1f} {stmts:>5.0f}")  # fmt: skip
            usaxs_ms, cli_ms = cold_find(data_dir)
            print(f"cold usaxs find --user: {usaxs_ms:.0f} ms; sqlite3 CLI same query: "
                  f"{cli_ms:.0f} ms (ratio {usaxs_ms / cli_ms:.1f})\n")  # fmt: skip
        if args.export_mb:
            exp, cp, mb = export_vs_cp(workdir, args.export_mb)
            print(f"export {mb:.0f} MB: usaxs export {exp:.0f} MB/s (copy + 2 checksums + fsync), "
                  f"cp {cp:.0f} MB/s")  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
