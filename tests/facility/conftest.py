"""Our simulated raw files of every kind, made once per test session on the sim."""

from __future__ import annotations

from pathlib import Path

import pytest

from usaxs_bluesky.callbacks.nexus_writer import NexusWriter
from usaxs_bluesky.plans.area_detector import saxsExp, waxsExp
from usaxs_bluesky.plans.transmission import measure_transmission
from usaxs_bluesky.plans.usaxs import Flyscan, uascan

#: sample positions of the simulator's table (docs/simulator.md)
BLANK_X, SAMPLE_X = 0.0, 40.0
#: the glassy carbon scatters from USAXS to WAXS Q (like NIST SRM 3600), the blank not at all
BLANK_TITLE, SAMPLE_TITLE = "AirBlank", "glassy_carbon"
THICKNESS_MM = 1.055


class Files:
    """Runs plans with a NexusWriter subscribed; ``run(plan)`` returns the committed file."""

    def __init__(self, session) -> None:
        self.session = session
        self.paths: dict[str, Path] = {}
        self.writer = NexusWriter(on_file=lambda uid, path, kind: self.paths.__setitem__(uid, path))

    def run(self, plan) -> Path:
        (uid,) = self.session.RE(plan)
        return self.paths[uid]


def _measured(inst, technique, plan_factory):
    """A plan: the transmission stub of ``technique`` (as command files do), then the run."""
    md = yield from measure_transmission(inst, technique)
    return (yield from plan_factory(md))


@pytest.fixture(scope="session")
def sim_files(usaxs_session):
    """{(kind, "blank" | "sample"): path} of fly, step, SAXS and WAXS runs on the simulator."""
    files = Files(usaxs_session)
    inst = usaxs_session.instrument
    token = usaxs_session.RE.subscribe(files.writer)
    made: dict[tuple[str, str], Path] = {}
    try:
        for role, x, title in (("blank", BLANK_X, BLANK_TITLE), ("sample", SAMPLE_X, SAMPLE_TITLE)):
            usaxs_session.RE(_move(inst, x))
            made["fly", role] = files.run(
                _measured(
                    inst,
                    "usaxs",
                    lambda md, t=title: Flyscan(inst, title=t, thickness_mm=THICKNESS_MM, md=md),
                )
            )
            made["step", role] = files.run(
                _measured(
                    inst,
                    "usaxs",
                    lambda md, t=title: uascan(
                        inst, title=t, thickness_mm=THICKNESS_MM, intervals=300, md=md
                    ),
                )
            )
            made["saxs", role] = files.run(
                _measured(
                    inst,
                    "saxs",
                    lambda md, t=title, x=x: saxsExp(inst, x, 0, THICKNESS_MM, t, md=md),
                )
            )
            made["waxs", role] = files.run(waxsExp(inst, x, 0, THICKNESS_MM, title))
    finally:
        usaxs_session.RE.unsubscribe(token)
    return made


def _move(inst, x):
    from bluesky import plan_stubs as bps

    yield from bps.mv(inst.s_stage.x, x, inst.s_stage.y, 0.0)
