"""PNG quick looks drawn with Pillow: valid images, exclusive writes, degenerate data."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from usaxs_bluesky.reduction.plots import LogLogPlot


def test_plot_is_a_png_with_the_data_drawn(tmp_path):
    plot = LogLogPlot(title="t")
    q = np.geomspace(1e-4, 1, 50)
    plot.add(q, q**-3, "curve", color="#ff0000")
    plot.add(q, q**-2, "line", line=True)
    plot.span(1e-2, 3e-2)
    plot.note(1e-2, 1e6, "s=1")
    path = plot.save(tmp_path / "p.png")
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape == (480, 640, 3)
    red = (img[..., 0] == 255) & (img[..., 1] == 0) & (img[..., 2] == 0)
    assert red.sum() > 100  # the markers
    with pytest.raises(FileExistsError):
        plot.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]  # no temporary left


@pytest.mark.parametrize(
    "values", [np.array([-1.0, 0.0, np.nan, np.inf]), np.array([]), np.array([5.0, 5.0])]
)
def test_degenerate_data_still_draws(tmp_path, values):
    plot = LogLogPlot()
    q = np.full(values.shape, 0.1) if values.size else values
    plot.add(q, values, "bad")
    assert plot.save(tmp_path / "d.png").stat().st_size > 0
