"""The metadata policy: sample name, thickness (mm) and user name are required."""

import math

import pytest

from usaxs_bluesky.metadata.policy import MetadataError, check_run_metadata, metadata_problems

GOOD = {"title": "glassy carbon", "sample_thickness_mm": 1.055, "user_name": "jan"}


def test_good_metadata_passes():
    assert metadata_problems(GOOD) == []
    check_run_metadata(GOOD)


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("title", "", "title"),
        ("title", "   ", "title"),
        ("title", 5, "title"),
        ("sample_thickness_mm", -1.0, "> 0"),
        ("sample_thickness_mm", 0, "> 0"),
        ("sample_thickness_mm", math.nan, "finite"),
        ("sample_thickness_mm", math.inf, "finite"),
        ("sample_thickness_mm", "1.0", "number"),
        ("sample_thickness_mm", True, "number"),
        ("user_name", "", "user_name"),
    ],
)
def test_bad_value_is_named(key, value, fragment):
    with pytest.raises(MetadataError, match=fragment):
        check_run_metadata({**GOOD, key: value})


def test_all_missing_items_in_one_message():
    with pytest.raises(MetadataError) as err:
        check_run_metadata({})
    message = str(err.value)
    for key in ("title", "sample_thickness_mm", "user_name"):
        assert key in message
