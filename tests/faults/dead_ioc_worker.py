"""Start an own simulator, then run a uascan on it; print ``sim <pid>`` and each document.

``python dead_ioc_worker.py DATA_DIR INTERVALS``: prints ``sim <pid>`` once the
simulator serves, ``event <seq_num>`` per point, ``stop <exit_status> <reason>``,
``raised <error>`` when the plan raised, ``done`` last (exit code 0 unless it crashed).
"""

from __future__ import annotations

import sys


def main(data_dir: str, intervals: int) -> int:
    from usaxs_sim.launcher import SimProcess

    sim = SimProcess(time_scale=0.02, seed=3, timeout=60)
    sim.apply_env()  # before pyepics makes its context
    sim.start()
    print(f"sim {sim.process.pid}", flush=True)
    from usaxs_bluesky.plans.usaxs import uascan
    from usaxs_bluesky.session import make_session

    session = make_session(data_dir, connect_timeout=30, reduce_live=False)

    def report(name: str, doc: dict) -> None:
        if name == "event":
            print(f"event {doc['seq_num']}", flush=True)
        elif name == "stop":
            print(f"stop {doc['exit_status']} {doc.get('reason', '')}", flush=True)

    session.RE.subscribe(report)
    session.instrument.user_data.user_name.put("worker", wait=True)
    try:
        session.RE(uascan(session.instrument, title="dead", thickness_mm=1.0,
                          intervals=intervals, count_time=0.05))  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - reported to the parent test
        print(f"raised {type(exc).__name__}: {' '.join(str(exc).split())}", flush=True)
        cause = exc.__cause__ or exc.__context__
        if cause is not None:
            print(f"after {type(cause).__name__}: {' '.join(str(cause).split())}", flush=True)
    session.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
