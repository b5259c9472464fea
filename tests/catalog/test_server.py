"""``usaxs serve`` over HTTP: a key sees its user's or proposal's runs only; staff all.

The catalog of runs is mounted under ``usaxs``; keys travel in headers only.
"""

from __future__ import annotations

from functools import partial

import httpx
import pytest
from bluesky_tiled_plugins import TiledWriter
from event_model import compose_run
from tiled.client import from_uri

from usaxs_bluesky.catalog import DEFAULT_MOUNT
from usaxs_bluesky.catalog.access import load_keys
from usaxs_bluesky.catalog.http_rules import MAX_HEADER_BYTES
from usaxs_bluesky.catalog.store import open_catalog

from .served import usaxs_serve

#: httpx's default 5 s timeout is too short for a server on a loaded machine
http_get = partial(httpx.get, timeout=60)

KEYS = {
    "alice": "alice_key_0123456789abcdef",
    "bob_proposal": "proposal_2002_key_0123456789",
    "pipeline": "pipeline_key_0123456789abcdef",
    "pipeline_1001": "pipeline_1001_key_0123456789",
    "staff": "staff_key_0123456789abcdef",
}


@pytest.fixture(scope="module")
def server(filled, tmp_path_factory):
    """``usaxs serve`` on a free loopback port over the filled catalog; yields its URL."""
    keys = tmp_path_factory.mktemp("keys") / "keys.yml"
    keys.write_text(
        "keys:\n"
        f"  {KEYS['alice']}: {{user: alice}}\n"
        f"  {KEYS['bob_proposal']}: {{proposals: [2002]}}\n"
        f"  {KEYS['pipeline']}: {{pipeline: true}}\n"
        f"  {KEYS['pipeline_1001']}: {{pipeline: true, proposals: [1001]}}\n"
        f"  {KEYS['staff']}: {{staff: true}}\n"
    )
    with usaxs_serve(filled.data_dir, keys) as url:
        yield url


def _users(url: str, key: str) -> list[str]:
    client = open_catalog(uri=url, api_key=key)
    return sorted(client[uid].metadata["start"]["user_name"] for uid in client)


def test_user_sees_only_own_runs(server, filled):
    assert _users(server, KEYS["alice"]) == ["alice", "alice"]
    client = open_catalog(uri=server, api_key=KEYS["alice"])
    bob_uid = filled.uids[2]
    assert bob_uid not in client
    with pytest.raises(KeyError):
        client[bob_uid]
    r = http_get(
        f"{server}/api/v1/metadata/{DEFAULT_MOUNT}/{bob_uid}",
        headers={"Authorization": f"Apikey {KEYS['alice']}"},
    )
    assert r.status_code == 404
    own = client[filled.uids[0]]
    assert own.metadata["usaxs_files"][0]["kind"] == "raw"


def test_catalog_is_mounted_and_a_catalog_of_runs(server):
    root = from_uri(server, api_key=KEYS["alice"])
    assert list(root) == [DEFAULT_MOUNT]
    catalog = from_uri(f"{server}/api/v1/metadata/{DEFAULT_MOUNT}", api_key=KEYS["alice"])
    assert type(catalog).__name__ == "CatalogOfBlueskyRuns"
    assert [(s.name, s.version) for s in catalog.specs] == [("CatalogOfBlueskyRuns", "3.0")]


def test_proposal_key_sees_the_proposal(server):
    assert _users(server, KEYS["bob_proposal"]) == ["bob", "bob"]


def test_pipeline_keys_read_all_or_their_proposals(server, filled):
    assert _users(server, KEYS["pipeline"]) == ["alice", "alice", "bob", "bob", "carol"]
    assert _users(server, KEYS["pipeline_1001"]) == ["alice", "alice"]
    catalog = open_catalog(uri=server, api_key=KEYS["pipeline"])
    with pytest.raises(Exception, match="403|[Nn]ot enough|scope|[Ff]orbidden"):
        catalog[filled.uids[0]].update_metadata({"title": "changed by the pipeline"})
    assert catalog[filled.uids[0]].metadata["start"]["title"] == "Glassy Carbon 1"


def test_staff_sees_all(server):
    assert _users(server, KEYS["staff"]) == ["alice", "alice", "bob", "bob", "carol"]


