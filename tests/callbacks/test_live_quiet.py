"""A live reduction that cannot be done (no blank yet) says so in one line, no traceback."""

from __future__ import annotations

import logging
import shutil

from usaxs_bluesky.callbacks.reduction import LiveReducer


def test_no_blank_is_one_line(testdata, tmp_path, caplog):
    folder = tmp_path / "usaxs"
    folder.mkdir()
    sample = shutil.copy(testdata / "calib/usaxs/FY1_1HF_1.h5", folder)
    reducer = LiveReducer()
    with caplog.at_level(logging.INFO, logger="usaxs_bluesky.callbacks.reduction"):
        reducer("uid-1", sample, "raw")
        assert reducer.join(timeout=120)
    reducer.close()
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.exc_info is None and "\n" not in record.getMessage()
    assert "no usaxs blank" in record.getMessage() and "FY1_1HF_1.h5" in record.getMessage()
