"""``usaxs demo``: a small real experiment on the simulated instrument.

Starts the sim IOC on free loopback ports, connects every device, tunes the
analyzer, then runs a command file with a blank and two samples, each
measured by USAXS (fly scan), SAXS and WAXS. Every run lands in the catalog
and in a NeXus file; each sample is reduced to NXcanSAS against the blank as
soon as its run stops. Prints what was recorded and where, then stops the IOC.
The live page (``usaxs live``, its own process, runs public: this is a
simulation on loopback) shows the experiment while it runs; its URL is printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import Session

COMMANDS = """\
# usaxs demo: a blank and two samples, each by USAXS (fly scan), SAXS and WAXS
# action   sx    sy   thickness(mm)  "sample name"
flyscan    0     0    1.0            "Air blank"
saxs       0     0    1.0            "Air blank"
waxs       0     0    1.0            "Air blank"
flyscan    20    0    1.0            "Spheres 600A in water"
saxs       20    0    1.0            "Spheres 600A in water"
waxs       20    0    1.0            "Spheres 600A in water"
flyscan    40    0    1.055          "Glassy carbon"
saxs       40    0    1.055          "Glassy carbon"
waxs       40    0    1.055          "Glassy carbon"
"""


def start_live_page(data_dir: Path, port: int) -> tuple[subprocess.Popen, str]:
    """Start ``usaxs live`` on ``data_dir`` (runs public) in its own process; return it, its URL."""
    cmd = [sys.executable, "-m", "usaxs_bluesky.cli", "live", "--data-dir", str(data_dir),
           "--port", str(port), "--public-runs"]  # fmt: skip
    return subprocess.Popen(cmd, env=os.environ), f"http://127.0.0.1:{port}/"


def run_demo(
    data_dir: str | Path,
    *,
    time_scale: float = 0.02,
    user_name: str = "demo_user",
    live_port: int | None = None,
) -> dict:
    """Run the demo (with the live page on ``live_port`` unless None); return uids, files, dir."""
    from usaxs_sim.launcher import SimProcess

    data_dir = Path(data_dir).expanduser().resolve()
    with SimProcess(time_scale=time_scale) as sim:
        os.environ.update(sim.client_env)
        print(f"simulated instrument serving on 127.0.0.1:{sim.port}")
        try:
            return _experiment(data_dir, user_name, live_port)
        finally:
            import epics

            epics.ca.finalize_libca()  # close CA circuits before the IOC goes away


def _experiment(data_dir: Path, user_name: str, live_port: int | None) -> dict:
    from .session import make_session

    session = make_session(data_dir)
    inst = session.instrument
    print(f"connected {len(inst.devices)} devices; data directory {data_dir}")
    live = None
    if live_port is not None:
        live, url = start_live_page(data_dir, live_port)
        print(f"live data page: {url} (until the demo ends)")
    try:
        return _measure(session, data_dir, user_name)
    finally:
        if live is not None:
            live.terminate()
            live.wait(timeout=30)


def _measure(session: Session, data_dir: Path, user_name: str) -> dict:
    from bluesky import plan_stubs as bps

    from .catalog.search import find_runs, format_runs
    from .plans.command_file import run_command_file
    from .plans.suspenders import install_beam_suspenders
    from .plans.tune import tune_ar

    inst, RE = session.instrument, session.RE
    install_beam_suspenders(RE, inst)
    uids: list[str] = []
    RE.subscribe(lambda name, doc: uids.append(doc["uid"]), "start")
    RE(bps.mv(inst.user_data.user_name, user_name))
    RE(bps.mv(inst.sample_data.title, "Air blank", inst.sample_data.thickness, 1.0))
    RE(tune_ar(inst))
    print(f"analyzer tuned: ARcenter = {inst.terms.ar_center.get():.6f} deg")

    commands = data_dir / "commands" / "demo_commands.txt"
    commands.parent.mkdir(parents=True, exist_ok=True)
    commands.write_text(COMMANDS)
    print(f"running command file {commands}")
    RE(run_command_file(inst, commands, user_name=user_name))
    if session.reducer is not None and not session.reducer.join(timeout=300):
        print("warning: reduction still running after 300 s")
    session.close()

    runs = find_runs(data_dir, user=user_name)
    print(f"\n{len(runs)} runs in the catalog {data_dir / 'catalog'}:")
    print(format_runs(runs))
    files = sorted({f.path: f.kind for r in runs for f in r.files}.items())
    print(f"\n{len(files)} files recorded (with SHA-256) in the catalog:")
    for path, kind in files:
        print(f"  {kind:8} {path}")
    return {"uids": uids, "files": files, "data_dir": data_dir}
