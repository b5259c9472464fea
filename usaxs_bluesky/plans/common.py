"""The start metadata every plan of this package puts in its runs."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Generator
from typing import Any

from bluesky import plan_stubs as bps
from bluesky.utils import Msg

from ..contract.names import PLAN_ARGS, PLAN_NAME
from ..devices.requested import reads_as_text
from ..instrument import Instrument
from ..metadata.policy import (
    SAMPLE_NAME,
    THICKNESS,
    USER_NAME,
    MetadataError,
    check_run_metadata,
)
from ..metadata.request_model import MetadataRequests
from ..metadata.requests import per_sample_problems, requests_to_md

PER_SAMPLE = "per_sample"
"""The ``md`` key of a sample's per-sample values (a dict), used by :func:`requested_metadata`."""


def run_metadata(
    plan_name: str,
    *,
    title: str,
    thickness_mm: float,
    user_name: str,
    md: dict[str, Any] | None = None,
    **plan_args: Any,
) -> dict[str, Any]:
    """Return the start metadata of a run, checked against the metadata policy.

    Keys: ``plan_name``, ``title`` (sample name), ``sample_thickness_mm``,
    ``user_name``, ``plan_args`` (with ``scan_title``) and anything in ``md``.
    Raises :class:`~usaxs_bluesky.metadata.policy.MetadataError` before any
    motion when the policy is not met.
    """
    start = dict(md or {})
    start.update(
        {
            PLAN_NAME: plan_name,
            SAMPLE_NAME: title,
            THICKNESS: thickness_mm,
            USER_NAME: user_name,
            PLAN_ARGS: {"scan_title": title, **plan_args},
        }
    )
    check_run_metadata(start)
    return start


def current_user(inst: Instrument, user_name: str | None) -> Generator[Msg, Any, str]:
    """Return ``user_name`` or, when not given, the name in the user PV (a read, no motion)."""
    if user_name:
        return user_name
    value = yield from bps.rd(inst.user_data.user_name)
    return str(value or "").strip()


def data_file_metadata(
    inst: Instrument, *, technique: str, title: str, user_name: str
) -> Generator[Msg, Any, dict[str, Any]]:
    """Return ``hdf5_path``/``hdf5_file``/``order_number``: where this run's file goes.

    Sets and reads the path provider ``inst.data_files``: folder
    ``<root>/YYYY-MM/MM_DD_<user>/MM_DD_<user>_<technique>``, file
    ``<sample>_<NNNN>.h5`` (USAXS) or ``.hdf`` (SAXS, WAXS), ``NNNN`` the user
    folder's order number, shared by the techniques of one sample measurement.
    """
    request = {"user": user_name, "title": title, "technique": technique}
    yield from bps.mv(inst.data_files, request)
    return dict((yield from bps.rd(inst.data_files)))


SAMPLE_PV_TIMEOUT_S = 10.0
"""Seconds the sample PVs may take to show what a plan wrote (then the plan fails)."""
TITLE_PV_BYTES = 255
"""The sample-title PV holds 256 bytes (CHAR 256, NUL-terminated)."""


def pv_text(text: str, limit: int = TITLE_PV_BYTES) -> str:
    """Return ``text`` as a CHAR-waveform PV takes it from pyepics: printable ASCII, ``limit``.

    Accents are dropped; other characters (non-ASCII, control characters, NUL)
    become ``_``. The run's file keeps the exact title.
    """
    plain = "".join(
        ch if " " <= ch <= "~" else "_"
        for ch in unicodedata.normalize("NFKD", text)
        if not unicodedata.combining(ch)
    )
    return plain[:limit]


def write_sample_pvs(
    inst: Instrument, title: str, thickness_mm: float
) -> Generator[Msg, Any, None]:
    """Write the run's title and thickness to the sample PVs, as the facility's plans do.

    So the baseline (``sample_data_title``, ``sample_data_thickness``) and
    ``/entry/sample`` of the file agree. Emits ``set`` messages only.
    """
    yield from bps.mv(
        inst.sample_data.title,
        pv_text(title),
        inst.sample_data.thickness,
        float(thickness_mm),
        timeout=SAMPLE_PV_TIMEOUT_S,
    )


def loaded_requests(inst: Instrument) -> Generator[Msg, Any, MetadataRequests | None]:
    """Return the session's loaded metadata requests (``inst.metadata_requests``) or None."""
    requests = yield from bps.rd(inst.metadata_requests, default_value=None)
    return requests if isinstance(requests, MetadataRequests) else None


