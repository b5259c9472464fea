"""``usaxs serve`` over HTTP: a key sees its user's or proposal's runs only; staff all."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from tiled.client import from_uri

from usaxs_bluesky.catalog.access import load_keys

KEYS = {
    "alice": "alice_key_0123456789abcdef",
    "bob_proposal": "proposal_2002_key_0123456789",
    "staff": "staff_key_0123456789abcdef",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(filled, tmp_path_factory):
    """``usaxs serve`` on a free loopback port over the filled catalog; yields its URL."""
    keys = tmp_path_factory.mktemp("keys") / "keys.yml"
    keys.write_text(
        "keys:\n"
        f"  {KEYS['alice']}: {{user: alice}}\n"
        f"  {KEYS['bob_proposal']}: {{proposals: [2002]}}\n"
        f"  {KEYS['staff']}: {{staff: true}}\n"
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "usaxs_bluesky.cli", "serve", "--port", str(port),
           "--data-dir", str(filled.data_dir), "--keys", str(keys)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()
            try:
                httpx.get(f"{url}/api/v1/", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not answer in 60 s"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _users(url: str, key: str) -> list[str]:
    client = from_uri(url, api_key=key)
    return sorted(client[uid].metadata["start"]["user_name"] for uid in client)


def test_user_sees_only_own_runs(server, filled):
    assert _users(server, KEYS["alice"]) == ["alice", "alice"]
    client = from_uri(server, api_key=KEYS["alice"])
    bob_uid = filled.uids[2]
    assert bob_uid not in client
    with pytest.raises(KeyError):
        client[bob_uid]
    r = httpx.get(
        f"{server}/api/v1/metadata/{bob_uid}", headers={"Authorization": f"Apikey {KEYS['alice']}"}
    )
    assert r.status_code == 404
    own = client[filled.uids[0]]
    assert own.metadata["usaxs_files"][0]["kind"] == "raw"


def test_proposal_key_sees_the_proposal(server):
    assert _users(server, KEYS["bob_proposal"]) == ["bob", "bob"]


def test_staff_sees_all(server):
    assert _users(server, KEYS["staff"]) == ["alice", "alice", "bob", "bob", "carol"]


def test_no_key_or_wrong_key_gets_nothing(server, filled):
    for headers in ({}, {"Authorization": "Apikey not_a_known_key_0123456789"}):
        for path in ("search/", f"metadata/{filled.uids[0]}"):
            r = httpx.get(f"{server}/api/v1/{path}", headers=headers)
            assert r.status_code == 401, (headers, path, r.text)
            assert "alice" not in r.text


def test_keys_file_checked(tmp_path):
    bad = tmp_path / "keys.yml"
    bad.write_text("keys:\n  short: {user: alice}\n")
    with pytest.raises(ValueError, match="at least 16 letters"):
        load_keys(bad)
    bad.write_text("keys:\n  long_enough_key_0123: {}\n")
    with pytest.raises(ValueError, match="give user, proposals or staff"):
        load_keys(bad)
