// The live page: polls the JSON endpoints and updates the DOM; never reloads.
"use strict";
const BASE = document.body.dataset.base;
const POLL_MS = Number(document.body.dataset.pollMs) || 2000;
const KEY = new URLSearchParams(window.location.search).get("api_key");
const TECHNIQUES = ["USAXS", "SAXS", "WAXS"];
let lastOk = null;   // time of the last successful poll (browser clock, ms)
let staleFrom = null; // when polling the server started failing
const seen = {};      // last JSON text per endpoint, to redraw only on change

function withKey(url) {
  return KEY ? url + (url.includes("?") ? "&" : "?") + "api_key=" + encodeURIComponent(KEY) : url;
}

async function getJSON(path) {
  const headers = KEY ? { Authorization: "Apikey " + KEY } : {};
  const response = await fetch(BASE + path, { headers, cache: "no-store" });
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

function clock(epochS) {
  return epochS ? new Date(epochS * 1000).toLocaleTimeString() : "-";
}

function fmt(value, unit) {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number") {
    const text = Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3)
      ? value.toExponential(4) : String(Number(value.toPrecision(6)));
    return unit ? text + " " + unit : text;
  }
  return unit ? value + " " + unit : String(value);
}

function setText(id, text) {
  const el = document.getElementById(id);
  if (el.textContent !== text) el.textContent = text;
}

function showStale(status) {
  const parts = [];
  if (staleFrom) parts.push("page server unreachable, stale since " + new Date(staleFrom).toLocaleTimeString());
  if (status && status.pv_stale_since) parts.push("instrument PVs stale since " + clock(status.pv_stale_since));
  if (status && status.catalog_stale_since) parts.push("catalog stale since " + clock(status.catalog_stale_since));
  const el = document.getElementById("stale");
  el.hidden = parts.length === 0;
  setText("stale", parts.join("; "));
}

function renderStatus(s) {
  setText("viewer", "viewing as: " + s.viewer);
  setText("updated", "last update " + clock(s.last_update));
  const body = document.querySelector("#status tbody");
  body.replaceChildren(...s.items.map((item) => {
    const row = document.createElement("tr");
    row.id = "status-" + item.name;
    row.innerHTML = "<th></th><td></td>";
    row.children[0].textContent = item.name.replace(/_/g, " ");
    row.children[1].textContent = fmt(item.value, item.unit);
    row.title = item.pv;
    return row;
  }));
  const susp = document.getElementById("suspension");
  susp.hidden = !s.suspension;
  setText("suspension", s.suspension ? "suspended: " + s.suspension : "");
  const err = document.getElementById("last-error");
  err.hidden = !s.last_error;
  setText("last-error", s.last_error
    ? "last error " + clock(s.last_error.time) + ": " + s.last_error.plan + " #" + s.last_error.scan_id
      + " " + s.last_error.status + " " + (s.last_error.reason || "") : "");
  const run = s.run;
  let text = "idle";
  let fraction = 0;
  if (run) {
    text = run.plan + " #" + run.scan_id + " \u201c" + run.sample + "\u201d";
    if (run.points_total) {
      text += " \u2014 points " + fmt(run.points_done) + " / " + fmt(run.points_total);
      fraction = Math.min(1, (run.points_done || 0) / run.points_total);
    }
    if (run.time_left_s !== null) text += " \u2014 " + Math.round(run.time_left_s) + " s left";
  }
  setText("run", text);
  document.getElementById("progress-bar").style.width = (100 * fraction).toFixed(1) + "%";
  renderCommandFile(s.command_file);
}

function renderCommandFile(cf) {
  const list = document.getElementById("command-file");
  const key = JSON.stringify(cf);
  if (seen.commandFile === key) return;
  seen.commandFile = key;
  setText("command-name", cf ? cf.name : "");
  list.dataset.current = cf && cf.current ? String(cf.current) : "";
  if (!cf) { list.replaceChildren(); return; }
  list.replaceChildren(...cf.lines.map((line, n) => {
    const li = document.createElement("li");
    li.id = "cmd-line-" + (n + 1);
    li.textContent = line || "\u00a0";
    if (cf.running && n + 1 === cf.current) li.className = "current";
    return li;
  }));
  const current = list.querySelector(".current");
  if (current) current.scrollIntoView({ block: "nearest" });
}

