"""Remote operation: run the command file whose path another program writes to a PV.

PVs (prefix from the PV map's ``remote_ops``, ``usxLAX:`` at 12-ID-E, served
by the simulator): ``AutoCollectionStrInput`` (path), ``AutoCollectionStart``
(a client writes Start; the session writes Idle when it takes the request),
``AutoCollectionState`` (progress), ``AutoCollectionLine`` (line running),
``AutoCollectionResult`` (``done: ...``, ``refused: ...``, ``failed: ...``).

A path outside the allowed folders, or a file with any problem (the checks of
``run_command_file``), is refused with the reason in the result PV before
anything moves.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

from bluesky import plan_stubs as bps
from bluesky.utils import Msg, RequestAbort, RequestStop
from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal

from ..instrument import Instrument
from .command_file import check_command_file, run_command
from .command_parser import CommandFileError

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "usxLAX:"
MESSAGE_LENGTH = 4096
START, IDLE = "Start", "Idle"
WAITING = "waiting for a command file"


class RemoteOpsPVs(Device):
    """The remote-operation PVs (see the module docstring)."""

    path = Cpt(EpicsSignal, "AutoCollectionStrInput", string=True)
    start = Cpt(EpicsSignal, "AutoCollectionStart", string=True)
    state = Cpt(EpicsSignal, "AutoCollectionState", string=True)
    line = Cpt(EpicsSignal, "AutoCollectionLine")
    result = Cpt(EpicsSignal, "AutoCollectionResult", string=True)


def remote_ops_pvs(config: dict[str, Any]) -> RemoteOpsPVs:
    """The remote-operation device of a PV map (not connected)."""
    prefix = (config.get("pv_prefix") or "") + config.get("remote_ops", DEFAULT_PREFIX)
    return RemoteOpsPVs(prefix, name="remote_ops")


def folder_problem(path: str, allowed: Iterable[str | Path]) -> str:
    """Why ``path`` may not run ('' when it is a file inside one of the ``allowed`` folders)."""
    if not path.strip():
        return "no command-file path given"
    resolved = Path(path).expanduser().resolve()
    folders = [Path(a).expanduser().resolve() for a in allowed]
    if not any(resolved.is_relative_to(f) for f in folders):
        names = ", ".join(str(f) for f in folders) or "none configured"
        return f"{path} is outside the allowed folders ({names})"
    if not resolved.is_file():
        return f"{path}: no such command file"
    return ""


def _message(text: str) -> str:
    return text if len(text) < MESSAGE_LENGTH else text[: MESSAGE_LENGTH - 4] + " ..."


def run_remote_file(
    inst: Instrument, pvs: RemoteOpsPVs, path: str, allowed: Iterable[str | Path]
) -> Generator[Msg, Any, str]:
    """Check and run one requested file, reporting in the PVs; returns the result text.

    Refusals (folder, any problem of the file) happen before anything moves.
    Each line runs as in ``run_command_file``; a failing line ends the file.
    """
    problem = folder_problem(path, allowed)
    if problem:
        return f"refused: {problem}"
    yield from bps.mv(pvs.state, _message(f"checking {path}"))
    try:
        commands, user = yield from check_command_file(inst, Path(path).resolve())
    except CommandFileError as exc:
        return f"refused: {'; '.join(exc.problems)}"
    for number, command in enumerate(commands, start=1):
        state = f"running {path} line {command.line} ({number}/{len(commands)}): {command.text}"
        yield from bps.mv(pvs.line, command.line, pvs.state, _message(state))
        try:
            yield from run_command(inst, command, user)
        except (RequestAbort, RequestStop, GeneratorExit):
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the requester as failed
            return f"failed: {command.where}: {command.action}: {type(exc).__name__}: {exc}"
    return f"done: {path}, {len(commands)} command(s)"


def remote_ops(
    inst: Instrument,
    pvs: RemoteOpsPVs,
    allowed: Iterable[str | Path],
    *,
    max_requests: int | None = None,
    poll_s: float = 0.2,
) -> Generator[Msg, Any, list[str]]:
    """Wait for command-file requests in the PVs and run each; returns the results.

    Runs until ``max_requests`` requests were handled (None: until stopped).
    Emits the runs of each file's lines; between requests only reads the PVs
    and sleeps (``poll_s``), so the RunEngine may be paused or stopped there.
    """
    allowed = list(allowed)
    results: list[str] = []
    while max_requests is None or len(results) < max_requests:
        yield from bps.mv(pvs.state, WAITING, pvs.line, 0)
        while (yield from bps.rd(pvs.start)) != START:
            yield from bps.sleep(poll_s)
        path = str((yield from bps.rd(pvs.path)) or "").strip()
        yield from bps.mv(pvs.start, IDLE)
        logger.info("remote ops: request %r", path)
        result = yield from run_remote_file(inst, pvs, path, allowed)
        logger.info("remote ops: %s", result)
        yield from bps.mv(pvs.result, _message(result), pvs.line, 0)
        results.append(result)
    yield from bps.mv(pvs.state, "off")
    return results
