"""Required start-document metadata: sample name, thickness (mm) and user name.

:func:`check_run_metadata` is called by every plan before it moves anything,
and :func:`md_validator` is installed as the RunEngine's ``md_validator`` so a
run opened any other way is refused too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..contract.names import THICKNESS_MM as THICKNESS
from ..contract.names import TITLE as SAMPLE_NAME
from ..contract.names import USER_NAME


class MetadataError(ValueError):
    """A run's metadata does not satisfy the policy; the message lists every problem."""


def metadata_problems(md: Mapping[str, Any]) -> list[str]:
    """Return one line per policy violation in ``md`` (empty when all is well)."""
    problems = []
    name = md.get(SAMPLE_NAME)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{SAMPLE_NAME} (sample name) must be a non-empty string, got {name!r}")
    thickness = md.get(THICKNESS)
    if isinstance(thickness, bool) or not isinstance(thickness, int | float):
        problems.append(f"{THICKNESS} must be a number of mm > 0, got {thickness!r}")
    elif not math.isfinite(thickness) or thickness <= 0:
        problems.append(f"{THICKNESS} must be finite and > 0 mm, got {thickness!r}")
    user = md.get(USER_NAME)
    if not isinstance(user, str) or not user.strip():
        problems.append(f"{USER_NAME} must be a non-empty string, got {user!r}")
    return problems


def check_run_metadata(md: Mapping[str, Any]) -> None:
    """Raise :class:`MetadataError` naming every missing or invalid required item."""
    problems = metadata_problems(md)
    if problems:
        raise MetadataError("run refused, metadata policy: " + "; ".join(problems))


def md_validator(md: Mapping[str, Any]) -> None:
    """RunEngine ``md_validator``: refuse to open a run that breaks the policy."""
    check_run_metadata(md)