function renderRuns(r) {
  const body = document.querySelector("#runs tbody");
  document.getElementById("no-data").hidden = r.runs.length > 0;
  body.replaceChildren(...r.runs.map((run) => {
    const row = document.createElement("tr");
    row.dataset.uid = run.uid;
    row.dataset.status = run.status;
    for (const text of [clock(run.time), run.sample, run.plan, run.scan_id, run.status]) {
      const td = document.createElement("td");
      td.textContent = text === null ? "" : String(text);
      row.appendChild(td);
    }
    const files = document.createElement("td");
    for (const f of run.files) {
      const a = document.createElement("a");
      a.href = withKey(BASE + "/api/runs/" + run.uid + "/files/" + f.index);
      a.textContent = f.kind;
      a.title = f.name;
      files.append(a, " ");
    }
    row.appendChild(files);
    return row;
  }));
}

function renderPlots(latest) {
  for (const technique of TECHNIQUES) {
    const runs = latest.plots[technique] || [];
    const div = document.getElementById("plot-" + technique);
    const traces = [];
    let samples = 0;
    let absolute = true;
    let uncalibratedBlanks = false;
    for (const run of runs) {
      for (const c of run.curves) {
        const isBlankRun = !c.blank; // a blank is reduced without one
        if (isBlankRun) uncalibratedBlanks = uncalibratedBlanks || !c.absolute;
        else { samples += 1; absolute = absolute && c.absolute; }
        traces.push({
          x: c.q, y: c.i, type: "scatter", mode: "lines",
          line: isBlankRun ? { dash: "dot" } : {},
          name: "#" + run.scan_id + " " + run.sample + " " + c.label + (c.blank ? " (blank " + c.blank + ")" : ""),
          error_y: { type: "data", array: c.di, visible: false },
        });
      }
    }
    const yTitle = samples && absolute
      ? "I (1/cm)" + (uncalibratedBlanks ? "; blanks (dotted) arbitrary" : "")
      : "I (arbitrary)";
    const layout = {
      title: { text: technique, font: { size: 14 } },
      xaxis: { type: "log", title: { text: "Q (1/\u00c5)" }, exponentformat: "power" },
      yaxis: { type: "log", title: { text: yTitle }, exponentformat: "power" },
      margin: { l: 60, r: 10, t: 30, b: 45 },
      legend: { font: { size: 9 }, x: 1, xanchor: "right", y: 1 },
      uirevision: technique,
    };
    Plotly.react(div, traces, layout, { displaylogo: false, responsive: true });
    div.dataset.uids = runs.map((run) => run.uid).join(" ");
    div.dataset.traces = String(traces.length);
  }
  for (const technique of ["SAXS", "WAXS"]) {
    const img = document.getElementById("frame-" + technique);
    const uid = latest.frames[technique];
    img.hidden = !uid;
    if (uid && img.dataset.uid !== uid) {
      img.dataset.uid = uid;
      img.src = withKey(BASE + "/api/runs/" + uid + "/frame.png");
    }
  }
}

async function poll() {
  let status = null;
  try {
    status = await getJSON("/api/status");
    renderStatus(status);
    const runs = await getJSON("/api/runs");
    const runsText = JSON.stringify(runs);
    if (seen.runs !== runsText) { seen.runs = runsText; renderRuns(runs); }
    const latest = await getJSON("/api/latest");
    const latestText = JSON.stringify(latest);
    if (seen.latest !== latestText) { seen.latest = latestText; renderPlots(latest); }
    lastOk = Date.now();
    staleFrom = null;
    document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
  } catch (error) {
    if (staleFrom === null) staleFrom = lastOk || Date.now();
    document.body.dataset.error = String(error);
  }
  showStale(status);
  setTimeout(poll, POLL_MS);
}

poll();
