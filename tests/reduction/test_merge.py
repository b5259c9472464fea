"""Merge (Irena-style): synthetic truth, the real session sample, ``usaxs merge``."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from usaxs_bluesky.cli import main
from usaxs_bluesky.reduction import read_nxcansas, reduce_file
from usaxs_bluesky.reduction.common import ReducedCurve
from usaxs_bluesky.reduction.merge import MergeError, merge_curves, merge_files, usable

S_TRUE, B_TRUE = 1.25, 2.0  # SAXS part read 1/1.25 too low; USAXS part has +2 1/cm (4-30 %)


def model(q: np.ndarray) -> np.ndarray:
    """A smooth SAS curve: Guinier knee (Rg 300 A), Porod q^-4, a q^-2 term, flat 0.02 1/cm."""
    return (
        1e6 * np.exp(-((q * 300) ** 2) / 3)
        + 1e-4 * q**-4 / (1 + (30 * q) ** -4)
        + 0.2 * (1 + q**2 / 0.01) ** -1
        + 0.02
    )


def part(lo, hi, n, technique, *, scale=1.0, background=0.0, noise=0.0, rng=None):
    q = np.geomspace(lo, hi, n)
    i = model(q) * scale + background
    idev = np.maximum(noise, 1e-4) * np.abs(i)
    if noise:
        i = i + rng.normal(0.0, 1.0, n) * idev
    meta = {"technique": technique, "absolute": True, "sample_file": f"{technique}.h5"}
    return ReducedCurve(q, i, idev, 0.01 * q, None, False, meta)


def three_parts(noise=0.0, seed=3):
    rng = np.random.default_rng(seed)
    return [
        part(1e-4, 0.1, 300, "USAXS", background=B_TRUE, noise=noise, rng=rng),
        part(0.03, 1.8, 280, "SAXS", scale=1 / S_TRUE, noise=noise, rng=rng),
        part(1.2, 5.0, 500, "WAXS", noise=noise, rng=rng),
    ]


def test_synthetic_truth_without_noise():
    merged, fits = merge_curves(three_parts()[::-1])  # any input order
    assert [f.scale for f in fits] == pytest.approx([S_TRUE, 1.0], rel=1e-3)
    assert fits[0].background == pytest.approx(B_TRUE, rel=1e-2)
    assert fits[1].background_fitted is False  # none there
    rel = merged.i / model(merged.q) - 1
    assert np.all(np.abs(rel) < 0.02), np.abs(rel).max()
    assert np.all(np.diff(merged.q) > 0)
    assert merged.metadata["technique"] == "USAXS+SAXS+WAXS"


def test_synthetic_truth_with_noise():
    merged, fits = merge_curves(three_parts(noise=0.01))
    s1, s2 = fits
    assert abs(s1.scale - S_TRUE) < 2 * s1.scale_err, (s1.scale, s1.scale_err)
    assert abs(s1.background - B_TRUE) < 2 * s1.background_err, (s1.background, s1.background_err)
    assert abs(s2.scale - 1.0) < 2 * s2.scale_err
    assert s1.scale_err < 0.05 and s1.background_err < B_TRUE / 3  # the fit is informative
    rel = merged.i / model(merged.q) - 1
    assert np.median(np.abs(rel)) < 0.02
    # every point keeps its own uncertainty (scaled with its part) and its dQ
    assert np.all(merged.idev > 0) and np.all(merged.qdev == pytest.approx(0.01 * merged.q))


def test_trimming_drops_noisy_ends():
    c = part(0.01, 1.0, 50, "SAXS")
    c.idev[-6:] = 0.9 * c.i[-6:]  # the last points are noise
    c.i[5] = -1.0  # not at an end: kept
    keep = usable(c)
    assert not keep[:3].any() and not keep[-6:].any() and keep[3:-6].all()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda ps: [ps[0], ps[2]], "no usable overlap"),
        (lambda ps: [ps[0]], "at least two"),
        (lambda ps: [ps[0], ps[0]], "one curve per technique"),
    ],
)
def test_refused(edit, message):
    with pytest.raises(MergeError, match=message):
        merge_curves(edit(three_parts()))


def test_smeared_curve_refused():
    parts = three_parts()
    parts[0].smeared, parts[0].dql = True, 0.03
    with pytest.raises(MergeError, match="slit-smeared"):
        merge_curves(parts)


@pytest.fixture
def session_reduced(facility):
    """NXcanSAS files of the session sample reduced by technique (copies in tmp_path)."""
    out = []
    for tech, ext in (("usaxs", "h5"), ("saxs", "hdf"), ("waxs", "hdf")):
        sample = facility(f"session/{tech}/PPOH_25C_orig_0066.{ext}")
        blank = facility(f"session/{tech}/HeaterBlank_0060.{ext}")
        out.append(reduce_file(sample, blank, plot=False)[0])
    return out


def _continuous(q, i, splice):
    """The step across ``splice`` is no larger than its neighbours' steps (x 1.25)."""
    k = int(np.searchsorted(q, splice))
    steps = np.abs(np.diff(np.log(i[k - 3 : k + 3])))
    across = steps[2]
    return across <= max(steps[[0, 1, 3, 4]].max(), 1e-9) + np.log(1.25), steps


