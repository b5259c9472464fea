"""Run one uascan in this process on the sim (CA environment inherited); print each event.

``python scan_worker.py DATA_DIR INTERVALS [TITLE [RAW_DIR]]``: prints
``event <seq_num>`` lines as the points are taken, ``stop <exit_status>
<reason>`` at the end, ``raised <error>`` if the plan raised (exit code 0
still: a crash at exit shows as another code); ``error <message>`` if the
session cannot be made. ``RAW_DIR``: where the raw files go instead of
``DATA_DIR``.
"""

from __future__ import annotations

import sys


def main(data_dir: str, intervals: int, title: str = "worker", raw_dir: str = "") -> int:
    from usaxs_bluesky.plans.usaxs import uascan
    from usaxs_bluesky.session import make_session

    try:
        session = make_session(data_dir, connect_timeout=30, reduce_live=False)
    except Exception as exc:  # noqa: BLE001 - the parent test asserts on it
        print(f"error {type(exc).__name__}: {exc}", flush=True)
        return 2
    print("ready", flush=True)

    def report(name: str, doc: dict) -> None:
        if name == "event":
            print(f"event {doc['seq_num']}", flush=True)
        elif name == "start":
            print(f"start {doc['scan_id']} {doc['uid']}", flush=True)
        elif name == "stop":
            print(f"stop {doc['exit_status']} {doc.get('reason', '')}", flush=True)

    session.RE.subscribe(report)
    session.instrument.user_data.user_name.put("worker", wait=True)
    if raw_dir:
        session.instrument.data_root.put(raw_dir)
    try:
        session.RE(uascan(session.instrument, title=title, thickness_mm=1.0, intervals=intervals,
                          count_time=0.05))  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - reported to the parent test
        print(f"raised {type(exc).__name__}: {exc}", flush=True)
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:]))
