"""``usaxs live --snapshot DIR``: the page as static HTML + PNG, for what the public may see."""

from __future__ import annotations

import subprocess
import sys

from browser import png_size
from catalog.conftest import replay
from conftest import ALL_HOURS

HOSTILE = '<script>alert("x")</script> & "quotes"'


def snapshot(data_dir, folder, *extra) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "usaxs_bluesky.cli", "live", "--data-dir", str(data_dir),
           "--no-pvs", "--session-hours", str(ALL_HOURS),
           "--snapshot", str(folder), *extra]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_public_snapshot_has_status_only(live_data, tmp_path):
    result = snapshot(live_data.data_dir, tmp_path / "public")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "public").iterdir()) == ["index.html"]
    page = (tmp_path / "public" / "index.html").read_text()
    assert "<h2>Instrument</h2>" in page
    assert "Glassy Carbon" not in page and "alice" not in page


def test_snapshot_with_public_runs_has_curves_and_escapes_names(live_data, tmp_path):
    replay(live_data.filled.catalog, user="mallory", title=HOSTILE, plan="SAXS",
           technique="SAXS", age_days=1, proposal="666")  # fmt: skip
    result = snapshot(live_data.data_dir, tmp_path / "runs", "--public-runs")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert names == ["curves_SAXS.png", "curves_USAXS.png", "curves_WAXS.png", "index.html"]
    for name in names[:-1]:
        width, height = png_size(tmp_path / "runs" / name)
        assert width > 300 and height > 200
    page = (tmp_path / "runs" / "index.html").read_text()
    assert "Glassy Carbon 1" in page and "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;" in page
    assert result.stdout.splitlines()[-1].endswith("index.html")


def test_snapshot_into_a_file_fails_cleanly(live_data, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = snapshot(live_data.data_dir, target)
    assert result.returncode == 2 and "usaxs live: error:" in result.stderr
    assert target.read_text() == "x"
