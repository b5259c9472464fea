"""The page keeps working when the IOC or the catalog server goes away, and recovers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import httpx
from browser import chromium, require_chromium
from conftest import ALL_HOURS, KEYS, live_process, write_keys
from page_state import page_state
from plan_runner import poll
from usaxs_sim.launcher import SimProcess, free_port


def status(url: str) -> dict:
    return httpx.get(f"{url}/api/status", timeout=10).json()


def item(body: dict, name: str):
    return next(i["value"] for i in body["items"] if i["name"] == name)


#: the IOC's port stays in TIME_WAIT up to 60 s; CA searches back off to 60 s at most
RECONNECT_S = 150.0
#: CA client settings of the live process: searches of lost channels at least every 60 s
CA_SEARCH = {"EPICS_CA_MAX_SEARCH_PERIOD": "60"}


def restart_on(port: int, repeater: int) -> SimProcess:
    """A new simulator on the same ports, started as soon as the old ports can be bound."""
    box: list[SimProcess] = []

    def started() -> bool:
        try:
            box.append(SimProcess(port=port, repeater_port=repeater, time_scale=0.02).start())
        except RuntimeError as exc:
            assert "already in use" in str(exc), exc
            return False
        return True

    poll(started, f"port {port} to be free again", RECONNECT_S)
    return box[0]


def test_ioc_goes_away_and_comes_back(live_empty_catalog, tmp_path):
    require_chromium()
    data_dir = tmp_path / "data"
    shutil.copytree(live_empty_catalog, data_dir)
    sim = SimProcess(time_scale=0.02).start()
    port, repeater = sim.port, sim.repeater_port
    try:
        with (
            live_process(
                data_dir, "--refresh-ms", "200", env={**sim.client_env, **CA_SEARCH}
            ) as url,
            chromium(tmp_path / "profile") as driver,
        ):
            poll(lambda: status(url)["pv_stale_since"] is None, "every PV connected")
            poll(lambda: item(status(url), "ring_current") is not None, "a ring current")
            driver.get(f"{url}/")
            poll(lambda: page_state(driver)["polls"] >= 1, "the page's first update")
            assert page_state(driver)["stale"] is None
            sim.stop()
            poll(lambda: status(url)["pv_stale_since"] is not None, "the PVs marked stale")
            body = status(url)
            assert "ring_current" in body["pv_disconnected"]
            assert item(body, "ring_current") > 0  # the last value is kept
            poll(
                lambda: "PVs stale since" in (page_state(driver)["stale"] or ""),
                "the page to say stale since",
            )
            assert page_state(driver)["status"]["status-ring_current"].endswith("mA")
            sim = restart_on(port, repeater)
            poll(lambda: status(url)["pv_stale_since"] is None, "the PVs to reconnect", RECONNECT_S)
            poll(lambda: page_state(driver)["stale"] is None, "the stale banner to go")
            assert item(status(url), "ring_current") > 0
    finally:
        sim.stop()


def _serve(data_dir, keys, port) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "usaxs_bluesky.cli", "serve", "--port", str(port),
           "--data-dir", str(data_dir), "--keys", str(keys)]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ
    )

    def up() -> bool:
        assert proc.poll() is None, "usaxs serve exited"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    poll(up, "usaxs serve to answer")
    return proc


def test_catalog_server_goes_away_and_comes_back(live_data, tmp_path):
    keys = write_keys(tmp_path / "keys.yml")
    port = free_port()
    server = _serve(live_data.data_dir, keys, port)
    staff = {"Authorization": f"Apikey {KEYS['staff']}"}
    args = ["--no-pvs", "--session-hours", str(ALL_HOURS), "--catalog-poll", "0.2",
            "--catalog-uri", f"http://127.0.0.1:{port}",
            "--catalog-key", KEYS["staff"]]  # fmt: skip
    try:
        with live_process(live_data.data_dir, *args, keys=keys) as url:

            def runs() -> int:
                return len(httpx.get(f"{url}/api/runs", headers=staff, timeout=10).json()["runs"])

            poll(lambda: runs() == 5, "the 5 runs through the server")
            assert status(url)["catalog_stale_since"] is None
            server.terminate()
            server.wait(timeout=30)
            poll(lambda: status(url)["catalog_stale_since"] is not None, "the catalog marked stale")
            assert status(url)["catalog_error"]
            assert runs() == 5  # the last list is kept
            server = _serve(live_data.data_dir, keys, port)
            poll(lambda: status(url)["catalog_stale_since"] is None, "the catalog to come back")
            assert runs() == 5
    finally:
        server.terminate()
        server.wait(timeout=30)
