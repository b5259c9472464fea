"""bluesky-httpserver on loopback in front of RE Manager: API key required, users' allow list."""

import pytest
from bluesky_queueserver_api import BPlan
from bluesky_queueserver_api.http import REManagerAPI

from usaxs_bluesky.queue.http import HttpServerProcess


@pytest.fixture(scope="module")
def http_server(re_manager, tmp_path_factory):
    """The HTTP door (group users) to the session's RE Manager."""
    server = HttpServerProcess(
        config_dir=tmp_path_factory.mktemp("http"),
        control_addr=re_manager.control_addr,
        info_addr=re_manager.info_addr,
    )
    with server:
        yield server


def _client(server, key):
    api = REManagerAPI(http_server_uri=server.uri)
    api.set_authorization_key(api_key=key)
    return api


def test_a_request_without_the_key_is_refused(http_server, queue_api):
    for key in ("0123456789abcdef", None):
        api = REManagerAPI(http_server_uri=http_server.uri)
        if key:
            api.set_authorization_key(api_key=key)
        with pytest.raises(api.HTTPClientError, match="401"):
            api.item_add(BPlan("saxsExp", 1.0, 0.0, 1.0, "no key", user_name="ana"))
        api.close()
    assert queue_api.queue_get()["items"] == []


def test_the_key_submits_as_the_users_group(http_server, queue_api):
    api = _client(http_server, http_server.api_key)
    try:
        assert api.status()["worker_environment_exists"]
        api.item_add(BPlan("saxsExp", 1.0, 0.0, 1.0, "through http", user_name="ana"))
        with pytest.raises(api.RequestFailedError, match="not in the list of allowed plans"):
            api.item_add(BPlan("tune_ar"))
    finally:
        api.close()
    (item,) = queue_api.queue_get()["items"]
    assert (item["name"], item["user_group"]) == ("saxsExp", "users")
    queue_api.queue_clear()


def test_a_key_with_other_characters_is_rejected(tmp_path):
    server = HttpServerProcess(
        config_dir=tmp_path, control_addr="tcp://127.0.0.1:1", info_addr="tcp://127.0.0.1:2",
        api_key="key with spaces",
    )  # fmt: skip
    with pytest.raises(ValueError, match="letters and digits"):
        server.write_config()
