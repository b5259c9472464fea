"""``usaxs live`` over HTTP: no key sees status only, a key its runs, staff all; 401; no escape."""

from __future__ import annotations

import httpx
import pytest
from conftest import ALL_HOURS, KEYS, live_process, write_keys
from plan_runner import poll


@pytest.fixture(scope="module")
def server(live_data, tmp_path_factory):
    """``usaxs live`` (no PV monitor) over the live catalog with the keys of :data:`KEYS`."""
    keys = write_keys(tmp_path_factory.mktemp("keys") / "keys.yml")
    args = ["--no-pvs", "--session-hours", str(ALL_HOURS)]
    with live_process(live_data.data_dir, *args, keys=keys) as url:
        staff = {"Authorization": f"Apikey {KEYS['staff']}"}
        poll(lambda: len(httpx.get(f"{url}/api/runs", headers=staff).json()["runs"]) == 5,
             "the feed to list the 5 runs")  # fmt: skip
        yield url


def get(url: str, key: str | None = None, **kw) -> httpx.Response:
    headers = {"Authorization": f"Apikey {key}"} if key else {}
    return httpx.get(url, headers=headers, timeout=10, **kw)


def users_seen(server: str, key: str | None) -> list[str]:
    return sorted(r["user"] for r in get(f"{server}/api/runs", key).json()["runs"])


def test_no_key_sees_status_only(server, live_data):
    status = get(f"{server}/api/status")
    assert status.status_code == 200
    assert status.json()["viewer"] == "public"
    assert get(f"{server}/api/runs").json()["runs"] == []
    latest = get(f"{server}/api/latest").json()
    assert all(runs == [] for runs in latest["plots"].values())
    assert set(latest["frames"].values()) == {None}
    uid = live_data.uid_of("alice")[0]
    for path in (
        f"/api/runs/{uid}/curves",
        f"/api/runs/{uid}/files/0",
        f"/api/runs/{uid}/frame.png",
    ):
        assert get(server + path).status_code == 404, path
    page = get(f"{server}/")
    assert page.status_code == 200 and "plotly.min.js" in page.text


def test_user_sees_own_runs_only(server, live_data):
    assert users_seen(server, KEYS["alice"]) == ["alice", "alice"]
    assert users_seen(server, KEYS["bob_proposal"]) == ["bob", "bob"]
    assert users_seen(server, KEYS["staff"]) == ["alice", "alice", "bob", "bob", "carol"]


def test_user_a_never_reaches_user_b(server, live_data):
    alice, bob = KEYS["alice"], live_data.uid_of("bob")
    latest = get(f"{server}/api/latest", alice).json()
    plotted = {run["uid"] for runs in latest["plots"].values() for run in runs}
    assert plotted == set(live_data.uid_of("alice"))
    for uid in bob:
        for path in ("curves", "files/0", "files/2", "frame.png"):
            r = get(f"{server}/api/runs/{uid}/{path}", alice)
            assert r.status_code == 404, (path, r.text)
        r = get(f"{server}/api/runs/{uid}/files/0", params={"api_key": alice})
        assert r.status_code == 404
    # bob's key (by proposal) downloads his file; the bytes are the recorded file's
    r = get(f"{server}/api/runs/{bob[0]}/files/0", KEYS["bob_proposal"])
    assert r.status_code == 200
    assert r.content == live_data.filled.files[bob[0]][0].read_bytes()


def test_own_curves_and_download(server, live_data):
    uid = live_data.uid_of("alice")[0]
    body = get(f"{server}/api/runs/{uid}/curves", KEYS["alice"]).json()
    (curve,) = body["curves"]
    assert curve["absolute"] and curve["units"] == "1/cm"
    assert curve["blank"] == "Air_blank.h5"
    assert len(curve["q"]) == 38  # the nan and the negative point are not sent
    assert all(i > 0 for i in curve["i"])
    files = get(f"{server}/api/runs", KEYS["alice"]).json()["runs"]
    row = next(r for r in files if r["uid"] == uid)
    index = next(f["index"] for f in row["files"] if f["name"].endswith(".nxcansas.h5"))
    r = get(f"{server}/api/runs/{uid}/files/{index}", params={"api_key": KEYS["alice"]})
    assert r.status_code == 200
    assert r.content == live_data.curves[uid].read_bytes()
    assert get(f"{server}/api/runs/{uid}/files/99", KEYS["alice"]).status_code == 404
    assert get(f"{server}/api/runs/{uid}/files/-1", KEYS["alice"]).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/api/status", "/api/runs", "/api/latest", "/", "/static/live.js", "/api/runs/x/curves"],
)
def test_wrong_key_is_401(server, path):
    assert get(server + path, "not_a_key_0123456789abcdef").status_code == 401
    assert get(server + path, params={"api_key": "wrong"}).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/static/..%2Fapp.py",
        "/static/../app.py",
        "/static/%2e%2e/%2e%2e/catalog/access.py",
        "/api/runs/..%2F..%2Fetc%2Fpasswd/files/0",
        "/api/runs/../../etc/passwd",
        "/api/runs/%2Fetc%2Fpasswd/curves",
        "/api/runs/x/files/..%2F..%2Fetc%2Fpasswd",
    ],
)
def test_no_path_reaches_outside(server, path):
    r = get(server + path, KEYS["staff"])
    assert r.status_code == 404, r.text
    assert "root:" not in r.text and "import" not in r.text


def test_recorded_file_outside_data_dir_is_refused(live_data, tmp_path_factory, tmp_path):
    """A catalog entry naming a file outside the data directory (or a symlink out) is not served."""
    from usaxs_bluesky.catalog.files import FileRecord, record_files

    outside = tmp_path_factory.mktemp("outside") / "secret.h5"
    outside.write_bytes(b"secret")
    uid = live_data.uid_of("carol")[0]
    link = live_data.data_dir / "files" / "carol" / "link.h5"
    link.symlink_to(outside)
    records = [FileRecord(str(p), "raw", "0" * 64, 6) for p in (outside, link)]  # as recorded
    record_files(live_data.filled.catalog, uid, records)
    keys = write_keys(tmp_path / "keys.yml")
    args = ["--no-pvs", "--session-hours", str(ALL_HOURS)]
    with live_process(live_data.data_dir, *args, keys=keys) as url:

        def carol_files():
            rows = get(f"{url}/api/runs", KEYS["staff"]).json()["runs"]
            return next((r["files"] for r in rows if r["uid"] == uid), [])

        poll(lambda: len(carol_files()) >= 4, "carol's run with its files")
        names = {f["name"]: f["index"] for f in carol_files()}
        for name in ("secret.h5", "link.h5"):
            r = get(f"{url}/api/runs/{uid}/files/{names[name]}", KEYS["staff"])
            assert r.status_code == 404 and b"secret" not in r.content


def test_public_runs_when_staff_says_so(live_data):
    args = ["--no-pvs", "--session-hours", str(ALL_HOURS), "--public-runs"]
    with live_process(live_data.data_dir, *args) as url:
        poll(lambda: len(get(f"{url}/api/runs").json()["runs"]) == 5, "public runs")
        assert get(f"{url}/api/runs", KEYS["alice"]).status_code == 401  # no keys file
