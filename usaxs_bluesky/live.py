"""Live feedback while scans run: a table of each point, progress bars, plots when possible.

The table (bluesky's ``BestEffortCallback``, hinted fields of the primary
stream) and the progress bars (``ProgressBarManager``, tqdm on stderr) work
headless. Live plots are switched on only when a display is available
(:func:`has_display`); without one nothing is drawn and nothing breaks.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from bluesky import RunEngine
from bluesky.callbacks.best_effort import BestEffortCallback
from bluesky.utils import ProgressBarManager

_NON_INTERACTIVE = {"agg", "pdf", "ps", "svg", "pgf", "cairo", "template"}


def has_display() -> bool:
    """True when matplotlib can show windows (interactive backend and, on Linux, a display)."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    backend = os.environ.get("MPLBACKEND", "")
    if not backend:
        import matplotlib

        backend = matplotlib.get_backend()
    backend = backend.lower()
    return backend not in _NON_INTERACTIVE and "inline" not in backend


@dataclass
class LiveFeedback:
    """What :func:`install_live_feedback` installed; ``remove()`` takes it off the RunEngine."""

    RE: RunEngine
    callback: BestEffortCallback | None = None
    tokens: list[int] = field(default_factory=list)
    previous_waiting_hook: object = None
    plots: bool = False

    def remove(self) -> None:
        """Unsubscribe the table/plots and restore the previous waiting hook."""
        for token in self.tokens:
            self.RE.unsubscribe(token)
        self.tokens.clear()
        self.RE.waiting_hook = self.previous_waiting_hook


def install_live_feedback(
    RE: RunEngine,
    *,
    table: bool = True,
    progress: bool = True,
    plots: bool | None = None,
    baseline: bool = False,
) -> LiveFeedback:
    """Subscribe a live table (and plots) and install progress bars on ``RE``.

    ``plots=None`` draws live plots only when :func:`has_display` is True;
    ``plots=True`` without a display is turned off (nothing breaks).
    ``baseline`` prints the baseline readings at the start and end of runs.
    Returns a :class:`LiveFeedback` (``.remove()`` undoes it).
    """
    display = has_display()
    use_plots = display if plots is None else (plots and display)
    feedback = LiveFeedback(RE=RE, previous_waiting_hook=RE.waiting_hook, plots=use_plots)
    if table or use_plots:
        bec = BestEffortCallback()
        if not table:
            bec.disable_table()
        if not use_plots:
            bec.disable_plots()
        if not baseline:
            bec.disable_baseline()
        feedback.callback = bec
        feedback.tokens.append(RE.subscribe(bec))
    if progress:
        RE.waiting_hook = ProgressBarManager()
    return feedback
