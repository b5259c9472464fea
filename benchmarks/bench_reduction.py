"""Per-file time of ``usaxs reduce`` (the CLI, in a new process) against Matilda, alternating.

Run: python benchmarks/bench_reduction.py [--repeats N]
(USAXS_TESTDATA overrides the data folder; Matilda is imported from
../shared/clients/matilda/matilda.) Prints a table; no asserts.

Rows, each on the real facility files (copies in a temporary folder):
calib FY1_1HF_1 vs Air_1 (USAXS fly), session PPOH_25C_orig_0066 vs
HeaterBlank_0060 (USAXS fly, SAXS, WAXS). Columns (median of the repeats,
seconds per file):

* ours, one file: ``usaxs reduce S --blank B --no-plot`` / with the PNG,
  wall time of the whole process (interpreter start and imports included);
* ours, batch of ten: ``usaxs reduce S_0..S_9 --blank B`` / 10, without and
  with PNGs;
* Matilda: one ``processFlyscan`` / ``process2Ddata`` call in this (warm)
  process, imports excluded, on a fresh copy of the sample (it writes its
  results into the file and would reuse them), its blank already prepared
  (it caches the blank's reduction in the blank file, as at the instrument).

Two tables: wall time, and CPU time (children's rusage for the CLI, process
time for Matilda), the steadier one when other processes load the machine.

Runs alternate (ours, Matilda, ours, ...) so that load from other processes
on the machine falls on both alike.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("USAXS_TESTDATA", REPO.parent / "shared" / "testdata")) / "facility"
MATILDA = REPO.parent / "shared" / "clients" / "matilda" / "matilda"
USAXS = str(Path(sys.executable).with_name("usaxs"))
BATCH = 10

CASES = [
    ("USAXS fly calib FY1/Air", "calib/usaxs", "FY1_1HF_1.h5", "Air_1.h5", "fly"),
    (
        "USAXS fly session PPOH",
        "session/usaxs",
        "PPOH_25C_orig_0066.h5",
        "HeaterBlank_0060.h5",
        "fly",
    ),
    ("SAXS session PPOH", "session/saxs", "PPOH_25C_orig_0066.hdf", "HeaterBlank_0060.hdf", "2d"),
    ("WAXS session PPOH", "session/waxs", "PPOH_25C_orig_0066.hdf", "HeaterBlank_0060.hdf", "2d"),
]


def matilda_functions() -> dict[str, Callable]:
    """Matilda's processFlyscan and process2Ddata (imported here, once)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(MATILDA))
    import logging

    logging.disable(logging.WARNING)
    from convertFlyscan import processFlyscan
    from convertSWAXS import process2Ddata

    return {"fly": processFlyscan, "2d": process2Ddata}


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def run_cli(args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``usaxs`` process; raises if it fails."""
    t0, c0 = time.perf_counter(), _children_cpu()
    subprocess.run([USAXS, *args], check=True, capture_output=True)
    return time.perf_counter() - t0, _children_cpu() - c0


class Case:
    """Copies of one sample/blank pair and the timed runs on them."""

    def __init__(self, root: Path, folder: str, sample: str, blank: str, kind: str) -> None:
        self.root, self.sample_name, self.kind = root, sample, kind
        self.src = DATA / folder
        # Matilda decides SAXS vs WAXS by "saxs" in the folder name
        self.dir = root / folder.replace("/", "_")
        self.dir.mkdir(parents=True)
        self.blank = self.dir / blank
        shutil.copyfile(self.src / blank, self.blank)
        stem, ext = sample.rsplit(".", 1)
        self.batch = []
        for k in range(BATCH):
            dst = self.dir / f"{stem}_b{k}.{ext}"
            shutil.copyfile(self.src / sample, dst)
            self.batch.append(dst)
        self.runs = 0

    def ours(self, files: list[Path], plot: bool) -> tuple[float, float]:
        """(wall, CPU) seconds per file of one ``usaxs reduce`` of ``files``."""
        self.runs += 1
        out = self.root / f"out_{self.dir.name}_{self.runs}"
        args = ["reduce", *map(str, files), "--blank", str(self.blank), "--out", str(out)]
        wall, cpu = run_cli(args + ([] if plot else ["--no-plot"]))
        return wall / len(files), cpu / len(files)

    def matilda(self, process: Callable, *, prepare: bool = False) -> tuple[float, float]:
        """One Matilda call on a fresh copy; ``prepare`` rebuilds its cached blank first
        (HeaterBlank_0060 carries an older blankData group that it cannot use)."""
        self.runs += 1
        name = f"m{self.runs}_{self.sample_name}"
        shutil.copyfile(self.src / self.sample_name, self.dir / name)
        t0, c0 = time.perf_counter(), time.process_time()
        process(str(self.dir), name, str(self.dir), self.blank.name, recalculateAllData=prepare)
        return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    funcs = matilda_functions()
    columns = ["ours 1 file", "ours 1 + PNG", "ours batch/10", "batch+PNG/10", "Matilda"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, folder, sample, blank, kind in CASES:
            case = Case(Path(tmp), folder, sample, blank, kind)
            case.matilda(funcs[kind], prepare=True)  # Matilda's cached blank; not timed
            times: dict[str, list[tuple[float, float]]] = {c: [] for c in columns}
            for _ in range(args.repeats):
                times["ours 1 file"].append(case.ours(case.batch[:1], plot=False))
                times["Matilda"].append(case.matilda(funcs[kind]))
                times["ours 1 + PNG"].append(case.ours(case.batch[:1], plot=True))
                times["Matilda"].append(case.matilda(funcs[kind]))
                times["ours batch/10"].append(case.ours(case.batch, plot=False))
                times["Matilda"].append(case.matilda(funcs[kind]))
                times["batch+PNG/10"].append(case.ours(case.batch, plot=True))
            rows.append((label, times))
    for k, what in enumerate(("wall", "CPU")):
        print(f"\n{what} seconds per file, median of {args.repeats}")
        width = max(len(r[0]) for r in rows)
        print(f"{'':<{width}}  " + "  ".join(f"{c:>13}" for c in columns) + "  all faster?")
        for label, t in rows:
            m = {c: statistics.median(x[k] for x in v) for c, v in t.items()}
            ok = all(m[c] < m["Matilda"] for c in columns[:-1])
            print(f"{label:<{width}}  " + "  ".join(f"{m[c]:13.3f}" for c in columns) + f"  {ok}")


if __name__ == "__main__":
    main()
