"""The live page in a real headless Chromium while the simulator runs a small command file."""

from __future__ import annotations

import threading
import time

import pytest
from browser import chromium, png_size, require_chromium
from conftest import live_process
from page_state import page_state
from plan_runner import DEADLINE_S, poll

from usaxs_bluesky.plans.command_file import run_command_file
from usaxs_bluesky.plans.suspenders import install_beam_suspenders

KEY = "test_user_live_key_0123456789"
COMMANDS = """\
# live page test: blanks, then one sample by USAXS, SAXS and WAXS
saxs     0   0  1.0  "Air blank"
waxs     0   0  1.0  "Air blank"
flyscan  0   0  1.0  "Air blank"
flyscan  20  0  1.0  "Spheres live"
saxs     20  0  1.0  "Spheres live"
waxs     20  0  1.0  "Spheres live"
"""
SAMPLE_FLY_LINE = 5
#: a reduced curve must be on the page this long (s) after its file was recorded
CURVE_DEADLINE_S = 10.0
#: how often the test looks at the page (s)
LOOK_S = 0.05


@pytest.fixture(scope="module")
def live_sim(usaxs_session, tmp_path_factory):
    """``usaxs live`` (PV monitor on the sim, catalog of the session) with a key for test_user."""
    require_chromium()
    keys = tmp_path_factory.mktemp("live_keys") / "keys.yml"
    keys.write_text(f"keys:\n  {KEY}: {{user: test_user}}\n")
    args = ["--refresh-ms", "300", "--catalog-poll", "0.2"]
    with live_process(usaxs_session.data_dir, *args, keys=keys) as url:
        yield url


class Watcher(threading.Thread):
    """Reads the page every :data:`LOOK_S` s and keeps what it saw, until stopped."""

    def __init__(self, driver) -> None:
        super().__init__(daemon=True)
        self.driver = driver
        self.seen: list[dict] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        while not self.done.is_set():
            try:
                state = page_state(self.driver)
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.error = exc
                return
            with self.lock:
                self.seen.append(state)
            time.sleep(LOOK_S)

    def latest(self) -> dict:
        with self.lock:
            return self.seen[-1] if self.seen else {}

    def stop(self) -> list[dict]:
        self.done.set()
        self.join(30)
        return self.seen


def test_open_page_follows_the_command_file(live_sim, usaxs_session, sim_ioc, tmp_path):
    import epics

    session = usaxs_session
    commands = session.data_dir / "commands" / "live_commands.txt"
    commands.parent.mkdir(parents=True, exist_ok=True)
    commands.write_text(COMMANDS)
    recorded: list[tuple[str, str, float]] = []  # (uid, kind, when) of files the reducer wrote
    starts: dict[str, dict] = {}
    original_on_file = session.reducer.on_file

    def on_file(uid, path, kind):
        original_on_file(uid, path, kind)
        recorded.append((uid, kind, time.monotonic()))

    suspension: dict[str, object] = {}

    def beam_thief(watcher: Watcher) -> None:
        """Drop the beam during the sample's fly scan; restore it once the page shows it."""
        beam = sim_ioc.pv("usxSIM:beam_available")
        try:
            epics.caput(beam, 0, wait=True)
            poll(lambda: watcher.latest().get("suspension"), "the page to show the suspension")
            suspension["shown"] = watcher.latest()["suspension"]
        except Exception as exc:  # noqa: BLE001 - reported by the test
            suspension["error"] = exc
        finally:
            epics.caput(beam, 1, wait=True)

    baseline: set[str] = set()  # descriptor uid of the sample fly scan's baseline stream

    def on_document(name, doc):
        """Drop the beam once the sample's fly scan has read its baseline (it is flying then)."""
        if name == "start":
            starts[doc["uid"]] = doc
        elif name == "descriptor" and doc["name"] == "baseline":
            if starts[doc["run_start"]].get("command_line") == SAMPLE_FLY_LINE:
                baseline.add(doc["uid"])
        elif name == "event" and doc["descriptor"] in baseline and "thief" not in suspension:
            suspension["thief"] = threading.Thread(target=beam_thief, args=(watcher,), daemon=True)
            suspension["thief"].start()

    with chromium(tmp_path / "profile") as driver:
        driver.get(f"{live_sim}/?api_key={KEY}")
        poll(lambda: page_state(driver)["polls"] >= 1, "the page's first update")
        watcher = Watcher(driver)
        watcher.start()
        suspenders = install_beam_suspenders(session.RE, session.instrument, resume_delay_s=0.2)
        token = session.RE.subscribe(on_document)
        session.reducer.on_file = on_file
        try:
            session.RE(run_command_file(session.instrument, commands, user_name="test_user"))
            assert session.reducer.join(timeout=120), "reduction did not finish"
        finally:
            session.reducer.on_file = original_on_file
            session.RE.unsubscribe(token)
            for s in suspenders:
                session.RE.remove_suspender(s)
        suspension["thief"].join(DEADLINE_S)
        assert "error" not in suspension, suspension
        assert "no beam" in suspension["shown"]

        sample_runs = {u: d for u, d in starts.items() if d["title"] == "Spheres live"}
        by_plan = {d["plan_name"]: u for u, d in sample_runs.items()}
        reduced = {uid: when for uid, kind, when in recorded if kind == "reduced"}
        for plan, technique in (("Flyscan", "USAXS"), ("SAXS", "SAXS"), ("WAXS", "WAXS")):
            uid = by_plan[plan]
            assert uid in reduced, f"{plan} run of the sample was not reduced"
            left = max(0.0, reduced[uid] + CURVE_DEADLINE_S - time.monotonic())
            poll(
                lambda uid=uid, t=technique: uid in watcher.latest()["uids"][t].split(),
                f"the {technique} curve of run {uid[:8]} on the page",
                deadline_s=left,
            )
        poll(lambda: watcher.latest()["suspension"] is None, "the suspension to clear")
        poll(lambda: watcher.latest()["frames"]["SAXS"] == by_plan["SAXS"], "the SAXS frame")
        poll(lambda: watcher.latest()["frames"]["WAXS"] == by_plan["WAXS"], "the WAXS frame")
        every = {u for u in starts}
        poll(
            lambda: every <= {u for u, s in watcher.latest()["runs"] if s == "success"},
            "every run in the table as success",
        )
        seen = watcher.stop()
        assert watcher.error is None, watcher.error
        screenshot = tmp_path / "live_page.png"
        assert driver.save_screenshot(str(screenshot))

    lines = [s["current"] for s in seen if s["current"] is not None]
    assert lines == sorted(lines), "the highlighted command line went backwards"
    assert SAMPLE_FLY_LINE in lines and len(set(lines)) >= 2, sorted(set(lines))
    progress = [s["run"] for s in seen if "points" in s["run"] and "s left" in s["run"]]
    assert progress, "no points done / total and time left seen"
    assert any(s["traces"]["SAXS"] > 0 and s["svgTraces"] > 0 for s in seen)
    width, height = png_size(screenshot)
    assert width >= 800 and height >= 600 and screenshot.stat().st_size > 20_000
