"""Facility folder layout, safe names, numbering and exclusive file creation."""

import os
import re
import threading
from datetime import datetime

import pytest

from usaxs_bluesky.contract.files import (
    ExclusiveFile,
    data_folder,
    exclusive_output,
    next_data_path,
    open_next_data_file,
    partial_files,
    safe_name,
)

WHEN = datetime(2025, 6, 8, 9, 1, 28)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("FY1_1HF_1", "FY1_1HF_1"),
        ("Glassy carbon 1.0mm", "Glassy_carbon_1.0mm"),
        ("../../etc/passwd", "etc_passwd"),
        ("..", "unnamed"),
        ("", "unnamed"),
        ("   ", "unnamed"),
        (".hidden", "hidden"),
        ("a..b", "a_b"),
        ("a.b.", "a.b"),
        ('a/b\\c:d*e?f"g<h>i|j', "a_b_c_d_e_f_g_h_i_j"),
        ("tab\there\x00nul\x1f", "tab_here_nul"),
        ("Ünïcødé Å-ß 5µm", "Unicode_A-ss_5um"),
        ("中文", "unnamed"),
        ("a__  __b", "a_b"),
        ("-rf", "rf"),
        ("CON", "CON_"),
        ("nul", "nul_"),
        ("com1.h5", "com1_.h5"),
        ("CONSOLE", "CONSOLE"),
    ],
)
def test_safe_name(name, expected):
    assert safe_name(name) == expected


@pytest.mark.parametrize("name", ["x" * 500, "é" * 300, "CON." + "y" * 200, "a " * 100])
def test_safe_name_is_bounded_and_plain(name):
    result = safe_name(name, max_length=40)
    assert 0 < len(result) <= 40
    assert set(result) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    assert ".." not in result and not result.startswith((".", "_", "-"))
    assert not result.endswith(".")


def test_safe_name_refuses_tiny_max_length():
    with pytest.raises(ValueError, match="max_length"):
        safe_name("x", max_length=3)


def test_data_folder_layout(tmp_path):
    folder = data_folder(tmp_path, WHEN, "Jan Ilavsky", "SAXS")
    assert folder == tmp_path / "2025-06" / "06_08_Jan_Ilavsky" / "06_08_Jan_Ilavsky_saxs"
    assert not folder.exists()


def test_data_folder_user_cannot_escape(tmp_path):
    folder = data_folder(tmp_path / "root", WHEN, "../../..", "usaxs")
    assert folder.resolve().is_relative_to((tmp_path / "root").resolve())
    assert folder.parent.name == "06_08_unnamed"


def test_data_folder_refuses_unknown_technique(tmp_path):
    with pytest.raises(ValueError, match="usaxs, saxs, waxs"):
        data_folder(tmp_path, WHEN, "jan", "xpcs")


def test_data_folder_refuses_symlink_out_of_root(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    (root / "2025-06").mkdir(parents=True)
    os.symlink(outside, root / "2025-06" / "06_08_jan")
    with pytest.raises(ValueError, match="outside"):
        data_folder(root, WHEN, "jan", "waxs")


def test_next_data_path_numbers(tmp_path):
    assert next_data_path(tmp_path / "missing", "Air") == tmp_path / "missing" / "Air_0001.h5"
    for name in ["Air_0001.h5", "Air_0007.h5", "Air_1_0042.h5", "Airy_0099.h5", "Air_0100.txt"]:
        (tmp_path / name).touch()
    assert next_data_path(tmp_path, "Air").name == "Air_0008.h5"
    assert next_data_path(tmp_path, "Air_1").name == "Air_1_0043.h5"
    (tmp_path / ".Air_0011.h5.partial-0a1b2c").touch()  # another writer at work
    assert next_data_path(tmp_path, "Air").name == "Air_0012.h5"
    assert next_data_path(tmp_path, "glassy carbon").name == "glassy_carbon_0001.h5"


def test_exclusive_output_appears_only_when_complete(tmp_path):
    final = tmp_path / "a" / "b" / "S_0001.h5"
    with exclusive_output(final) as temp:
        assert temp.parent == final.parent
        assert temp.name.startswith(".S_0001.h5.partial-")
        temp.write_bytes(b"data")
        assert not final.exists()
    assert final.read_bytes() == b"data"
    assert list(final.parent.iterdir()) == [final]


def test_exclusive_output_never_overwrites(tmp_path):
    final = tmp_path / "S_0001.h5"
    final.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        with exclusive_output(final) as temp:
            temp.write_bytes(b"new")
    assert final.read_bytes() == b"old"
    assert partial_files(final) == []


def test_exclusive_output_final_appearing_meanwhile_keeps_both(tmp_path):
    final = tmp_path / "S_0001.h5"
    output = ExclusiveFile(final)
    temp = output.open()
    temp.write_bytes(b"mine")
    final.write_bytes(b"theirs")
    with pytest.raises(FileExistsError, match="data kept in"):
        output.commit()
    assert final.read_bytes() == b"theirs"
    assert temp.read_bytes() == b"mine"
    output.discard()
    assert not temp.exists()


def test_exception_discards_by_default(tmp_path):
    final = tmp_path / "S_0001.h5"
    with pytest.raises(RuntimeError, match="boom"):
        with exclusive_output(final) as temp:
            temp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_caller_may_commit_after_an_exception(tmp_path):
    final = tmp_path / "S_0001.h5"
    with pytest.raises(KeyboardInterrupt):
        with ExclusiveFile(final) as output:
            output.temp_path.write_bytes(b"aborted scan")
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                output.commit()
                raise
    assert final.read_bytes() == b"aborted scan"
    assert output.state == "committed"


def test_second_writer_of_same_name_is_refused_early(tmp_path):
    final = tmp_path / "S_0001.h5"
    first = ExclusiveFile(final)
    first.open()
    with pytest.raises(FileExistsError, match="another writer"):
        ExclusiveFile(final).open()
    assert partial_files(final) == [first.temp_path]
    first.commit()


def test_concurrent_writers_get_distinct_numbers(tmp_path):
    results, errors = [], []

    def write(i):
        try:
            output = open_next_data_file(tmp_path, "Air")
            output.temp_path.write_text(str(i))
            results.append(output.commit())
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = {p.name for p in results}
    assert len(names) == 8  # numbers may skip under contention, never repeat
    assert all(re.fullmatch(r"Air_\d{4}\.h5", name) for name in names)
    assert sorted(p.read_text() for p in results) == [str(i) for i in range(8)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)  # no partial left
