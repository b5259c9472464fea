"""Foundation benchmarks: sim start + connect time; step-scan per-point overhead vs ophyd.sim.

Run: ``python benchmarks/bench_foundation.py [--points 50] [--repeat 3]``.
Baseline: the same ``bluesky.plans.scan`` on ``ophyd.sim`` devices (no I/O),
so the ratio is the cost of real Channel Access to the simulated IOC.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time


def _scan_time(RE, detectors, motor, points: int) -> float:
    from bluesky.plans import scan

    md = {"title": "bench", "sample_thickness_mm": 1.0, "user_name": "bench"}
    t0 = time.perf_counter()
    RE(scan(detectors, motor, 0, 1e-4, points, md=md))
    return (time.perf_counter() - t0) / points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from usaxs_sim.launcher import SimProcess

    t0 = time.perf_counter()
    sim = SimProcess(time_scale=0.02, seed=1)
    sim.apply_env()
    with sim:
        t_sim = time.perf_counter() - t0
        from bluesky import RunEngine
        from ophyd.sim import det, motor

        from usaxs_bluesky.instrument import build_instrument, connect_instrument

        t1 = time.perf_counter()
        inst = connect_instrument(build_instrument(), timeout=30)
        t_connect = time.perf_counter() - t1

        RE = RunEngine({})
        inst.scaler.preset_time.put(0.001, wait=True)  # counting itself: 20 us of wall time
        ar = inst.a_stage.r
        center = inst.terms.ar_center.get()
        ar.move(center, wait=True)
        with tempfile.TemporaryDirectory():
            real = [
                _scan_time(RE, [inst.scaler, inst.upd_ratio], ar, args.points)
                for _ in range(args.repeat)
            ]
            fake = [_scan_time(RE, [det], motor, args.points) for _ in range(args.repeat)]
        import epics

        epics.ca.finalize_libca()

    real_ms, fake_ms = statistics.median(real) * 1e3, statistics.median(fake) * 1e3
    print(f"{'measurement':46} {'value':>10}")
    print(f"{'sim IOC start to ready (s)':46} {t_sim:10.2f}")
    print(f"{'connect all devices (s)':46} {t_connect:10.2f}")
    print(f"{'step scan per point, sim IOC (ms)':46} {real_ms:10.2f}")
    print(f"{'step scan per point, ophyd.sim baseline (ms)':46} {fake_ms:10.2f}")
    print(f"{'ratio sim IOC / ophyd.sim':46} {real_ms / fake_ms:10.1f}")


if __name__ == "__main__":
    main()
