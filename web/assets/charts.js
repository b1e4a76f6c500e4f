// Shared by stampede's pages: line charts drawn with uPlot, and tabs.
"use strict";
(function () {
  const palette = ["#1f5fbf", "#c62828", "#1a7f37", "#9a6700", "#6f42c1", "#0b7285"];

  // lineChart draws series (each {label, scale?}) over x in el; the x
  // axis is seconds since the run started unless opts.time is set.
  function lineChart(el, series, opts) {
    opts = opts || {};
    const width = () => Math.max(300, (el.clientWidth || el.parentElement.clientWidth || 600));
    const scales = { x: { time: !!opts.time } };
    const axes = [{ label: opts.xLabel || (opts.time ? "" : "seconds") }, { scale: "y", size: 60 }];
    if (series.some(s => s.scale === "y2")) {
      scales.y2 = { auto: true };
      axes.push({ scale: "y2", side: 1, grid: { show: false }, size: 60 });
    }
    const u = new uPlot({
      width: width(), height: opts.height || 220,
      scales: scales, axes: axes,
      cursor: { drag: { x: true, y: false } },
      series: [{ label: opts.time ? "time" : "t" }].concat(series.map((s, i) => ({
        label: s.label, scale: s.scale || "y", stroke: s.color || palette[i % palette.length], width: 1.5,
        points: s.points ? { show: true, size: s.pointSize || 6, space: 0 } : { show: false }, spanGaps: !s.noLine,
        paths: s.noLine ? () => null : undefined,
      }))),
    }, [[]].concat(series.map(() => [])), el);
    window.addEventListener("resize", () => u.setSize({ width: width(), height: opts.height || 220 }));
    return u;
  }

  // tabs wires a tablist: arrow keys move between tabs, Enter and Space
  // (native to buttons) choose one.
  function tabs(list, onChange) {
    const buttons = Array.from(list.querySelectorAll("[role=tab]"));
    function select(b) {
      for (const o of buttons) {
        const on = o === b;
        o.setAttribute("aria-selected", on ? "true" : "false");
        o.tabIndex = on ? 0 : -1;
        document.getElementById(o.getAttribute("aria-controls")).hidden = !on;
      }
      if (onChange) onChange(b);
    }
    for (const b of buttons) {
      b.addEventListener("click", () => select(b));
      b.addEventListener("keydown", ev => {
        if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
        const on = buttons.filter(o => !o.disabled);
        const i = on.indexOf(b) + (ev.key === "ArrowRight" ? 1 : -1);
        const next = on[(i + on.length) % on.length];
        next.focus();
        select(next);
        ev.preventDefault();
      });
    }
    select(buttons.find(b => b.getAttribute("aria-selected") === "true") || buttons[0]);
    return select;
  }

  function fmtMs(v) {
    if (v == null || isNaN(v)) return "–";
    if (v >= 1000) return (v / 1000).toFixed(2) + " s";
    if (v >= 10) return v.toFixed(0) + " ms";
    return v.toFixed(2) + " ms";
  }

  window.stampede = { lineChart: lineChart, tabs: tabs, fmtMs: fmtMs };
})();
