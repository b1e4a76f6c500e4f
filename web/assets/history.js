// The history browser: the store's runs through /api, drawn with uPlot.
"use strict";
(function () {
  const S = window.stampede;
  const $ = id => document.getElementById(id);
  let plans = [], runs = [], trend = [], chart = null, loads = 0;

  async function get(url) {
    const r = await fetch(url);
    if (!r.ok) throw new Error(url + ": " + r.status + " " + (await r.text()));
    return r.headers.get("Content-Type").startsWith("application/json") ? r.json() : r.text();
  }
  const q = s => encodeURIComponent(s);

  function option(sel, value, text) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    sel.appendChild(o);
    return o;
  }

  function label(r) {
    return r.id + " · " + new Date(r.started * 1000).toISOString().slice(0, 16).replace("T", " ") + (r.baseline ? " · baseline" : "");
  }

  function fmtValue(metric, v) {
    if (metric === "rps") return v.toFixed(1) + "/s";
    if (metric === "error_rate") return (100 * v).toFixed(2) + "%";
    return S.fmtMs(v);
  }

  async function loadPlan() {
    const plan = $("plan").value;
    runs = await get("/api/runs?plan=" + q(plan));
    const steps = await get("/api/steps?plan=" + q(plan));
    const step = $("step");
    const keep = step.value;
    step.textContent = "";
    option(step, "", "whole run");
    for (const s of steps) option(step, s, s);
    step.value = steps.includes(keep) ? keep : "";

    const body = $("runs");
    body.textContent = "";
    for (const r of runs) {
      const tr = document.createElement("tr");
      const cells = [r.id + (r.baseline ? " (baseline)" : ""), new Date(r.started * 1000).toISOString().replace("T", " ").slice(0, 19),
        r.kind + (r.phase ? " " + r.phase : ""), r.aborted ? "aborted" : (r.verdict || r.state),
        r.rps.toFixed(1), S.fmtMs(r.p95), (100 * r.error_rate).toFixed(2) + "%"];
      cells.forEach((c, i) => {
        const td = document.createElement("td");
        td.textContent = c;
        if (i >= 4) td.className = "num";
        if (i === 0 && r.baseline) td.className = "baseline";
        tr.appendChild(td);
      });
      const td = document.createElement("td");
      const a = document.createElement("a");
      a.href = "/runs/" + q(r.id) + "/report";
      a.textContent = "report";
      a.setAttribute("aria-label", "report of run " + r.id);
      td.appendChild(a);
      tr.appendChild(td);
      body.appendChild(tr);
    }
    for (const id of ["base", "head"]) {
      const sel = $(id);
      sel.textContent = "";
      for (const r of runs) option(sel, r.id, label(r));
    }
    const base = runs.find(r => r.baseline) || runs[runs.length - 1];
    if (base) $("base").value = base.id;
    if (runs.length) $("head").value = runs[0].id;
    $("compare").hidden = true;
    await loadTrend();
  }

  async function loadTrend() {
    const plan = $("plan").value, metric = $("metric").value, step = $("step").value;
    trend = await get("/api/trend?plan=" + q(plan) + "&metric=" + metric + (step ? "&step=" + q(step) : ""));
    const x = trend.map(p => p.started);
    const y = trend.map(p => p.value);
    const b = trend.map(p => p.baseline ? p.value : null);
    if (!chart) {
      chart = S.lineChart($("c-trend"), [{ label: "value", points: true },
        { label: "baseline", color: "#c62828", points: true, pointSize: 12, noLine: true }],
        { time: true, xLabel: "run started", height: 260 });
    }
    chart.setData([x, y, b]);
    const m = $("metric").selectedOptions[0].textContent;
    $("trend-title").textContent = "Trend: " + m + (step ? " of " + step : "") + " over " + trend.length + " runs";
    const bp = trend.find(p => p.baseline);
    $("trend-note").textContent = bp ? "baseline " + bp.id + ": " + fmtValue(metric, bp.value) : "no baseline set for this plan";
    loads++;
  }

  $("plan").addEventListener("change", () => loadPlan().catch(report));
  $("metric").addEventListener("change", () => loadTrend().catch(report));
  $("step").addEventListener("change", () => loadTrend().catch(report));
  $("compare-form").addEventListener("submit", ev => {
    ev.preventDefault();
    get("/api/compare?base=" + q($("base").value) + "&head=" + q($("head").value)).then(text => {
      const pre = $("compare");
      pre.textContent = text;
      pre.hidden = false;
    }).catch(report);
  });

  function report(err) {
    const pre = $("compare");
    pre.textContent = String(err);
    pre.hidden = false;
  }

  get("/api/plans").then(ps => {
    plans = ps;
    for (const p of ps) option($("plan"), p.plan, p.plan);
    if (!ps.length) {
      $("trend-note").textContent = "the history has no runs yet";
      loads++;
      return;
    }
    const want = new URLSearchParams(location.search).get("plan");
    if (want && ps.some(p => p.plan === want)) $("plan").value = want;
    return loadPlan();
  }).catch(report);

  // For tests and the curious: what the page has loaded.
  window.stampedeHistory = {
    loads: () => loads,
    trend: () => trend,
    points: () => chart ? chart.data[0].length : 0,
    runs: () => runs.map(r => r.id),
  };
})();
