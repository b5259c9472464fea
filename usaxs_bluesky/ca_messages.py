"""libca's exception messages as log records in a file, not blocks printed on stderr.

When an IOC goes away under a connected client (the simulator stopped or
restarted, a crate rebooted) libca's default handler prints a seven-line
``CA.Client.Exception ... Virtual circuit disconnect`` block on stderr, in
the middle of the user's session. :func:`route_ca_messages` installs a
handler (``ca_add_exception_event``) that logs each message as one line
(logger :data:`LOGGER`) in a file of the data directory instead, and does
the same for libca's other prints (``ca_replace_printf_handler``: e.g. a
repeater it cannot reach); ophyd still reports the disconnected devices to
the plans that use them.
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path

LOGGER = "usaxs_bluesky.ca"
LOG_FILE = "ca_messages.log"
log = logging.getLogger(LOGGER)


class _ExceptionArgs(ctypes.Structure):
    """libca's ``struct exception_handler_args`` (cadef.h)."""

    _fields_ = [
        ("usr", ctypes.c_void_p),
        ("chid", ctypes.c_void_p),
        ("type", ctypes.c_long),
        ("count", ctypes.c_long),
        ("addr", ctypes.c_void_p),
        ("stat", ctypes.c_long),
        ("op", ctypes.c_long),
        ("ctx", ctypes.c_char_p),
        ("pFile", ctypes.c_char_p),
        ("lineNo", ctypes.c_uint),
    ]


_HANDLER_TYPE = ctypes.CFUNCTYPE(None, _ExceptionArgs)


def _on_exception(args: _ExceptionArgs) -> None:
    """Log one libca exception (called from libca's threads)."""
    from epics import ca

    context = (args.ctx or b"").decode(errors="replace")
    log.warning("%s: %s", ca.message(args.stat), context)


def _on_print(*parts: str) -> None:
    """Log one of libca's prints (its format string: libca passes no arguments through)."""
    log.warning("%s", " ".join(parts).strip())


_handler = _HANDLER_TYPE(_on_exception)  # kept alive as long as libca may call it
_file_handler: logging.FileHandler | None = None


def route_ca_messages(data_dir: str | Path) -> Path:
    """Log libca's exceptions to ``<data_dir>/ca_messages.log`` (not stderr); return the file.

    Call after pyepics made its context (e.g. once the devices are connected).
    Called again, the newest file replaces the previous one.
    """
    global _file_handler
    from epics import ca

    path = Path(data_dir) / LOG_FILE
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    if _file_handler is not None:
        log.removeHandler(_file_handler)
        _file_handler.close()
    log.addHandler(handler)
    log.propagate = False
    _file_handler = handler
    if ca.libca is None:
        ca.initialize_libca()
    ca.use_initial_context()
    ca.libca.ca_add_exception_event(_handler, None)
    ca.replace_printf_handler(_on_print)
    return path
