"""Time the reduction of one fly scan (smeared + desmeared), one SAXS and one WAXS frame.

Run: python benchmarks/bench_reduction.py  (USAXS_TESTDATA overrides the data folder)
Target: under 1 s each. Prints a small table; no asserts.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from usaxs_bluesky.reduction.areadetector import read_area_frame, reduce_area
from usaxs_bluesky.reduction.usaxs import absolute_usaxs
from usaxs_bluesky.reduction.usaxs_raw import read_usaxs

DATA = (
    Path(
        os.environ.get(
            "USAXS_TESTDATA", Path(__file__).resolve().parents[2] / "shared" / "testdata"
        )
    )
    / "facility"
    / "calib"
)


def best_of(func, repeat: int = 5) -> float:
    """Best wall time (s) of ``repeat`` calls after one warm-up call."""
    func()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    def usaxs():
        absolute_usaxs(read_usaxs(DATA / "usaxs/FY1_1HF_1.h5"), read_usaxs(DATA / "usaxs/Air_1.h5"))

    def area(kind: str):
        def run():
            reduce_area(
                read_area_frame(DATA / kind / "FY1_1HF_1.hdf"),
                read_area_frame(DATA / kind / "Air_1.hdf"),
            )

        return run

    rows = [
        ("USAXS fly 8000 pts, read+R+calib+smeared+desmeared", best_of(usaxs)),
        ("SAXS 195x487 sample+blank, read+integrate+calib", best_of(area("saxs"))),
        ("WAXS 512x2068 sample+blank, read+integrate+calib", best_of(area("waxs"))),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'task':<{width}}  time (s)  target")
    for name, t in rows:
        print(f"{name:<{width}}  {t:8.3f}  {'ok' if t < 1 else 'SLOW'} (<1 s)")


if __name__ == "__main__":
    main()