def test_no_key_or_wrong_key_gets_nothing(server, filled):
    for headers in ({}, {"Authorization": "Apikey not_a_known_key_0123456789"}):
        for path in (
            "search/",
            f"search/{DEFAULT_MOUNT}",
            f"metadata/{DEFAULT_MOUNT}/{filled.uids[0]}",
        ):
            r = http_get(f"{server}/api/v1/{path}", headers=headers)
            assert r.status_code == 401, (headers, path, r.text)
            assert "alice" not in r.text


def test_api_key_in_the_url_refused(server, filled):
    for path in (f"search/{DEFAULT_MOUNT}", f"metadata/{DEFAULT_MOUNT}/{filled.uids[0]}"):
        r = http_get(f"{server}/api/v1/{path}", params={"api_key": KEYS["staff"]})
        assert r.status_code == 400, r.text
        assert "Authorization" in r.json()["detail"] and "alice" not in r.text


def test_huge_headers_refused(server):
    big = {"Authorization": f"Apikey {KEYS['staff']}", "X-Filler": "x" * (2 * MAX_HEADER_BYTES)}
    try:
        r = http_get(f"{server}/api/v1/search/{DEFAULT_MOUNT}", headers=big)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        pass  # the server may reset the connection before the client reads its 431: refused
    else:
        assert r.status_code in (400, 431), r.status_code
        assert "alice" not in r.text
    ok = http_get(f"{server}/api/v1/search/{DEFAULT_MOUNT}", headers={**big, "X-Filler": "x"})
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "body, message",
    [
        ("keys:\n  short: {user: alice}\n", "at least 16 letters"),
        ("keys:\n  long_enough_key_0123: {}\n", "give user, proposals, pipeline"),
        ("keys:\n  long_enough_key_0123: {staff: 'false'}\n", "staff is true or false"),
        ("keys:\n  long_enough_key_0123: {staff: true, pipeline: true}\n", "not both"),
        ("keys:\n  long_enough_key_0123: {user: a, admin: true}\n", "allowed fields are"),
        (
            "keys:\n  long_enough_key_0123: {user: a}\n  other_long_key_0123: {user: b, name: a}\n",
            "name 'a' is taken",
        ),
    ],
)
def test_keys_file_checked(tmp_path, body, message):
    bad = tmp_path / "keys.yml"
    bad.write_text(body)
    with pytest.raises(ValueError, match=message):
        load_keys(bad)


def test_selected_metadata_at_top_and_under_selected(server):
    r = http_get(
        f"{server}/api/v1/search/{DEFAULT_MOUNT}",
        params={
            "select_metadata": "{title:start.title}",
            "filter[eq][condition][key]": "user_name",
            "filter[eq][condition][value]": '"alice"',
            "sort": "time",
        },  # fmt: skip
        headers={"Authorization": f"Apikey {KEYS['alice']}", "Accept-Encoding": "gzip"},
    )
    assert r.status_code == 200, r.text
    metadata = [item["attributes"]["metadata"] for item in r.json()["data"]]
    assert [m["title"] for m in metadata] == ["water_blank", "Glassy Carbon 1"]
    assert [m["selected"] for m in metadata] == [
        {"title": t} for t in ("water_blank", "Glassy Carbon 1")
    ]


def test_staff_writes_a_run_through_the_server(server):
    """A session's TiledWriter on the served catalog (staff key); the user reads it back."""
    writer = TiledWriter(open_catalog(uri=server, api_key=KEYS["staff"]))
    bundle = compose_run(
        metadata={"user_name": "alice", "title": "via server", "plan_name": "count"}
    )
    writer("start", bundle.start_doc)
    keys = {"I0": {"dtype": "number", "shape": [], "source": "PV:I0"}}
    desc = bundle.compose_descriptor(name="primary", data_keys=keys)
    writer("descriptor", desc.descriptor_doc)
    writer("event", desc.compose_event(data={"I0": 7.0}, timestamps={"I0": 0.0}))
    writer("stop", bundle.compose_stop())
    run = open_catalog(uri=server, api_key=KEYS["alice"])[bundle.start_doc["uid"]]
    assert list(run["primary"].read()["I0"].values) == [7.0]
    assert bundle.start_doc["uid"] not in open_catalog(uri=server, api_key=KEYS["bob_proposal"])
