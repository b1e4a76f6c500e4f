// The live dashboard: Server-Sent Events from /events drawn with uPlot.
"use strict";
(function () {
  const S = window.stampede;
  const MAX_POINTS = 20000; // the server's history is bounded the same way
  const $ = id => document.getElementById(id);

  const w = { t: [], rps: [], err: [], p50: [], p95: [], p99: [], vus: [] };
  const sys = { t: [], cpu: [], rss: [], heap: [], live: [], gc: [], pause: [] };
  const phases = []; // {name, start, end}
  let requests = 0, errors = 0, meta = null, final = null;

  const charts = {
    throughput: S.lineChart($("c-throughput"), [{ label: "req/s" }, { label: "errors/s", color: "#c62828" }]),
    latency: S.lineChart($("c-latency"), [{ label: "p50" }, { label: "p95", color: "#9a6700" }, { label: "p99", color: "#c62828" }]),
    vus: S.lineChart($("c-vus"), [{ label: "VUs" }]),
    cpu: null, mem: null, gc: null,
  };
  const selectTab = S.tabs(document.querySelector("[role=tablist]"));

  function push(arrs, vals) {
    for (const k in vals) {
      arrs[k].push(vals[k]);
      if (arrs[k].length > MAX_POINTS) arrs[k].shift();
    }
  }

  let pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      charts.throughput.setData([w.t, w.rps, w.err]);
      charts.latency.setData([w.t, w.p50, w.p95, w.p99]);
      charts.vus.setData([w.t, w.vus]);
      if (charts.cpu) {
        charts.cpu.setData([sys.t, sys.cpu]);
        charts.mem.setData([sys.t, sys.rss, sys.heap, sys.live]);
        charts.gc.setData([sys.t, sys.gc, sys.pause]);
      }
      drawPhases();
    }, 200);
  }

  function drawPhases() {
    const el = $("phases");
    const total = phases.length ? phases[phases.length - 1].end - phases[0].start : 0;
    el.textContent = "";
    for (const p of phases) {
      const s = document.createElement("span");
      s.textContent = p.name;
      s.title = p.name + ": " + p.start.toFixed(0) + "–" + p.end.toFixed(0) + " s";
      s.style.flex = String(Math.max(total ? (p.end - p.start) / total : 1, 0.02));
      if (p.pass === true) s.className = "pass";
      if (p.pass === false) s.className = "fail";
      el.appendChild(s);
    }
  }

  function status(text, cls) {
    const el = $("status");
    el.textContent = text;
    el.className = "status " + cls;
  }

  const es = new EventSource("/events");
  es.addEventListener("open", () => { if (!final) status("running", "running"); });
  es.addEventListener("meta", ev => {
    meta = JSON.parse(ev.data);
    // A reconnection sends the whole history again.
    for (const k in w) w[k].length = 0;
    for (const k in sys) sys[k].length = 0;
    phases.length = 0;
    requests = 0; errors = 0;
    $("title").textContent = "stampede · " + (meta.kind === "test" ? "test " : "run ") + meta.plan;
    $("target").textContent = meta.target || "";
  });
  es.addEventListener("window", ev => {
    const d = JSON.parse(ev.data);
    push(w, { t: d.t, rps: d.rps, err: d.errors, p50: d.p50, p95: d.p95, p99: d.p99, vus: d.vus });
    requests += d.requests; errors += d.errors;
    const last = phases[phases.length - 1];
    if (last && last.name === d.phase) last.end = d.t + 1;
    else phases.push({ name: d.phase, start: d.t, end: d.t + 1 });
    $("t-requests").textContent = requests.toLocaleString("en");
    $("t-errors").textContent = errors.toLocaleString("en");
    $("t-rps").textContent = d.rps.toFixed(1);
    $("t-p95").textContent = S.fmtMs(d.p95);
    $("t-vus").textContent = String(d.vus);
    $("t-elapsed").textContent = Math.round(d.t + 1) + " s";
    redraw();
  });
  es.addEventListener("system", ev => {
    const d = JSON.parse(ev.data);
    if (!charts.cpu) {
      // The GC chart waits for a Go runtime's numbers (Prometheus or pprof).
      for (const id of ["sys-cpu", "sys-mem"]) $(id).hidden = false;
      charts.cpu = S.lineChart($("c-cpu"), [{ label: "CPU %" }]);
      charts.mem = S.lineChart($("c-mem"), [{ label: "RSS" }, { label: "heap in use", color: "#1a7f37" }, { label: "heap live", color: "#9a6700" }]);
      charts.gc = S.lineChart($("c-gc"), [{ label: "GC/s" }, { label: "pause %", scale: "y2", color: "#c62828" }]);
    }
    if (d.gc_per_s > 0 || d.gc_pause_pct > 0 || d.heap_mb > 0) $("sys-gc").hidden = false;
    push(sys, { t: d.t, cpu: d.cpu, rss: d.rss_mb, heap: d.heap_mb, live: d.heap_live_mb, gc: d.gc_per_s, pause: d.gc_pause_pct });
    redraw();
  });
  es.addEventListener("ended", ev => {
    status("concluding…", "running");
  });
  es.addEventListener("final", ev => {
    es.close();
    final = JSON.parse(ev.data);
    const v = final.verdict || "none";
    status(v, v === "pass" ? "pass" : v === "fail" ? "fail" : "inconclusive");
    $("t-requests").textContent = final.requests.toLocaleString("en");
    $("t-errors").textContent = final.errors.toLocaleString("en");
    $("verdict").textContent = "verdict: " + v + (final.verdict_reason ? " — " + final.verdict_reason : "") +
      (final.id ? " · recorded as run " + final.id : "");
    const ul = $("findings");
    ul.textContent = "";
    if (!final.findings.length) {
      const li = document.createElement("li");
      li.textContent = "no findings";
      ul.appendChild(li);
    }
    for (const f of final.findings) {
      const li = document.createElement("li");
      const sev = document.createElement("span");
      sev.className = "sev " + f.severity;
      sev.textContent = f.severity;
      li.appendChild(sev);
      li.appendChild(document.createTextNode(f.title));
      ul.appendChild(li);
    }
    for (const p of final.phases || []) {
      for (const q of phases) if (q.name === p.name) q.pass = p.skipped ? undefined : p.pass;
    }
    $("final").hidden = false;
    redraw();
    if (final.report) {
      $("report-frame").srcdoc = final.report;
      const tab = $("tab-report");
      tab.disabled = false;
      selectTab(tab);
      tab.focus();
    }
  });
  es.addEventListener("error", () => { if (!final) status("reconnecting…", "running"); });

  // For tests and the curious: what the page has drawn.
  window.stampedeDashboard = {
    points: () => ({ throughput: charts.throughput.data[0].length, latency: charts.latency.data[0].length,
      vus: charts.vus.data[0].length, system: charts.cpu ? charts.cpu.data[0].length : 0 }),
    phases: () => phases.map(p => p.name),
    final: () => final && Object.assign({}, final, { report: final.report ? final.report.length : 0 }),
    requests: () => requests,
  };
})();
