"""The start metadata every plan of this package puts in its runs."""

from __future__ import annotations

from typing import Any

from ..metadata.policy import SAMPLE_NAME, THICKNESS, USER_NAME, check_run_metadata


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
            "plan_name": plan_name,
            SAMPLE_NAME: title,
            THICKNESS: thickness_mm,
            USER_NAME: user_name,
            "plan_args": {"scan_title": title, **plan_args},
        }
    )
    check_run_metadata(start)
    return start
