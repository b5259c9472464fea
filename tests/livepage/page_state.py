"""What the open live page shows, read from its DOM in the browser."""

from __future__ import annotations

from typing import Any

READ_PAGE = """
const hiddenOr = (id) => {
  const e = document.getElementById(id);
  return e.hidden ? null : e.textContent;
};
const TECHNIQUES = ['USAXS', 'SAXS', 'WAXS'];
const byTechnique = (list, f) => Object.fromEntries(list.map((t) => [t, f(t)]));
const shown = (img) => (img.complete && img.naturalWidth > 0 ? img.dataset.uid : null);
const rows = (selector) => [...document.querySelectorAll(selector)];
const current = document.querySelector('#command-file li.current');
const plot = (t) => document.getElementById('plot-' + t);
const frame = (t) => document.getElementById('frame-' + t);
return {
  polls: Number(document.body.dataset.polls || 0),
  current: current ? Number(current.id.replace('cmd-line-', '')) : null,
  run: document.getElementById('run').textContent,
  progress: document.getElementById('progress-bar').style.width,
  suspension: hiddenOr('suspension'),
  stale: hiddenOr('stale'),
  uids: byTechnique(TECHNIQUES, (t) => plot(t).dataset.uids),
  traces: byTechnique(TECHNIQUES, (t) => Number(plot(t).dataset.traces || 0)),
  svgTraces: document.querySelectorAll('#plot-SAXS .scatterlayer .trace').length,
  runs: rows('#runs tbody tr').map((r) => [r.dataset.uid, r.dataset.status]),
  frames: byTechnique(['SAXS', 'WAXS'], (t) => shown(frame(t))),
  status: Object.fromEntries(rows('#status tr').map((r) => [r.id, r.children[1].textContent])),
};
"""


def page_state(driver: Any) -> dict[str, Any]:
    """The page's visible state: highlighted command line, run text, plots, table, banners."""
    return driver.execute_script(READ_PAGE)
