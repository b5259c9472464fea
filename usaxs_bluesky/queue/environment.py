"""The namespace of the RE Manager worker: session, devices, plans, suspenders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DATA_DIR_ENV = "USAXS_DATA_DIR"
PV_MAP_ENV = "USAXS_PV_MAP"
REQUESTS_ENV = "USAXS_METADATA_REQUESTS"
RESUME_DELAY_ENV = "USAXS_RESUME_DELAY_S"
DEFAULT_RESUME_DELAY_S = 10.0
CONNECT_TIMEOUT_ENV = "USAXS_CONNECT_TIMEOUT_S"
DEFAULT_CONNECT_TIMEOUT_S = 60.0
REMOTE_FOLDERS_ENV = "USAXS_REMOTE_FOLDERS"


def build_namespace(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return ``RE``, ``session``, the devices and the queue plans, configured from ``environ``."""
    from ..plans.suspenders import install_beam_suspenders
    from ..session import make_session
    from .plans import queue_plans, remote_ops_plan

    env = os.environ if environ is None else environ
    timeout = float(env.get(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT_S))
    session = make_session(
        Path(env.get(DATA_DIR_ENV, "usaxs_data")),
        config=env.get(PV_MAP_ENV) or None,
        metadata_requests=env.get(REQUESTS_ENV) or None,
        connect_timeout=timeout,
    )
    delay = float(env.get(RESUME_DELAY_ENV, DEFAULT_RESUME_DELAY_S))
    install_beam_suspenders(session.RE, session.instrument, resume_delay_s=delay)
    namespace: dict[str, Any] = dict(session.instrument.devices)
    namespace.update(queue_plans(session.instrument))
    folders = [f for f in env.get(REMOTE_FOLDERS_ENV, "").split(os.pathsep) if f]
    if folders:
        namespace["remote_ops"] = remote_ops_plan(session.instrument, folders, timeout)
    namespace.update(RE=session.RE, session=session)
    return namespace
