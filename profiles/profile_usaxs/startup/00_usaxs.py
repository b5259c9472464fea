"""IPython startup of the USAXS instrument: ``ipython --profile-dir=profiles/profile_usaxs``.

Environment:
  USAXS_PV_MAP    path of a PV map (default: the packaged 12-ID-E map)
  USAXS_DATA_DIR  data and catalog folder (default: ./usaxs_data)
  USAXS_SIM=1     start the simulated instrument in the background first (demos)

Names it defines (nothing else is added to the namespace):
  session, RE, inst, cat, bp, bps, feedback, suspenders, sim (or None)
  plans bound to the instrument: USAXSscan, Flyscan, uascan, saxsExp, waxsExp,
  set_mode, count_sample, rocking_curve, transmission, tune_ar, tune_mr,
  tune_a2rp, tune_dx, tune_dy, preUSAXStune, run_command_file
  modes: USAXS, SAXS, WAXS, OUT_OF_BEAM
so that e.g. ``RE(USAXSscan(20, 0, 1.0, "spheres"))`` measures. The beam suspenders are
installed as in the demo and the queue server (a beam loss pauses a plan and resumes it).
"""


def _start() -> dict:
    import atexit
    import os
    from functools import partial, update_wrapper
    from pathlib import Path

    sim = None
    if os.environ.get("USAXS_SIM", "") == "1":
        from usaxs_sim.launcher import SimProcess

        sim = SimProcess(time_scale=float(os.environ.get("USAXS_SIM_TIME_SCALE", "0.05")))
        sim.start()
        sim.apply_env()  # before the first Channel Access context
        atexit.register(sim.stop)

    from bluesky import plan_stubs as bps
    from bluesky import plans as bp

    from usaxs_bluesky.live import install_live_feedback
    from usaxs_bluesky.plan_stubs.modes import OUT_OF_BEAM, SAXS, USAXS, WAXS, set_mode
    from usaxs_bluesky.plans import (
        alignment,
        area_detector,
        command_file,
        counting,
        transmission,
        tune,
        usaxs,
    )
    from usaxs_bluesky.plans.suspenders import install_beam_suspenders
    from usaxs_bluesky.session import make_session

    data_dir = Path(os.environ.get("USAXS_DATA_DIR", "usaxs_data"))
    session = make_session(data_dir, config=os.environ.get("USAXS_PV_MAP") or None)
    inst = session.instrument

    def bound(plan):
        return update_wrapper(partial(plan, inst), plan)

    plans = {
        "USAXSscan": usaxs.USAXSscan,
        "Flyscan": usaxs.Flyscan,
        "uascan": usaxs.uascan,
        "saxsExp": area_detector.saxsExp,
        "waxsExp": area_detector.waxsExp,
        "set_mode": set_mode,
        "count_sample": counting.count_sample,
        "rocking_curve": alignment.rocking_curve,
        "transmission": transmission.transmission,
        "preUSAXStune": tune.preUSAXStune,
        "run_command_file": command_file.run_command_file,
        **tune.TUNES,
    }
    namespace = {name: bound(plan) for name, plan in plans.items()}
    feedback = install_live_feedback(session.RE)
    suspenders = install_beam_suspenders(session.RE, inst)
    namespace.update(
        session=session, RE=session.RE, inst=inst, cat=session.catalog, bp=bp, bps=bps,
        feedback=feedback, suspenders=suspenders, sim=sim,
        USAXS=USAXS, SAXS=SAXS, WAXS=WAXS, OUT_OF_BEAM=OUT_OF_BEAM,
    )  # fmt: skip
    source = f"simulator on CA port {sim.port}" if sim else "EPICS Channel Access"
    print(
        f"USAXS session: {len(inst.devices)} devices via {source}"
        f" (PV map: {os.environ.get('USAXS_PV_MAP') or 'packaged 12-ID-E'}),"
        f" data and catalog in {session.data_dir},"
        f" live plots {'on' if feedback.plots else 'off (no display)'},"
        f" {len(suspenders)} beam suspenders.\n"
        f"Try: RE(USAXSscan(20, 0, 1.0, 'spheres')); plans: {', '.join(sorted(plans))}"
    )
    return namespace


globals().update(_start())
del _start
