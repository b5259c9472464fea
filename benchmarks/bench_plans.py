"""Time the acquisition plans against the simulator (time scale 0.02) and ophyd.sim.

Run: python benchmarks/bench_plans.py
Measures: fly-scan data retrieval (``collect_pages`` of 8000 channels) and the
whole Flyscan plan; the per-point overhead of a uascan (point time minus the
scaled count time) and of the same step loop on ``ophyd.sim`` devices, on a
bare RunEngine and on the session's (catalog + file writers subscribed).
Prints a table; no asserts. Data go to a new temporary folder (printed).
"""

from __future__ import annotations

import statistics
import tempfile
import time

TIME_SCALE = 0.02
STEP_POINTS = 40
COUNT_TIME = 0.2


def best_of(func, repeat: int = 3) -> float:
    """Best wall time (s) of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def point_interval(RE, plan) -> float:
    """Median time (s) between consecutive primary events of ``plan``."""
    times: list[float] = []
    primary: set[str] = set()

    def collect(name, doc):
        if name == "descriptor" and doc["name"] == "primary":
            primary.add(doc["uid"])
        elif name == "event" and doc["descriptor"] in primary:
            times.append(doc["time"])

    token = RE.subscribe(collect)
    try:
        RE(plan)
    finally:
        RE.unsubscribe(token)
    return statistics.median(b - a for a, b in zip(times, times[1:], strict=False))


def sim_step_loop(num: int):
    """The uascan loop shape (3 motors moved, 3 detectors + 3 motors read) on ophyd.sim."""
    from bluesky import plan_stubs as bps
    from bluesky import preprocessors as bpp
    from ophyd.sim import det1, det2, motor1, motor2, motor3, noisy_det

    @bpp.run_decorator(md={"title": "bench", "sample_thickness_mm": 1.0, "user_name": "bench"})
    def loop():
        for i in range(num):
            yield from bps.checkpoint()
            yield from bps.mv(motor1, -i * 1e-4, motor2, i * 0.01, motor3, i * 0.05)
            yield from bps.trigger_and_read([det1, det2, noisy_det, motor1, motor2, motor3])

    return loop()


def main() -> None:
    from usaxs_sim.launcher import SimProcess

    rows: list[tuple[str, float, str]] = []
    sim = SimProcess(time_scale=TIME_SCALE, seed=1)
    sim.apply_env()
    tmp = tempfile.mkdtemp(prefix="bench_plans_")  # left for inspection (RE metadata, catalog)
    with sim:
        from bluesky import RunEngine

        from usaxs_bluesky.plans.usaxs import Flyscan, uascan
        from usaxs_bluesky.session import make_session

        session = make_session(tmp)
        RE, inst = session.RE, session.instrument
        inst.user_data.user_name.put("bench", wait=True)
        md = {"title": "blank", "thickness_mm": 1.0}

        n_pulses = int(inst.flyscan.num_pulses.get())
        t0 = time.perf_counter()
        RE(Flyscan(inst, **md))
        fly = time.perf_counter() - t0
        scan_time = float(inst.terms.fs_scan_time.get()) * TIME_SCALE
        collect = best_of(lambda: list(inst.flyscan.collect_pages()))
        rows += [
            (f"collect_pages, {n_pulses - 1} channels", collect, "s"),
            ("Flyscan plan, whole run", fly, "s"),
            ("  of which the trajectory (scaled FS_ScanTime)", scan_time, "s"),
        ]

        step = point_interval(
            RE,
            uascan(inst, **md, intervals=STEP_POINTS, count_time=COUNT_TIME, dynamic_time=False),
        )
        counting = COUNT_TIME * TIME_SCALE
        bare = point_interval(RunEngine({}), sim_step_loop(STEP_POINTS))
        wired = point_interval(RE, sim_step_loop(STEP_POINTS))
        rows += [
            ("uascan point (sim IOC)", step, "s"),
            ("uascan overhead per point (minus scaled count)", step - counting, "s"),
            ("same loop, ophyd.sim, bare RunEngine", bare, "s"),
            ("same loop, ophyd.sim, session RunEngine", wired, "s"),
            ("ratio sim IOC overhead / ophyd.sim session", (step - counting) / wired, "x"),
        ]
        import epics

        epics.ca.finalize_libca()

    print(f"data in {tmp}")
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  value")
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:9.4f} {unit}")


if __name__ == "__main__":
    main()
