"""Kill and restart a simulator under a connected pyepics client; print when it reconnects.

``python reconnect_worker.py DEADLINE_S DOWN_S``: prints ``connected``,
``disconnected``, then (the IOC restarted on its port after ``DOWN_S`` s down)
``reconnected <seconds from the restart>`` or ``gave up after <seconds>``.
"""

from __future__ import annotations

import sys
import time

from usaxs_sim.launcher import SimProcess

POLL_S = 0.05


def wait_for(condition, deadline_s: float) -> float | None:
    """Return the seconds until ``condition()`` held, None past ``deadline_s``."""
    t0 = time.monotonic()
    while not condition():
        if time.monotonic() - t0 > deadline_s:
            return None
        time.sleep(POLL_S)
    return time.monotonic() - t0


def main(deadline_s: float, down_s: float) -> int:
    sim = SimProcess(time_scale=0.02, seed=5, timeout=60)
    sim.apply_env()  # before pyepics makes its context
    sim.start()
    import epics

    pv = epics.PV(sim.pv("usxSIM:ready"))
    assert pv.wait_for_connection(30)
    print("connected", flush=True)
    sim.process.kill()
    sim.process.wait(30)
    assert wait_for(lambda: not pv.connected, 60) is not None
    print("disconnected", flush=True)
    time.sleep(down_s)  # the outage itself: long enough for the client's searches to back off
    again = SimProcess(port=sim.port, repeater_port=sim.repeater_port, time_scale=0.02, seed=5,
                       timeout=60)  # fmt: skip
    t0 = time.monotonic()
    again.start()
    seconds = wait_for(lambda: pv.connected, deadline_s)
    seconds = None if seconds is None else time.monotonic() - t0
    print(f"reconnected {seconds:.1f}" if seconds is not None else f"gave up after {deadline_s}",
          flush=True)  # fmt: skip
    again.stop()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]), float(sys.argv[2])))