def requested_metadata(
    inst: Instrument, per_sample: dict[str, Any] | None
) -> Generator[Msg, Any, dict[str, Any]]:
    """Return ``{"requested_metadata": ...}`` of the loaded requests, ``{}`` when none is loaded.

    Reads the requested PVs (no motion). Raises
    :class:`~usaxs_bluesky.metadata.policy.MetadataError` naming every
    missing required item, or when per-sample values are given with no
    request loaded.
    """
    if per_sample is not None and not isinstance(per_sample, dict):
        raise MetadataError(f"md['per_sample'] must be a dict, got {type(per_sample).__name__}")
    requests = yield from loaded_requests(inst)
    if requests is None:
        problems = per_sample_problems(None, per_sample)
        if problems:
            raise MetadataError("run refused: " + "; ".join(problems))
        return {}
    read_pv = yield from read_requested_pvs(inst, requests)
    return requests_to_md(requests, per_sample, read_pv=read_pv)


def read_requested_pvs(
    inst: Instrument, requests: MetadataRequests
) -> Generator[Msg, Any, Callable[[str], Any]]:
    """Read every PV of ``requests`` with ``bps.rd``; return a reader of the values read.

    The signals are those of ``inst.metadata_requests``. The reader raises,
    for a PV whose read failed (not connected, no value), the error of that
    read, which :func:`~usaxs_bluesky.metadata.requests.collect` reports.
    """
    values: dict[str, Any] = {}
    for item in requests.items:
        if item.source != "pv" or not item.pv or item.pv in values:
            continue
        signal = inst.metadata_requests.pv_signal(item.pv, text=reads_as_text(item.type))
        try:
            values[item.pv] = yield from bps.rd(signal)
        except Exception as exc:  # noqa: BLE001 - reported per item by collect()
            values[item.pv] = exc

    def read_pv(name: str) -> Any:
        value = values[name]
        if isinstance(value, Exception):
            raise value
        return value

    return read_pv


def checked_metadata(
    inst: Instrument,
    *,
    title: str,
    thickness_mm: float,
    user_name: str | None,
    md: dict[str, Any] | None = None,
) -> Generator[Msg, Any, dict[str, Any]]:
    """Return the policy-checked start metadata of a sample, before the plan and file are known.

    ``md`` plus ``user_name`` (the user PV when not given) and the requested
    metadata (:func:`requested_metadata`, with the per-sample values of
    ``md["per_sample"]``) under ``requested_metadata``. Reads only; raises
    :class:`~usaxs_bluesky.metadata.policy.MetadataError` before any motion.
    Built once per measurement and completed by :func:`plan_run_metadata`.
    """
    user = yield from current_user(inst, user_name)
    md = dict(md or {})
    per_sample = md.pop(PER_SAMPLE, None)
    check_run_metadata({**md, SAMPLE_NAME: title, THICKNESS: thickness_mm, USER_NAME: user})
    md.update((yield from requested_metadata(inst, per_sample)))
    md[USER_NAME] = user
    return md


def plan_run_metadata(
    inst: Instrument,
    checked: dict[str, Any],
    plan_name: str,
    *,
    technique: str | None,
    title: str,
    thickness_mm: float,
    **plan_args: Any,
) -> Generator[Msg, Any, dict[str, Any]]:
    """Return the start metadata of a run from :func:`checked_metadata`'s ``checked``.

    Adds ``plan_name``, ``plan_args`` and, when ``technique`` is set, the
    data file chosen by the path provider (:func:`data_file_metadata`).
    """
    user = checked[USER_NAME]
    start = run_metadata(
        plan_name, title=title, thickness_mm=thickness_mm, user_name=user, md=checked, **plan_args
    )
    if technique:
        start.update(
            (yield from data_file_metadata(inst, technique=technique, title=title, user_name=user))
        )
    return start


def sample_run_metadata(
    inst: Instrument,
    plan_name: str,
    *,
    technique: str | None,
    title: str,
    thickness_mm: float,
    user_name: str | None,
    md: dict[str, Any] | None = None,
    **plan_args: Any,
) -> Generator[Msg, Any, dict[str, Any]]:
    """Checked start metadata of a measurement, with its data file when ``technique`` is set.

    :func:`checked_metadata` then :func:`plan_run_metadata`. Reads only (user
    PV, requested PVs, path provider); raises
    :class:`~usaxs_bluesky.metadata.policy.MetadataError` before any motion.
    """
    checked = yield from checked_metadata(
        inst, title=title, thickness_mm=thickness_mm, user_name=user_name, md=md
    )
    return (
        yield from plan_run_metadata(
            inst,
            checked,
            plan_name,
            technique=technique,
            title=title,
            thickness_mm=thickness_mm,
            **plan_args,
        )
    )
