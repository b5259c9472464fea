"""Remote operation PVs: another program writes a command-file path and asks for it to run.

The session (``usaxs_bluesky.plans.remote_ops``) does the work; the simulator
only serves the PVs, as the facility's IOC does.
"""

from __future__ import annotations

from caproto import ChannelType
from caproto.server import PVGroup, pvproperty

PATH_LENGTH = 1024
MESSAGE_LENGTH = 4096


def _char(name: str, length: int, value: str = "", *, doc: str) -> pvproperty:
    return pvproperty(
        name=name,
        value=value,
        dtype=ChannelType.CHAR,
        max_length=length,
        string_encoding="utf-8",
        doc=doc,
    )


class RemoteOps(PVGroup):
    """PVs (under the group prefix, ``usxLAX:`` in the IOC):

    AutoCollectionStrInput (CHAR[1024], the command-file path),
    AutoCollectionStart (enum Idle/Start: a client writes Start, the session
    writes Idle when it takes the request), AutoCollectionState (CHAR[4096],
    progress), AutoCollectionLine (the command-file line running, 0 when
    none), AutoCollectionResult (CHAR[4096], outcome of the last request:
    ``done: ...``, ``refused: ...`` or ``failed: ...``).
    """

    path = _char("AutoCollectionStrInput", PATH_LENGTH, doc="Command-file path to run")
    start = pvproperty(
        name="AutoCollectionStart",
        value=0,
        dtype=ChannelType.ENUM,
        enum_strings=["Idle", "Start"],
        doc="Client writes Start; the session writes Idle when it takes the request",
    )
    state = _char(
        "AutoCollectionState", MESSAGE_LENGTH, "off", doc="Progress of the running request"
    )
    line = pvproperty(
        name="AutoCollectionLine", value=0, doc="Command-file line running (0 when none)"
    )
    result = _char(
        "AutoCollectionResult",
        MESSAGE_LENGTH,
        doc="Outcome of the last request: done, refused or failed",
    )
