"""Hostile metadata request files: refused with one clear message, in bounded memory."""

from __future__ import annotations

import tracemalloc

import pytest

from usaxs_bluesky.cli import main
from usaxs_bluesky.metadata.policy import MetadataError
from usaxs_bluesky.metadata.request_files import load_requests

#: the classic "billion laughs": under 400 bytes, 10**9 strings once expanded
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
PEAK_BYTES = 64 << 20


def _refused(path, match: str) -> str:
    tracemalloc.start()
    try:
        with pytest.raises(MetadataError, match=match) as info:
            load_requests(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"peak {peak} bytes"
    message = str(info.value)
    assert "\n" not in message and "lol" not in message and len(message) < 300
    return message


def test_alias_bomb_refused(tmp_path):
    path = tmp_path / "bomb.yml"
    path.write_text(BOMB)
    assert len(BOMB) < 600
    _refused(path, "alias bomb")


def test_deep_nesting_refused(tmp_path):
    path = tmp_path / "deep.yml"
    path.write_text("items: " + "[" * 50_000 + "]" * 50_000 + "\n")
    _refused(path, "nested deeper than 32 levels")


def test_huge_file_refused(tmp_path):
    path = tmp_path / "huge.yml"
    path.write_text("requested_by: x\n" + "#" * (2 << 20) + "\n")
    _refused(path, "a request file holds at most")


def test_cli_says_it_in_one_line(tmp_path, capsys):
    path = tmp_path / "bomb.yml"
    path.write_text(BOMB)
    assert main(["metadata", "check", str(path)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "alias bomb" in err
