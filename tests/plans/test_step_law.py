"""The step law reproduces the real instrument's step scans."""

import h5py
import numpy as np
import pytest

from usaxs_bluesky.plans.step_law import step_factor, step_positions


def _real_scan(path):
    with h5py.File(path, "r") as f:
        md = f["/entry/instrument/bluesky/metadata"]
        args = {k: float(md[k][()]) for k in ("start", "center", "finish", "minStep", "exponent")}
        args["intervals"] = int(md["intervals"][()])
        args["factor"] = float(md["uascan_factor"][()])
        ar = f["/entry/data/a_stage_r"][()]
    return args, ar


@pytest.mark.parametrize(
    "name", ["SRM3607_300pts_0097.h5", "AirBlank_300pts_0110.h5", "SRM3600_0349.h5"]
)
def test_reproduces_real_step_scan(testdata, name):
    args, ar = _real_scan(testdata / "step" / name)
    law = dict(
        start=args["start"],
        center=args["center"],
        finish=args["finish"],
        min_step=args["minStep"],
        exponent=args["exponent"],
    )
    factor = step_factor(intervals=args["intervals"], **law)
    positions = step_positions(intervals=args["intervals"], **law)
    assert factor == pytest.approx(args["factor"], rel=1e-5)
    assert len(positions) == len(ar)
    # readbacks follow the law within the motor's encoder noise
    assert np.median(np.abs(positions - ar)) < 2e-6
    assert np.max(np.abs(positions - ar)) < 5e-5
    steps = np.abs(np.diff(positions))
    past_peak = int(np.argmin(np.abs(positions - args["center"]))) + 1
    assert np.all(np.diff(steps[past_peak:]) > 0), "steps grow away from the peak"
    assert steps.min() == pytest.approx(args["minStep"], rel=0.05)


def test_exact_end_points_and_count():
    pos = step_positions(
        start=10.001, center=10.0, finish=9.0, min_step=1e-5, exponent=1.2, intervals=150
    )
    assert len(pos) == 150
    assert 10.001 - 1e-4 < pos[0] < 10.001 - 1e-5 and pos[-1] == 9.0
    assert np.all(np.diff(pos) < 0)


def test_impossible_law_is_refused():
    with pytest.raises(ValueError, match="beyond the range"):
        step_factor(
            start=0.0, center=0.0, finish=-0.001, min_step=1e-4, exponent=1.0, intervals=100
        )
