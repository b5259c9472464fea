"""The simulated IOC over Channel Access (one IOC per session, loopback only)."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def ca(sim_ioc):
    """pyepics, imported after the loopback client environment is applied."""
    import epics

    return epics


@pytest.fixture(autouse=True)
def beam_on(sim_ioc, ca):
    """Each test starts in USAXS geometry with beam and both shutters open.

    Other tests in the session change the mode and close the shutters.
    """
    ca.caput(sim_ioc.pv("usxSIM:beam_available"), 1, wait=True, timeout=5)
    for motor, position in (
        ("usxAERO:m1", "usxLAX:USAXS:Diode_dx"),
        ("usxAERO:m2", "usxLAX:USAXS:Diode_dy"),
        ("usxAERO:m4", "usxLAX:ax_in"),
    ):
        ca.caput(sim_ioc.pv(motor + ".VAL"), _get(ca, sim_ioc.pv(position)), wait=True, timeout=60)
    for shutter in ("12ida2:rShtrC:", "12idc:uniblitz:shutter:"):
        ca.caput(sim_ioc.pv(shutter + "Open"), 1, wait=True, timeout=5)
    for shutter in ("12ida2:rShtrC:", "12idc:uniblitz:shutter:"):
        deadline = time.monotonic() + 5
        while _get(ca, sim_ioc.pv(shutter + "State")) != 1 and time.monotonic() < deadline:
            time.sleep(0.02)


def _get(ca, name, **kw):
    """Fresh read (pyepics' caget may otherwise answer from a lagging monitor cache)."""
    return ca.caget(name, use_monitor=False, timeout=5, **kw)


def _motor(sim_ioc, pv, name):
    from ophyd import EpicsMotor

    m = EpicsMotor(sim_ioc.pv(pv), name=name)
    m.wait_for_connection(all_signals=True, timeout=10)
    return m


def _scaler(sim_ioc):
    from ophyd.scaler import ScalerCH

    sc = ScalerCH(sim_ioc.pv("usxLAX:vsc:c0"), name="scaler")
    sc.wait_for_connection(all_signals=True, timeout=10)
    sc.select_channels(["I0", "UPD"])
    return sc


def test_motor_moves_and_limits(sim_ioc, ca):
    from ophyd.utils import LimitError

    sx = _motor(sim_ioc, "usxAERO:m8", "sx")
    assert sx.limits == (-100.0, 100.0)
    sx.move(5.0, wait=True, timeout=20)
    assert sx.position == pytest.approx(5.0)
    with pytest.raises(LimitError):
        sx.move(150.0, wait=True)
    # a direct CA put beyond the limits is refused and flags LVIO
    ca.caput(sim_ioc.pv("usxAERO:m8.VAL"), 150.0, wait=True, timeout=5)
    assert _get(ca, sim_ioc.pv("usxAERO:m8.LVIO")) == 1
    assert sx.position == pytest.approx(5.0)
    # stop in the middle of a long move
    st = sx.move(-90.0, wait=False)
    deadline = time.monotonic() + 10
    while sx.position > 4.0 and time.monotonic() < deadline:  # poll until it is under way
        time.sleep(0.01)
    sx.stop()
    st.wait(timeout=10)
    assert -90.0 < sx.position < 5.0
    assert _get(ca, sim_ioc.pv("usxAERO:m8.DMOV")) == 1
    sx.move(0.0, wait=True, timeout=20)


def test_scaler_counts(sim_ioc, ca):
    sc = _scaler(sim_ioc)
    sc.preset_time.put(2.0, wait=True)
    sc.trigger().wait(timeout=20)
    assert sc.channels.chan01.s.get() == pytest.approx(2.0e7)
    i0 = sc.channels.chan02.s.get()
    assert 1.5e6 < i0 < 2.5e6
    assert sc.channels.chan04.s.get() > 0
    assert sc.channels.chan02.chname.get() == "I0"
    assert _get(ca, sim_ioc.pv("usxLAX:vsc:c0.CNT")) == 0


def test_ar_scan_peaks_at_center_and_autorange(sim_ioc, ca):
    ar = _motor(sim_ioc, "usxAERO:m6", "ar")
    sc = _scaler(sim_ioc)
    center = _get(ca, sim_ioc.pv("usxLAX:USAXS:ARcenter"))
    positions = center + np.linspace(-0.002, 0.002, 21)
    upd, ranges, gains_after = [], [], []
    for p in positions:
        ar.move(p, wait=True, timeout=20)
        sc.preset_time.put(0.5, wait=True)
        sc.trigger().wait(timeout=20)
        r = int(_get(ca, sim_ioc.pv("usxLAX:pd01:seq02:lurange")))
        gains_after.append(_get(ca, sim_ioc.pv("usxLAX:pd01:seq02:gain")))
        gain = _get(ca, sim_ioc.pv(f"usxLAX:pd01:seq02:gain{r}"))
        bkg = _get(ca, sim_ioc.pv(f"usxLAX:pd01:seq02:bkg{r}"))
        counts = sc.channels.chan04.s.get()
        upd.append((counts - 0.5 * bkg) / (0.5 * gain))
        ranges.append(r)
    peak = positions[int(np.argmax(upd))]
    assert peak == pytest.approx(center, abs=2.1e-4)
    # as the real sequence: the count is taken in the present range (lurange),
    # then the amplifier reacts; `gain` is that of the range the next count uses
    table = [_get(ca, sim_ioc.pv(f"usxLAX:pd01:seq02:gain{r}")) for r in range(5)]
    assert gains_after[:-1] == [table[r] for r in ranges[1:]]
    assert len(set(ranges)) >= 2, "the scan crossed a range change"
    # far from the peak, the amplifier walks to more sensitive ranges: it moves
    # after the first count there, and the next count is taken in that range
    ar.move(center - 1.0, wait=True, timeout=20)
    sc.preset_time.put(0.5, wait=True)
    sc.trigger().wait(timeout=20)
    assert _get(ca, sim_ioc.pv("usxLAX:pd01:seq02:gain")) == table[4]
    sc.trigger().wait(timeout=20)
    far_range = int(_get(ca, sim_ioc.pv("usxLAX:pd01:seq02:lurange")))
    assert far_range > min(ranges)
    assert far_range == 4
    ar.move(center, wait=True, timeout=20)


def test_shutter_and_beam_drop(sim_ioc, ca):
    sc = _scaler(sim_ioc)
    ca.caput(sim_ioc.pv("usxSIM:beam_available"), 0, wait=True)
    assert _get(ca, sim_ioc.pv("S:SRcurrentAI")) == 0
    sc.preset_time.put(1.0, wait=True)
    sc.trigger().wait(timeout=20)
    assert sc.channels.chan02.s.get() < 100
    ca.caput(sim_ioc.pv("usxSIM:beam_available"), 1, wait=True)
    ca.caput(sim_ioc.pv("12idc:uniblitz:shutter:Close"), 1, wait=True)
    assert _get(ca, sim_ioc.pv("12idc:uniblitz:shutter:State")) == 0
    sc.trigger().wait(timeout=20)
    assert sc.channels.chan02.s.get() < 100
    ca.caput(sim_ioc.pv("12idc:uniblitz:shutter:Open"), 1, wait=True)
    sc.trigger().wait(timeout=20)
    assert sc.channels.chan02.s.get() > 5e5


def test_metadata_and_mono(sim_ioc, ca):
    from ophyd import EpicsSignal

    title = EpicsSignal(sim_ioc.pv("usxLAX:sampleTitle"), string=True, name="title")
    title.wait_for_connection(timeout=5)
    title.put("water in capillary", wait=True)
    assert title.get() == "water in capillary"
    ca.caput(sim_ioc.pv("12ida2:EnCalc"), 18.0, wait=True)
    assert _get(ca, sim_ioc.pv("12ida2:LambdaCalc")) == pytest.approx(12.398419843 / 18.0)
    ca.caput(sim_ioc.pv("12ida2:EnCalc"), 21.0, wait=True)
    ca.caput(sim_ioc.pv("usxLAX:GSlit1V:size"), 0.8, wait=True, timeout=20)
    top = _get(ca, sim_ioc.pv("usxLAX:m58:c1:m3.RBV"))
    bot = _get(ca, sim_ioc.pv("usxLAX:m58:c1:m4.RBV"))
    assert top - bot == pytest.approx(0.8)
    assert _get(ca, sim_ioc.pv("usxLAX:GSlit1V:size")) == pytest.approx(0.8)


def test_fly_scan(sim_ioc, ca):
    pv = sim_ioc.pv
    ca.caput(pv("usxLAX:USAXS:FS_ScanTime"), 30.0, wait=True)
    center = _get(ca, pv("usxLAX:USAXS:ARcenter"))
    ca.caput(pv("usxLAX:USAXS:ARstart"), center + 0.0016, wait=True)
    n = _get(ca, pv("usxAERO:pm1:NumPulses"))
    assert n == 8000
    # put-completion returns only when the trajectory is over: busy is back to 0,
    # every channel is counted (its duration is measured in benchmarks/bench_sim.py)
    ca.caput(pv("usxLAX:USAXSfly:Start"), 1, wait=True, timeout=60)
    assert _get(ca, pv("usxLAX:USAXSfly:Start")) == 0
    pos = _get(ca, pv("usxAERO:pm1:PulsePositions"))
    assert len(pos) == n
    assert np.all(np.diff(pos) < 0)
    for name in ("mca1", "mca2", "mca3"):
        arr = _get(ca, pv(f"usxLAX:3820:{name}"))
        assert len(arr) == n - 1
    assert _get(ca, pv("usxLAX:3820:CurrentChannel")) == n - 1
    gains = _get(ca, pv("usxLAX:USAXSfly:DDPCA300:ampGain"))
    chans = _get(ca, pv("usxLAX:USAXSfly:DDPCA300:mcsChan"))
    assert len(gains) == len(chans) >= 5
    assert 4 in gains
    assert _get(ca, pv("usxAERO:m6.RBV")) == pytest.approx(pos[-1], abs=1e-6)
    ca.caput(pv("usxAERO:m6.VAL"), center, wait=True, timeout=30)


def test_area_detector_frame(sim_ioc, ca):
    pv = sim_ioc.pv
    sx = _motor(sim_ioc, "usxAERO:m8", "sx")
    sx.move(20.0, wait=True, timeout=20)
    assert "spheres" in _get(ca, pv("usxSIM:sample_model"), as_string=True)
    ca.caput(pv("usaxs_pilatus3:cam1:AcquireTime"), 2.0, wait=True)
    ca.caput(pv("usaxs_pilatus3:cam1:Acquire"), 1, wait=True, timeout=30)
    rows = _get(ca, pv("usaxs_pilatus3:image1:ArraySize1_RBV"))
    cols = _get(ca, pv("usaxs_pilatus3:image1:ArraySize0_RBV"))
    assert (rows, cols) == (195, 487)
    data = _get(ca, pv("usaxs_pilatus3:image1:ArrayData"), count=rows * cols)
    frame = np.asarray(data).reshape(rows, cols)
    # facility (Nika) convention: BeamCenterX is the row, BeamCenterY the column
    y0 = _get(ca, pv("usxLAX:USAXS_Pin:BeamCenterX"))
    x0 = _get(ca, pv("usxLAX:USAXS_Pin:BeamCenterY"))
    jj, ii = np.meshgrid(np.arange(cols), np.arange(rows))
    r = np.hypot(jj - x0, ii - y0)
    ring = (r > 30) & (r < 40)
    left = frame[ring & (jj < x0)].mean()
    right = frame[ring & (jj > x0)].mean()
    assert left == pytest.approx(right, rel=0.05)
    assert frame[r < 5].max() < 10  # beam stop
    assert frame[ring].mean() > 10 * frame[(r > 150) & (r < 160)].mean()
    assert _get(ca, pv("usaxs_pilatus3:cam1:Acquire")) == 0
    sx.move(0.0, wait=True, timeout=20)


def test_busy_port_gives_clear_error(sim_ioc):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "usaxs_sim",
            "--port",
            str(sim_ioc.port),
            "--interface",
            "127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert f"CA server port {sim_ioc.port} on 127.0.0.1 is already in use" in proc.stderr


def test_prefix_applies_to_every_pv():
    proc = subprocess.run(
        [sys.executable, "-m", "usaxs_sim", "--prefix", "tst:", "--list-pvs"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    names = proc.stdout.split()
    assert len(names) > 1000
    assert all(n.startswith("tst:") for n in names)
    assert "tst:usxAERO:m6.RBV" in names
    assert "tst:usxSIM:ready" in names


def test_a_dropped_beam_stays_dropped_through_the_ring_updates(sim_ioc, ca):
    """The IOC's once-a-second ring-current update never brings a dropped beam back."""
    current, heartbeat = sim_ioc.pv("S:SRcurrentAI"), sim_ioc.pv("usxSIM:heartbeat")
    seen = []
    for _ in range(5):
        ca.caput(sim_ioc.pv("usxSIM:beam_available"), 0, wait=True)
        beat = _get(ca, heartbeat)
        deadline = time.monotonic() + 30
        while _get(ca, heartbeat) < beat + 20 and time.monotonic() < deadline:  # two updates
            seen.append(_get(ca, current))
            time.sleep(0.05)
        seen.append(_get(ca, current))
        ca.caput(sim_ioc.pv("usxSIM:beam_available"), 1, wait=True)
    assert seen and max(seen) == 0, f"ring current came back without beam: {max(seen)} mA"
