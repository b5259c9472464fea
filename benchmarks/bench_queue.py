"""Time a plan through the queue server against the same plan on a plain session RunEngine.

Run: python benchmarks/bench_queue.py   (needs redis-server, Debian package redis-server)
Measures, on the simulator (time scale 0.02), for a SAXS exposure that first
moves the sample stage: the wall time of the plan in this process's session
RunEngine, the wall time through RE Manager (item added -> queue idle again,
IPython-kernel worker), their ratio, and the time from the call (RE call or
``item_add``) to the first motion of the sample stage (its DMOV going to 0).
Prints a table; no asserts. Data go to a new temporary folder (printed).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

TIME_SCALE = 0.02
REPEAT = 3
ACQUIRE_TIME = 1.0
TIMEOUT_S = 300


class FirstMotion:
    """Records when the sample stage's x motor next starts to move (DMOV 1 -> 0)."""

    def __init__(self, pvname: str) -> None:
        from ophyd import EpicsSignalRO

        self.signal = EpicsSignalRO(pvname + ".DMOV", name="dmov")
        self.signal.wait_for_connection(timeout=30)
        self.moved = threading.Event()
        self.when = 0.0
        self.signal.subscribe(self._changed, run=False)

    def _changed(self, value=None, **_) -> None:
        if value == 0 and not self.moved.is_set():
            self.when = time.perf_counter()
            self.moved.set()

    def arm(self) -> None:
        """Forget the last motion."""
        self.moved.clear()


def main() -> None:
    from bluesky_queueserver_api import BPlan
    from bluesky_queueserver_api.zmq import REManagerAPI
    from usaxs_sim.launcher import SimProcess

    root = Path(tempfile.mkdtemp(prefix="bench_queue_"))
    print(f"data in {root}")
    sim = SimProcess(time_scale=TIME_SCALE).start()
    sim.apply_env()
    from usaxs_bluesky.plans.area_detector import saxsExp
    from usaxs_bluesky.queue.manager import RedisProcess, ReManagerProcess
    from usaxs_bluesky.session import make_session

    redis = RedisProcess(root / "redis").start()
    manager = ReManagerProcess(
        config_dir=root / "queue", data_dir=root / "queue_data", redis_addr=redis.addr
    )
    try:
        t0 = time.perf_counter()
        manager.start(timeout=TIMEOUT_S)
        started = time.perf_counter() - t0
        api = REManagerAPI(zmq_control_addr=manager.control_addr)
        api.user, api.user_group = "bench", "staff"
        t0 = time.perf_counter()
        api.environment_open()
        api.wait_for_idle(timeout=TIMEOUT_S)
        opened = time.perf_counter() - t0

        session = make_session(root / "plain_data", connect_timeout=60, reduce_live=False)
        inst = session.instrument
        motion = FirstMotion(inst.s_stage.x.prefix)
        plain, plain_first, queued, queued_first = [], [], [], []
        for i in range(REPEAT):
            x = 1.0 + i
            args = (x, 0.0, 1.0, "bench")
            kwargs = {"user_name": "bench", "acquire_time": ACQUIRE_TIME}
            motion.arm()
            t0 = time.perf_counter()
            session.RE(saxsExp(inst, *args, **kwargs))
            plain.append(time.perf_counter() - t0)
            plain_first.append(motion.when - t0 if motion.moved.is_set() else float("nan"))

            motion.arm()
            t0 = time.perf_counter()
            api.item_add(BPlan("saxsExp", -x, 0.0, 1.0, "bench", **kwargs))
            api.queue_start()
            api.wait_for_idle(timeout=TIMEOUT_S)
            queued.append(time.perf_counter() - t0)
            queued_first.append(motion.when - t0 if motion.moved.is_set() else float("nan"))
        api.environment_close()
        api.wait_for_idle(timeout=TIMEOUT_S)
        api.close()
        session.close()
    finally:
        manager.stop()
        redis.stop()
        sim.stop()

    def med(values: list[float]) -> float:
        return statistics.median(values)

    print(f"RE Manager start (lists generated): {started:7.2f} s")
    print(f"environment open (IPython kernel):  {opened:7.2f} s")
    print(f"{'SAXS exposure, median of ' + str(REPEAT):36s} {'plain RE':>10s} {'queue':>10s}")
    print(f"{'wall time (s)':36s} {med(plain):10.3f} {med(queued):10.3f}")
    print(f"{'call -> first motion (s)':36s} {med(plain_first):10.3f} {med(queued_first):10.3f}")
    print(f"queue / plain wall-time ratio: {med(queued) / med(plain):.2f}")


if __name__ == "__main__":
    main()
