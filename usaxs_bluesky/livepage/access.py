"""Who sees what on the live page: the keys of ``usaxs serve`` (:mod:`..catalog.access`).

No key: the status block, and runs only when the staff configuration makes
them public (``public_runs``, off by default). A user's key: the runs of that
user or proposal. Staff: every run. An unknown key is refused (401).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..catalog.access import Grant
from ..catalog.search import RunSummary

KEY_HEADER_SCHEMES = ("apikey", "bearer")
KEY_QUERY = "api_key"


class UnknownKey(Exception):
    """A key was given that is not in the keys file (answered with 401)."""


@dataclass(frozen=True)
class Viewer:
    """The requester: a grant (or none) and whether runs are public for everyone."""

    grant: Grant | None
    public_runs: bool = False

    @property
    def label(self) -> str:
        """Who this is, for the page header."""
        if self.grant is None:
            return "public"
        return f"{self.grant.name} (staff)" if self.grant.staff else self.grant.name

    def may_see(self, run: RunSummary) -> bool:
        """True when this viewer may see ``run``, its curves, images and files."""
        if self.grant is None:
            return self.public_runs
        if self.grant.staff:
            return True
        if self.grant.user and run.user == self.grant.user:
            return True
        return bool(run.proposal_id) and run.proposal_id in self.grant.proposals


def key_of(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The API key of a request: ``Authorization: Apikey K`` (or Bearer), else ``?api_key=K``."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() in KEY_HEADER_SCHEMES and value.strip():
        return value.strip()
    key = query.get(KEY_QUERY)
    return key or None


def viewer_for(key: str | None, grants: Mapping[str, Grant], *, public_runs: bool) -> Viewer:
    """The viewer of a request carrying ``key``; raises :class:`UnknownKey` for a wrong key."""
    if key is None:
        return Viewer(None, public_runs)
    grant = grants.get(key)
    if grant is None:
        raise UnknownKey("invalid API key")
    return Viewer(grant, public_runs)
