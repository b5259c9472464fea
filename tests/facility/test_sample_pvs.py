"""Sample PVs follow the run: the baseline and ``/entry/sample`` of every file agree."""

from __future__ import annotations

import h5py
import pytest

from usaxs_bluesky.plans.common import pv_text

from .conftest import BLANK_TITLE, SAMPLE_TITLE, THICKNESS_MM

BASELINE = "entry/instrument/bluesky/streams/baseline"


def _text(dataset: h5py.Dataset) -> str:
    value = dataset[()]
    value = value[0] if getattr(value, "ndim", 0) else value
    return value.decode() if isinstance(value, bytes) else str(value)


def test_baseline_and_sample_group_agree(sim_files):
    for (kind, role), path in sim_files.items():
        with h5py.File(path) as f:
            title = _text(f["entry/sample/name"])
            assert title == (BLANK_TITLE if role == "blank" else SAMPLE_TITLE), (kind, role)
            for reading in ("value_start", "value_end"):
                assert _text(f[f"{BASELINE}/sample_data_title/{reading}"]) == title, path
                thickness = float(f[f"{BASELINE}/sample_data_thickness/{reading}"][()])
                assert thickness == pytest.approx(THICKNESS_MM), path
            assert float(f["entry/sample/thickness"][()].ravel()[0]) == THICKNESS_MM


def test_title_too_long_or_with_nul_for_the_pv():
    """The title PV takes 255 printable ASCII characters: the plan writes those (the file: all)."""
    assert pv_text("a\x00b\tc") == "a_b_c"
    assert pv_text("Größe µm 水") == "Gro_e _m _"
    assert pv_text("x" * 500) == "x" * 255
    assert pv_text("") == ""
