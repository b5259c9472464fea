"""Cost of the NeXus writer against writing the same arrays directly with h5py.

Run: ``python benchmarks/bench_writer.py`` (no sim: documents are composed
with event_model). Cases: an 8000-point fly scan (event pages) and a
100-frame 195x487 SAXS run (one frame per event); peak Python memory
(tracemalloc) while writing a 1000-frame run. With ``--apstools PYTHON``
(a separate venv with apstools installed) the same documents are also
replayed into apstools' NXWriter there. Prints a table; best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import h5py
import numpy as np
from event_model import compose_run, unpack_event_page

from usaxs_bluesky.callbacks.nexus_writer import NexusWriter

SHAPE = (195, 487)
Docs = list[tuple[str, dict]]


def _key(source: str, dtype: str = "number", shape=(), units: str = "", **extra) -> dict:
    return {"source": source, "dtype": dtype, "shape": list(shape), "units": units, **extra}


def _start(folder: Path, plan: str, stem: str):
    return compose_run(
        metadata={
            "plan_name": plan,
            "title": stem,
            "sample_thickness_mm": 1.0,
            "hdf5_path": str(folder),
            "hdf5_file": f"{stem}_0001.h5",
        }
    )


def _baseline(run) -> Iterator[tuple[str, dict]]:
    keys = {"monochromator_wavelength": _key("PV:12ida2:LambdaCalc", units="A")}
    bundle = run.compose_descriptor(name="baseline", data_keys=keys)
    yield "descriptor", bundle.descriptor_doc
    data = {"monochromator_wavelength": 0.59}
    yield "event", bundle.compose_event(data=data, timestamps={"monochromator_wavelength": 0})


def fly_docs(folder: Path, points: int = 8000) -> Docs:
    """An 8000-point fly scan: primary (5 columns), pulses and range-change pages."""
    run = _start(folder, "Flyscan", "fly")
    docs: Docs = [("start", run.start_doc), *_baseline(run)]
    rng = np.random.default_rng(0)
    columns = {
        "flyscan_ar": np.linspace(8.85, 8.6, points - 1),
        "flyscan_clock": np.full(points - 1, 562570, np.int32),
        "flyscan_I0": rng.integers(10000, 12000, points - 1, dtype=np.int32),
        "flyscan_UPD": rng.integers(1000, 100000, points - 1, dtype=np.int32),
        "flyscan_upd_range": rng.integers(0, 5, points - 1, dtype=np.int32),
    }
    pages = [
        ("primary", columns),
        ("flyscan_pulses", {"flyscan_pulse_position": np.linspace(8.85, 8.6, points)}),
        (
            "flyscan_range_changes",
            {
                "flyscan_change_channel": np.arange(13.0),
                "flyscan_change_range": np.arange(13.0) % 5,
                "flyscan_change_requested": np.arange(13.0) % 5,
            },
        ),
    ]
    for name, data in pages:
        keys = {
            k: _key(
                f"PV:{k}", "integer" if v.dtype.kind == "i" else "number", dtype_numpy=v.dtype.str
            )
            for k, v in data.items()
        }
        bundle = run.compose_descriptor(name=name, data_keys=keys)
        docs.append(("descriptor", bundle.descriptor_doc))
        n = len(next(iter(data.values())))
        page = bundle.compose_event_page(
            data={k: v.tolist() for k, v in data.items()},
            timestamps={k: [0.0] * n for k in data},
            seq_num=list(range(1, n + 1)),
            time=[0.0] * n,
            validate=False,
        )
        docs.append(("event_page", page))
    docs.append(("stop", run.compose_stop()))
    return docs


def saxs_docs(folder: Path, frames: int) -> Iterator[tuple[str, dict]]:
    """A SAXS run with ``frames`` events of one 195x487 int32 frame each (made lazily)."""
    run = _start(folder, "SAXS", f"saxs{frames}")
    yield "start", run.start_doc
    yield from _baseline(run)
    keys = {
        "saxs_det_image": _key("PV:image", "array", SHAPE, dtype_numpy="<i4"),
        "I0": _key("PV:I0", "integer"),
    }
    bundle = run.compose_descriptor(name="primary", data_keys=keys)
    yield "descriptor", bundle.descriptor_doc
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 1000, SHAPE, dtype=np.int32)
    for index in range(frames):
        data = {"saxs_det_image": frame, "I0": index}
        yield "event", bundle.compose_event(data=data, timestamps={"saxs_det_image": 0, "I0": 0})
    yield "stop", run.compose_stop()


def replay(docs) -> Path:
    files: list[Path] = []
    writer = NexusWriter(on_file=lambda uid, path, kind: files.append(path))
    for name, doc in docs:
        writer(name, doc)
    return files[0]


def _fsync(path: Path) -> None:
    """Flush ``path`` to disk, as the writer does before a file gets its final name."""
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def direct_fly(path: Path, docs: Docs) -> None:
    """The arrays the writer stores, written with h5py, then fsync.

    Every event page's columns (mca1..3 = clock, I0, UPD; AR angles and ranges;
    pulse positions; range changes) and its ``time`` column, one group per stream.
    """
    with h5py.File(path, "w") as f:
        for name, doc in docs:
            if name == "event_page":
                group = f.create_group(doc["descriptor"])
                for key, values in doc["data"].items():
                    group.create_dataset(key, data=np.asarray(values))
                group.create_dataset("time", data=np.asarray(doc["time"]))
    _fsync(path)


def direct_saxs(path: Path, docs: Docs) -> None:
    """The same frames written with h5py, frame by frame into a preallocated dataset; fsync."""
    events = [doc for name, doc in docs if name == "event" and "I0" in doc["data"]]
    with h5py.File(path, "w") as f:
        frames = f.create_dataset(
            "data", shape=(len(events), *SHAPE), dtype=np.int32, chunks=(1, *SHAPE)
        )
        i0 = f.create_dataset("I0", shape=(len(events),), dtype=np.int64)
        for index, event in enumerate(events):
            frames[index] = event["data"]["saxs_det_image"]
            i0[index] = event["data"]["I0"]
    _fsync(path)


def best(repeat: int, action: Callable[[int], None]) -> float:
    times = []
    for attempt in range(repeat):
        t0 = time.perf_counter()
        action(attempt)
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_memory(folder: Path, frames: int) -> tuple[float, float]:
    """Return (peak traced MB while writing, data MB) of a ``frames``-frame run."""
    tracemalloc.start()
    replay(saxs_docs(folder, frames))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20, frames * np.prod(SHAPE) * 4 / 2**20


APSTOOLS_SCRIPT = """
import os, pickle, sys, time
from apstools.callbacks import NXWriter
docs = pickle.load(open(sys.argv[1], "rb"))
best = None
for attempt in range(int(sys.argv[3])):
    writer = NXWriter()
    folder = f"{sys.argv[2]}_{attempt}"
    os.makedirs(folder)
    writer.file_name = f"{folder}/run.h5"
    writer.warn_on_missing_content = False
    t0 = time.perf_counter()
    for name, doc in docs:
        writer.receiver(name, doc)
    deadline = t0 + 120  # NXWriter writes the file in a thread after the stop document
    while str(getattr(writer, "output_nexus_file", "")) != str(writer.file_name):
        assert time.perf_counter() < deadline, "NXWriter wrote no file"
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    best = elapsed if best is None else min(best, elapsed)
print(best)
"""


def apstools_time(python: str, docs: Docs, folder: Path, repeat: int) -> str:
    """Replay ``docs`` into apstools' NXWriter in another interpreter; the best time or why not."""
    dump = folder / f"apstools_{len(docs)}.pkl"
    events: Docs = []  # NXWriter reads events, not event pages
    for name, doc in docs:
        if name == "event_page":
            events.extend(("event", event) for event in unpack_event_page(doc))
        else:
            events.append((name, doc))
    with open(dump, "wb") as stream:
        pickle.dump(events, stream)
    proc = subprocess.run(
        [python, "-c", APSTOOLS_SCRIPT, str(dump), str(dump.with_suffix("")), str(repeat)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return "failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:60]
    return f"{float(proc.stdout.split()[-1]):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--frames-memory", type=int, default=1000)
    parser.add_argument("--apstools", help="python of a venv with apstools installed")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fly = fly_docs(root / "fly")
        t_fly = best(args.repeat, lambda a: replay(_renamed(fly, root / f"flyr{a}")))
        d_fly = best(args.repeat, lambda a: direct_fly(root / f"direct_fly{a}.h5", fly))
        saxs = list(saxs_docs(root / "saxs", 100))
        t_saxs = best(args.repeat, lambda a: replay(_renamed(saxs, root / f"saxsr{a}")))
        d_saxs = best(args.repeat, lambda a: direct_saxs(root / f"direct_saxs{a}.h5", saxs))
        bare = [fly[0], fly[-1]]  # start and stop: the file's fixed cost
        t_bare = best(args.repeat, lambda a: replay(_renamed(bare, root / f"bare{a}")))
        rows.append(("fly scan, 8000 points", t_fly, d_fly))
        rows.append(("SAXS, 100 frames 195x487", t_saxs, d_saxs))
        aps = {}
        if args.apstools:
            aps["fly"] = apstools_time(args.apstools, fly, root, args.repeat)
            aps["saxs"] = apstools_time(args.apstools, saxs, root, args.repeat)
        peak, size = peak_memory(root / "memory", args.frames_memory)
    print(f"fixed cost of one file (start + stop documents only): {t_bare * 1e3:.1f} ms")
    header = f"{'case':26} {'writer':>8} {'h5py':>8} {'ratio':>6} {'w-fixed':>8} {'ratio':>6}"
    print(f"{header}  apstools NXWriter")
    for (case, ours, direct), key in zip(rows, ("fly", "saxs"), strict=True):
        extra = aps.get(key, "not run (--apstools PYTHON)")
        data = ours - t_bare
        print(
            f"{case:26} {ours:7.3f}s {direct:7.3f}s {ours / direct:6.2f}"
            f" {data:7.3f}s {data / direct:6.2f}  {extra}"
        )
    print(
        f"peak traced memory, {args.frames_memory}-frame SAXS run: {peak:.1f} MB"
        f" (frames total {size:.0f} MB)"
    )


def _renamed(docs: Docs, folder: Path) -> Docs:
    """The same documents writing into ``folder`` (a fresh file each repeat)."""
    out = []
    for name, doc in docs:
        if name == "start":
            doc = {**doc, "hdf5_path": str(folder)}
        out.append((name, doc))
    return out


if __name__ == "__main__":
    sys.exit(main())
