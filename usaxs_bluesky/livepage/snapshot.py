"""``usaxs live --snapshot DIR``: the page as static files (HTML + PNG) for a plain web server.

Writes ``index.html`` (status, command file, run table), one PNG of the
curves per technique (log-log) and the latest SAXS/WAXS frames, for the
given viewer (public by default: status only unless runs are public). Files
are written under temporary names and renamed, so a web server never serves
a half-written page.
"""

from __future__ import annotations

import datetime
import html
import io
from pathlib import Path
from typing import Any

from ..contract.publish import write_file
from .access import Viewer
from .model import FRAME_TECHNIQUES, TECHNIQUES, LiveModel

INDEX = "index.html"
CURRENT = " class=current"


def _clock(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return datetime.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def curves_png(technique: str, runs: list[dict[str, Any]]) -> bytes:
    """PNG of the curves of ``runs`` (as :meth:`LiveModel.latest` gives them), log-log."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.0), dpi=100)
    ax = fig.add_subplot()
    absolute = True
    for run in runs:
        for c in run["curves"]:
            absolute = absolute and c["absolute"]
            blank = f" (blank {c['blank']})" if c["blank"] else ""
            label = f"#{run['scan_id']} {run['sample']} {c['label']}{blank}"
            ax.loglog(c["q"], c["i"], label=label[:60])
    ax.set_title(technique)
    ax.set_xlabel("Q (1/Å)")
    ax.set_ylabel("I (1/cm)" if absolute and runs else "I (arbitrary)")
    if runs:
        ax.legend(fontsize=6)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def write_snapshot(model: LiveModel, viewer: Viewer, folder: str | Path) -> list[Path]:
    """Write the page for ``viewer`` into ``folder``; returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    status = model.status()
    latest = model.latest(viewer)
    runs = model.runs(viewer)["runs"]
    written: list[Path] = []
    images = []
    if runs:
        for technique in TECHNIQUES:
            name = f"curves_{technique}.png"
            write_file(folder / name, curves_png(technique, latest["plots"][technique]))
            written.append(folder / name)
            images.append(name)
        for technique in FRAME_TECHNIQUES:
            uid = latest["frames"].get(technique)
            if uid:
                name = f"frame_{technique}.png"
                try:
                    write_file(folder / name, model.data.frame_png(model.run(viewer, uid)))
                except LookupError:
                    continue
                written.append(folder / name)
                images.append(name)
    write_file(folder / INDEX, render_html(status, runs, images).encode())
    written.append(folder / INDEX)
    return written


def render_html(status: dict[str, Any], runs: list[dict[str, Any]], images: list[str]) -> str:
    """The static page's HTML (no scripts; every value escaped)."""
    e = html.escape
    rows = "".join(
        f"<tr><th>{e(i['name'].replace('_', ' '))}</th>"
        f"<td>{e(str(i['value']))} {e(i['unit'])}</td></tr>"
        for i in status["items"]
    )
    stale = [
        f"{what} stale since {_clock(status[key])}"
        for what, key in (("PVs", "pv_stale_since"), ("catalog", "catalog_stale_since"))
        if status[key]
    ]
    run = status["run"]
    running = "idle"
    if run:
        running = f"{run['plan']} #{run['scan_id']} {run['sample']}"
        if run["points_total"]:
            running += f" — points {run['points_done']:g} / {run['points_total']:g}"
    cf = status["command_file"]
    commands = ""
    if cf:
        commands = (
            f"<h2>Command file {e(cf['name'])}</h2><ol>"
            + "".join(
                f"<li{CURRENT if cf['running'] and n == cf['current'] else ''}>{e(line)}</li>"
                for n, line in enumerate(cf["lines"], start=1)
            )
            + "</ol>"
        )
    table = "".join(
        f"<tr><td>{_clock(r['time'])}</td><td>{e(r['sample'])}</td><td>{e(r['plan'])}</td>"
        f"<td>{r['scan_id']}</td><td>{e(r['status'])}</td></tr>"
        for r in runs
    )
    notes = "".join(
        f"<p class=warn>{e(text)}</p>"
        for text in [
            *stale,
            *(["suspended: " + status["suspension"]] if status["suspension"] else []),
        ]
    )
    pictures = "".join(f'<img src="{e(name)}" alt="{e(name)}">' for name in images)
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>USAXS live data</title>"
        "<style>body{font-family:sans-serif}.warn{background:#f39c12}li.current{background:#ffe066}"
        "img{max-width:45%}td,th{padding:0 .5em;text-align:left}</style></head><body>"
        f"<h1>USAXS / SAXS / WAXS live data</h1><p>snapshot {_clock(status['server_time'])}, "
        f"last update {_clock(status['last_update'])}</p>{notes}"
        f"<h2>Instrument</h2><table>{rows}</table><h2>Running</h2><p>{e(running)}</p>{commands}"
        f"{pictures}<h2>Runs</h2><table>{table}</table></body></html>"
    )
