"""``usaxs demo``: a short real experiment on the simulated instrument, recorded in the catalog.

Starts the sim IOC on free loopback ports, connects every device, measures an
analyzer rocking curve and a count on a sample, prints what was recorded and
where (read back from the catalog by a fresh client), and stops the IOC.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DEMO_SAMPLE = "demo glassy carbon"
DEMO_THICKNESS_MM = 1.0


def run_demo(
    data_dir: str | Path, *, time_scale: float = 0.02, user_name: str = "demo_user"
) -> dict:
    """Run the demo; return the run uids, the rocking-curve peak and centre, the data dir."""
    from usaxs_sim.launcher import SimProcess

    data_dir = Path(data_dir).expanduser().resolve()
    with SimProcess(time_scale=time_scale) as sim:
        os.environ.update(sim.client_env)
        print(f"simulated instrument serving on 127.0.0.1:{sim.port}")
        try:
            return _experiment(data_dir, user_name)
        finally:
            import epics

            epics.ca.finalize_libca()  # close CA circuits before the IOC goes away


def _experiment(data_dir: Path, user_name: str) -> dict:
    from bluesky import plan_stubs as bps

    from .catalog.search import find_runs, format_runs
    from .catalog.store import open_catalog
    from .plans.alignment import rocking_curve
    from .plans.counting import count_sample
    from .session import make_session

    session = make_session(data_dir)
    inst, RE = session.instrument, session.RE
    print(f"connected {len(inst.devices)} devices; data directory {data_dir}")

    sample = {"title": DEMO_SAMPLE, "thickness_mm": DEMO_THICKNESS_MM, "user_name": user_name}
    RE(bps.mv(inst.sample_data.title, DEMO_SAMPLE, inst.sample_data.thickness, DEMO_THICKNESS_MM))
    uids = list(RE(rocking_curve(inst, **sample)))
    uids += list(RE(count_sample(inst, count_time=1.0, num=3, **sample)))

    catalog = open_catalog(data_dir, create=False)
    rc = catalog[uids[0]]
    data = rc["primary"].read()
    angles = np.asarray(data["a_stage_r"])
    ratio = np.asarray(data["upd_ratio"])
    peak = float(angles[np.nanargmax(ratio)])
    center = float(rc.metadata["start"]["ar_center_deg"])
    print(
        f"rocking curve: {len(angles)} points, peak at AR = {peak:.6f} deg "
        f"(calibrated centre {center:.6f} deg), UPD ranges used: "
        f"{sorted(set(int(r) for r in data['upd_autorange_lurange'].values))}"
    )
    print(f"runs recorded in {data_dir / 'catalog'}:")
    print(format_runs(find_runs(data_dir, sample=DEMO_SAMPLE)))
    return {"uids": uids, "peak_deg": peak, "ar_center_deg": center, "data_dir": data_dir}
