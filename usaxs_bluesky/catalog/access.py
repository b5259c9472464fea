"""Who sees which runs on the Tiled server: API keys from a YAML file and an owner access policy.

Keys file (keep it readable by the server account only)::

    keys:
      <secret key>: {user: alice}                  # runs with start.user_name == alice
      <secret key>: {proposals: [1001, 1002]}      # runs with start.proposal_id in the list
      <secret key>: {user: bob, proposals: [2002]} # either
      <secret key>: {pipeline: true}               # every run, read-only (live pipeline)
      <secret key>: {pipeline: true, proposals: [1001]}  # read-only, these proposals
      <secret key>: {staff: true}                  # every run

A request with a listed key acts as that key's principal; an unknown key is
refused (401); no key sees nothing. Users and pipelines get read scopes
only; staff also write (so a session may write its runs through the server).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import or_
from tiled.access_control.access_policies import ALL_ACCESS, NO_ACCESS
from tiled.access_control.protocols import AccessPolicy, normalize_access_tags
from tiled.catalog import orm
from tiled.catalog.adapter import CatalogNodeAdapter
from tiled.server.schemas import Identity, Principal, PrincipalType

PROVIDER = "usaxs-keys"
_NAMESPACE = uuid.UUID("5b3a9d4e-51c8-4f0e-9a35-0e9b1c4d2a77")
USER_SCOPES = frozenset({"read:metadata", "read:data"})
STAFF_SCOPES = USER_SCOPES | {
    "write:metadata",
    "write:data",
    "create:node",
    "delete:node",
    "delete:revision",
    "register",
    "metrics",
}
KEY_FIELDS = frozenset({"user", "proposals", "staff", "pipeline", "name"})
MIN_KEY_LENGTH = 16
_KEY = re.compile(rf"^\w{{{MIN_KEY_LENGTH},}}$")


@dataclass(frozen=True)
class Grant:
    """What one key may see: runs of ``user``, of ``proposals``, or all (``staff``, or a
    ``pipeline`` key naming no user or proposal)."""

    name: str
    user: str | None
    proposals: tuple[str, ...]
    staff: bool
    pipeline: bool = False

    @property
    def sees_all(self) -> bool:
        """True when the key sees every run."""
        return self.staff or (self.pipeline and not (self.user or self.proposals))

    @property
    def scopes(self) -> frozenset[str]:
        """The Tiled scopes of this key."""
        return STAFF_SCOPES if self.staff else USER_SCOPES

    def principal(self) -> Principal:
        """The Tiled principal of requests made with this key."""
        return Principal(
            uuid=uuid.uuid5(_NAMESPACE, self.name),
            type=PrincipalType.user,
            identities=[Identity(id=self.name, provider=PROVIDER)],
        )


def load_keys(path: str | Path) -> dict[str, Grant]:
    """Return ``{key: Grant}`` read from a YAML keys file; ``ValueError`` naming any bad entry."""
    document = yaml.safe_load(Path(path).read_text()) or {}
    entries = document.get("keys", document) if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ValueError(f"{path}: expected a mapping 'keys: {{<key>: {{user: ...}}}}'")
    grants: dict[str, Grant] = {}
    for key, spec in entries.items():
        key = str(key)
        label = f"{path}: key {key[:4]}..."
        if not _KEY.match(key):
            raise ValueError(
                f"{label}: a key is at least {MIN_KEY_LENGTH} letters, digits or _ "
                "(make one with: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        if not isinstance(spec, dict) or not set(spec) <= KEY_FIELDS:
            raise ValueError(f"{label}: allowed fields are {', '.join(sorted(KEY_FIELDS))}")
        for flag in ("staff", "pipeline"):
            if not isinstance(spec.get(flag, False), bool):
                raise ValueError(f"{label}: {flag} is true or false, got {spec[flag]!r}")
        proposals = spec.get("proposals") or []
        if not isinstance(proposals, list):
            proposals = [proposals]
        grant = Grant(
            name=str(spec.get("name") or spec.get("user") or _anonymous_name(key)),
            user=str(spec["user"]) if spec.get("user") else None,
            proposals=tuple(str(p) for p in proposals),
            staff=spec.get("staff", False) is True,
            pipeline=spec.get("pipeline", False) is True,
        )
        if grant.staff and grant.pipeline:
            raise ValueError(f"{label}: a key is staff or pipeline, not both")
        if not (grant.user or grant.proposals or grant.staff or grant.pipeline):
            raise ValueError(f"{label}: give user, proposals, pipeline: true or staff: true")
        if any(o.name == grant.name and o != grant for o in grants.values()):
            raise ValueError(f"{label}: name {grant.name!r} is taken by a key with other rights")
        grants[key] = grant
    return grants


def _anonymous_name(key: str) -> str:
    """A name for a key without user or name: stable, distinct per key, revealing nothing of it."""
    return f"key-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


@dataclass
class RunOwner:
    """Server-side query: runs of any of ``users`` or any of ``proposals`` (an OR)."""

    users: tuple[str, ...]
    proposals: tuple[str, ...]


def _run_owner(query: RunOwner, tree: Any) -> Any:
    """Translate :class:`RunOwner` into one SQL condition on the catalog's node metadata."""
    user = orm.Node.metadata_[["start", "user_name"]].as_string()
    proposal = orm.Node.metadata_[["start", "proposal_id"]]
    options = [user.in_(query.users)] if query.users else []
    if query.proposals:
        options.append(proposal.as_string().in_(query.proposals))
        numbers = [int(p) for p in query.proposals if p.isdigit()]
        if numbers:
            options.append(proposal.as_integer().in_(numbers))
    return tree.new_variation(conditions=tree.conditions + [or_(*options)])


CatalogNodeAdapter.register_query(RunOwner, _run_owner)


class OwnerAccessPolicy(AccessPolicy):
    """Top-level runs are visible to their user's or proposal's keys and to staff; no key, nothing.

    Inside a run the user may see, everything is visible (streams carry no owner).
    """

    def __init__(self, grants: dict[str, Grant]) -> None:
        self.by_principal = {g.principal().uuid: g for g in grants.values()}

    def _grant(self, principal: Principal | None) -> Grant | None:
        return None if principal is None else self.by_principal.get(principal.uuid)

    async def init_node(self, principal, authn_access_tags, authn_scopes, access_tags=None):
        """No per-node state: nodes keep no access tags."""
        return False, normalize_access_tags(access_tags or [])

    async def allowed_scopes(self, node, principal, authn_access_tags, authn_scopes):
        """The key's scopes; none without a key."""
        grant = self._grant(principal)
        return set(grant.scopes) if grant else set()

    async def filters(self, node, principal, authn_access_tags, authn_scopes, scopes):
        """Owner query on the top-level catalog; no filter inside runs or for staff."""
        grant = self._grant(principal)
        if grant is None or not set(scopes) <= grant.scopes:
            return NO_ACCESS
        if grant.sees_all or not _is_root(node):
            return ALL_ACCESS
        return [RunOwner(users=(grant.user,) if grant.user else (), proposals=grant.proposals)]


def _is_root(node: Any) -> bool:
    """True for the catalog's top node (where the runs are)."""
    orm_node = getattr(node, "node", None)
    return orm_node is not None and orm_node.parent is None
