// The monitor's status page: its state and recent checks from /api/state.
"use strict";
(function () {
  const S = window.stampede;
  const $ = id => document.getElementById(id);
  const chart = S.lineChart($("c-p95"), [{ label: "p95", points: true },
    { label: "failed", color: "#c62828", points: true, pointSize: 10, noLine: true }], { time: true, xLabel: "check started" });
  let loads = 0, state = null;

  async function load() {
    const r = await fetch("/api/state");
    if (!r.ok) throw new Error("/api/state: " + r.status);
    state = await r.json();
    const s = state.state;
    $("title").textContent = "stampede · monitor · " + state.plan;
    const st = $("status");
    st.textContent = s.checks === 0 ? "no check yet" : s.open ? "incident open" : "healthy";
    st.className = "status " + (s.open ? "fail" : s.checks ? "pass" : "running");
    $("incident").textContent = s.open ? "Incident " + s.incident + " since " + s.since + ": " + s.reason : "";
    $("t-checks").textContent = String(s.checks);
    $("t-failures").textContent = String(s.failures);
    $("t-alerts").textContent = String(s.alerts);
    $("t-last").textContent = s.last_check ? s.last_check.replace("T", " ").slice(0, 19) : "–";
    const runs = state.runs.slice().reverse(); // oldest first
    chart.setData([runs.map(c => c.started), runs.map(c => c.p95), runs.map(c => c.healthy ? null : c.p95)]);
    loads++;
  }
  function fail(err) { $("incident").textContent = String(err); }
  $("refresh").addEventListener("click", () => load().catch(fail));
  load().catch(fail);
  setInterval(() => load().catch(fail), 5000);

  window.stampedeMonitor = { loads: () => loads, points: () => chart.data[0].length, state: () => state };
})();
