"""The one write-then-publish helper: no half file under a final name, never an overwrite."""

from __future__ import annotations

import os

import pytest

from usaxs_bluesky.contract import publish as pub
from usaxs_bluesky.contract.publish import (
    PARTIAL,
    partial_files,
    partial_path,
    publish,
    published,
    write_file,
)


def test_partial_name_is_hidden_in_the_final_folder_and_fresh(tmp_path):
    final = tmp_path / "sub" / "S_0001.h5"
    first, second = partial_path(final), partial_path(final)
    assert first.parent == final.parent
    assert first.name.startswith(f".{final.name}{PARTIAL}")
    assert first != second


def test_published_writes_then_publishes(tmp_path):
    final = tmp_path / "new" / "a.txt"
    with published(final) as temp:
        temp.write_text("data")
        assert not final.exists()
        assert partial_files(final) == [temp]
    assert final.read_text() == "data"
    assert partial_files(final) == []


def test_published_error_leaves_nothing(tmp_path):
    final = tmp_path / "a.txt"
    with pytest.raises(RuntimeError), published(final) as temp:
        temp.write_text("half")
        raise RuntimeError("writer died")
    assert not final.exists()
    assert partial_files(final) == []


def test_never_overwrites_before_or_after_writing(tmp_path):
    final = tmp_path / "a.txt"
    final.write_text("old")
    with pytest.raises(FileExistsError), published(final):
        pytest.fail("must refuse before yielding")
    other = tmp_path / "b.txt"
    with pytest.raises(FileExistsError), published(other) as temp:
        temp.write_text("new")
        other.write_text("appeared meanwhile")
    assert final.read_text() == "old"
    assert other.read_text() == "appeared meanwhile"
    assert partial_files(other) == []


def test_publish_keeps_the_data_when_the_name_is_taken(tmp_path):
    final, temp = tmp_path / "a.h5", tmp_path / ".a.h5.partial-x"
    final.write_text("old")
    temp.write_text("new")
    with pytest.raises(FileExistsError, match="data kept in"):
        publish(temp, final)
    assert temp.read_text() == "new" and final.read_text() == "old"


def test_without_hard_links_it_renames_to_a_free_name(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(pub.os, "link", no_links)
    final = tmp_path / "a.txt"
    with published(final) as temp:
        temp.write_text("fat32")
    assert final.read_text() == "fat32" and partial_files(final) == []
    with pytest.raises(FileExistsError), published(tmp_path / "b.txt") as temp:
        temp.write_text("x")
        (tmp_path / "b.txt").write_text("taken")
    assert (tmp_path / "b.txt").read_text() == "taken"


@pytest.mark.parametrize("data", ["text é", b"\x00\xffbytes", ""])
def test_write_file_replaces_state_files(tmp_path, data):
    final = tmp_path / "state.json"
    final.write_text("previous")
    write_file(final, data)
    expected = data.encode() if isinstance(data, str) else data
    assert final.read_bytes() == expected
    assert [p for p in os.listdir(tmp_path) if p != "state.json"] == []


def test_write_file_without_replace_refuses(tmp_path):
    final = tmp_path / "manifest"
    final.write_text("keep")
    with pytest.raises(FileExistsError):
        write_file(final, "other", replace=False)
    assert final.read_text() == "keep"
