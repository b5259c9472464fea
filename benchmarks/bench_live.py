"""The live page on the simulator: page load, update latency, and RunEngine cost of the monitor.

Run: python benchmarks/bench_live.py [--repeat 3]
Needs Debian's chromium + chromium-driver and selenium (as the browser tests).
Measures, with a session on the simulator (time scale 0.02) and ``usaxs live``
in its own process (default refresh 2 s, catalog read every 1 s):

- page load: navigation start to the first complete update with curves drawn;
- update latency: a run's stop document, and its reduced file being recorded,
  to its curve being on the already open page;
- RunEngine per-point time of a uascan with and without ``usaxs live`` (its
  PV monitors) running, and their ratio.

Prints a table; no asserts. Data go to a new temporary folder (printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "livepage")]

from bench_plans import point_interval  # noqa: E402
from browser import chromium  # noqa: E402
from page_state import page_state  # noqa: E402
from usaxs_sim.launcher import SimProcess, free_port  # noqa: E402

TIME_SCALE = 0.02
STEP_POINTS = 30
COUNT_TIME = 0.1
LOOK_S = 0.02


def wait_for(condition, what: str, deadline_s: float = 120.0) -> float:
    """Poll ``condition`` every :data:`LOOK_S`; return the time (perf_counter) it first held."""
    end = time.perf_counter() + deadline_s
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError(what)
        time.sleep(LOOK_S)
    return time.perf_counter()


def start_live(data_dir: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    cmd = [sys.executable, "-m", "usaxs_bluesky.cli", "live", "--data-dir", str(data_dir),
           "--port", str(port), "--public-runs"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/api/status", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, "usaxs live")
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_live_"))
    print(f"data in {folder}")
    with SimProcess(time_scale=TIME_SCALE) as sim:
        os.environ.update(sim.client_env)
        from usaxs_bluesky.plans.command_file import run_command_file
        from usaxs_bluesky.plans.usaxs import uascan
        from usaxs_bluesky.session import make_session

        session = make_session(folder / "data", connect_timeout=60)
        inst, RE = session.instrument, session.RE
        inst.user_data.user_name.put("bench", wait=True)
        commands = folder / "commands.txt"

        def measure(line: str) -> str:
            """Run ``line`` as a command file (with its transmission); return the SAXS run uid."""
            commands.write_text(line + "\n")
            uids: list[str] = []
            token = RE.subscribe(
                lambda name, doc: doc["plan_name"] == "SAXS" and uids.append(doc["uid"]), "start"
            )
            try:
                RE(run_command_file(inst, commands, user_name="bench"))
            finally:
                RE.unsubscribe(token)
            return uids[-1]

        measure('saxs 0 0 1.0 "Air blank"')
        session.reducer.join(timeout=120)
        live, url = start_live(session.data_dir)
        rows: list[tuple[str, str]] = []
        try:
            with chromium(folder / "profile") as driver:
                loads = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    driver.get(f"{url}/")
                    t1 = wait_for(
                        lambda: page_state(driver)["traces"]["SAXS"] > 0, "page with a curve"
                    )
                    loads.append(t1 - t0)
                rows.append(
                    ("page load to first curve (s, median)", f"{statistics.median(loads):.2f}")
                )
                from_stop, from_file = [], []
                stops: dict[str, float] = {}
                files: dict[str, float] = {}
                token = RE.subscribe(
                    lambda name, doc: stops.setdefault(doc["run_start"], time.perf_counter()),
                    "stop",
                )
                original = session.reducer.on_file

                def on_file(uid, path, kind):
                    original(uid, path, kind)
                    if kind == "reduced":
                        files.setdefault(uid, time.perf_counter())

                session.reducer.on_file = on_file
                try:
                    for n in range(args.repeat):
                        uid = measure(f'saxs 20 0 1.0 "sample {n}"')
                        shown = wait_for(
                            lambda uid=uid: uid in page_state(driver)["uids"]["SAXS"].split(),
                            "curve on the page",
                        )
                        from_stop.append(shown - stops[uid])
                        from_file.append(shown - files[uid])
                finally:
                    RE.unsubscribe(token)
                    session.reducer.on_file = original
                rows.append(
                    ("run stop to curve on page (s, median)", f"{statistics.median(from_stop):.2f}")
                )
                rows.append(
                    (
                        "reduced file recorded to curve on page (s, median)",
                        f"{statistics.median(from_file):.2f}",
                    )
                )
        finally:
            stop(live)

        def per_point() -> float:
            plan = uascan(inst, title="bench", thickness_mm=1.0, intervals=STEP_POINTS,
                          count_time=COUNT_TIME)  # fmt: skip
            return point_interval(RE, plan)

        without, with_monitor = [], []
        for _ in range(args.repeat):
            without.append(per_point())
            live, _ = start_live(session.data_dir)
            try:
                time.sleep(3.0)  # monitors connected and the page server idle-polling the catalog
                with_monitor.append(per_point())
            finally:
                stop(live)
        a, b = statistics.median(without), statistics.median(with_monitor)
        rows.append(
            (
                f"uascan point time without usaxs live (ms, median of {args.repeat})",
                f"{1e3 * a:.1f}",
            )
        )
        rows.append(("uascan point time with usaxs live running (ms)", f"{1e3 * b:.1f}"))
        rows.append(("ratio with / without", f"{b / a:.3f}"))
        session.close()
        import epics

        epics.ca.finalize_libca()
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:{width}}  {value}")


if __name__ == "__main__":
    main()