def test_real_session_sample(session_reduced):
    written = merge_files(session_reduced)
    nx, png = written
    assert nx.name == "PPOH_25C_orig_0066_merged.nxcansas.h5" and png.suffix == ".png"
    assert nx.parent == session_reduced[0].parent  # beside the USAXS (lowest-Q) file
    (merged,) = read_nxcansas(nx)
    assert np.all(np.diff(merged.q) > 0)  # no duplicated Q
    assert merged.q.min() < 2e-4 and merged.q.max() > 4.5
    fits = merged.metadata["merge_fits"]
    assert len(fits) == 2
    for fit in fits:
        ok, steps = _continuous(merged.q, merged.i, fit["splice_q_A"])
        assert ok, (fit, steps)
    # the USAXS/SAXS scale agrees with the cross-technique diagnosis (0.80 +- 0.1)
    assert fits[0]["scale"] == pytest.approx(0.85, abs=0.1)
    inputs = merged.metadata["merge_inputs"]
    assert [d["technique"] for d in inputs] == ["USAXS", "SAXS", "WAXS"]
    assert [d["file"] for d in inputs] == [str(p) for p in session_reduced]
    with h5py.File(nx, "r") as f:
        notes = json.loads(f["sasentry01/sasprocess/sasnote/data"][()])
    assert notes["merge_fits"] == fits and "Irena" in notes["merge_method"]

    from sasdata.dataloader.loader import Loader

    (data,) = Loader().load(str(nx))
    assert len(data.x) == len(merged.q)
    np.testing.assert_allclose(data.y, merged.i)


def test_cli(session_reduced, capsys):
    status = main(["merge", *map(str, session_reduced), "--no-plot"])
    out, err = capsys.readouterr()
    assert status == 0, err
    (path,) = out.split()
    assert path.endswith("PPOH_25C_orig_0066_merged.nxcansas.h5")
    assert len(err.strip().splitlines()) == 2 and "overlap" in err
    # never overwritten; a lone file; a missing file; usaxs + waxs only (no overlap)
    for args, message in [
        (session_reduced, "exists"),
        (session_reduced[:1], "at least two"),
        ([session_reduced[0], session_reduced[0].with_name("missing.h5")], "no such file"),
        ([session_reduced[0], session_reduced[2]], "no usable overlap"),
        ([session_reduced[0], session_reduced[0]], "twice"),
    ]:
        status = main(["merge", *map(str, args), "--no-plot", "--out", str(path.rsplit("/", 1)[0])])
        out, err = capsys.readouterr()
        assert status == 2 and out == "" and message in err, (args, err)
