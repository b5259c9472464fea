"""The IPython profile (run non-interactively against the sim) and the live feedback."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bluesky import RunEngine
from bluesky import plans as bp
from ophyd.sim import det, motor

from usaxs_bluesky.live import has_display, install_live_feedback

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "profile_usaxs"
IPYTHON = Path(sys.executable).with_name("ipython")


def test_no_display_means_no_plots(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if sys.platform.startswith("linux"):
        assert not has_display()
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert not has_display()


def test_live_feedback_works_headless(monkeypatch, capsys):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    RE = RunEngine({})
    feedback = install_live_feedback(RE, plots=True)
    assert feedback.plots is False and RE.waiting_hook is not None
    RE(bp.scan([det], motor, -1, 1, 5))
    assert "det" in capsys.readouterr().out  # the live table
    feedback.remove()
    assert RE.waiting_hook is None


@pytest.mark.skipif(not IPYTHON.exists(), reason="ipython is not installed in this environment")
def test_profile_runs_a_plan(usaxs_session, tmp_path):
    profile = tmp_path / "profile_usaxs"
    shutil.copytree(PROFILE / "startup", profile / "startup")
    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        "USAXS_DATA_DIR": str(data_dir),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "MPLBACKEND": "Agg",
    }
    env.pop("USAXS_SIM", None)
    env.pop("USAXS_PV_MAP", None)
    code = (
        "uid, = RE(count_sample(title='profile test', thickness_mm=1.0, user_name='u'));"
        "print('UID', uid, sorted(k for k in dir() if not k.startswith('_'))[:3]);"
        "print('N', len(cat));"
        "print('SUSPENDERS', len(RE.suspenders))"
    )
    done = subprocess.run(
        [str(IPYTHON), f"--profile-dir={profile}", "--no-banner", "--colors=nocolor", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "USAXS session:" in out and "live plots off" in out
    uid = next(line.split()[1] for line in out.splitlines() if line.startswith("UID"))
    assert "N 1" in out
    assert "SUSPENDERS 0" not in out and "SUSPENDERS" in out  # as in the demo and the queue
    from usaxs_bluesky.catalog.store import open_catalog

    assert open_catalog(data_dir)[uid].metadata["start"]["title"] == "profile test"
