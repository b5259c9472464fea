"""Simulator timing: moves and fly scans take their time-scaled durations.

Run: ``python benchmarks/bench_sim.py [--time-scale 0.02]``. Reports the wall
time of a 5 mm sample-stage move and of a 30 s (simulated) fly scan next to
the durations the time scale promises (the baseline of each row).
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.02)
    args = parser.parse_args()

    from usaxs_sim.launcher import SimProcess

    sim = SimProcess(time_scale=args.time_scale, seed=1)
    sim.apply_env()
    with sim:
        import epics
        from ophyd import EpicsMotor

        sx = EpicsMotor(sim.pv("usxAERO:m8"), name="sx")
        sx.wait_for_connection(timeout=10)
        sx.move(0.0, wait=True, timeout=60)
        velocity = sx.velocity.get()
        t0 = time.perf_counter()
        sx.move(5.0, wait=True, timeout=60)
        move_s = time.perf_counter() - t0
        sx.move(0.0, wait=True, timeout=60)

        scan_time = 30.0
        epics.caput(sim.pv("usxLAX:USAXS:FS_ScanTime"), scan_time, wait=True)
        center = epics.caget(sim.pv("usxLAX:USAXS:ARcenter"), use_monitor=False)
        epics.caput(sim.pv("usxLAX:USAXS:ARstart"), center + 0.0016, wait=True)
        t0 = time.perf_counter()
        epics.caput(sim.pv("usxLAX:USAXSfly:Start"), 1, wait=True, timeout=120)
        fly_s = time.perf_counter() - t0
        epics.caput(sim.pv("usxAERO:m6.VAL"), center, wait=True, timeout=60)
        epics.ca.finalize_libca()

    print(f"{'measurement':40} {'wall (s)':>9} {'promised (s)':>13} {'ratio':>6}")
    for label, wall, promised in (
        ("5 mm move of s_stage.x", move_s, 5.0 / velocity * args.time_scale),
        (f"fly scan, {scan_time:g} s simulated", fly_s, scan_time * args.time_scale),
    ):
        print(f"{label:40} {wall:9.3f} {promised:13.3f} {wall / promised:6.2f}")


if __name__ == "__main__":
    main()
