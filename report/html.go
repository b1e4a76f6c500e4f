package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/stats"
)

// The page and its style sheet are embedded so a report is one file that
// opens offline: no script, no font, no image is fetched, and the page's
// Content-Security-Policy forbids fetching any.
//
//go:embed assets/report.html.tmpl assets/report.css
var assets embed.FS

// HTML writes r as one self-contained HTML page: the verdict and the
// thresholds first, then findings and recommendations, then the charts
// (latency percentiles, throughput and users, errors by kind, the system
// under test, the stress and scalability curves) and the tables behind
// them (profiles, heap growth, the comparison with the baseline). A
// section whose data the Run lacks says so in a line. The charts are SVG
// drawn here, so the page needs no script and prints as it shows.
//
// HTML reads the Run as it is: call analyze.Conclude first for findings.
func HTML(w io.Writer, r *result.Run) error {
	page, err := assets.ReadFile("assets/report.html.tmpl")
	if err != nil {
		return err
	}
	css, err := assets.ReadFile("assets/report.css")
	if err != nil {
		return err
	}
	t, err := template.New("report").Funcs(htmlFuncs()).Parse(string(page))
	if err != nil {
		return fmt.Errorf("report template: %w", err)
	}
	v := newHTMLView(r)
	v.CSS = template.CSS(css)
	return t.Execute(w, v)
}

// htmlView is what the page template shows; every number is the Run's.
type htmlView struct {
	CSS       template.CSS
	Run       *result.Run
	Title     string
	Facts     [][2]string
	Verdict   string // PASS, FAIL or ""
	Untrusted string // why the run cannot be trusted, when it cannot
	Aborted   string

	Thresholds []thresholdRow
	Plans      []planGroup
	// StepRows are the per-step table's rows: each step, then the
	// redirects it followed.
	StepRows []stepRow
	Hops     bool // some step followed redirects

	Latency, Throughput, Users, Errors template.HTML
	CPU, Memory, Heap, IO              template.HTML
	Stress, Scale                      template.HTML

	HostMem bool // the CPU chart carries host memory too
}

type thresholdRow struct {
	Phase string
	result.ThresholdResult
}

type planGroup struct {
	Key         result.PlanBucket
	Label, Help string
	Recs        []result.Recommendation
}

func newHTMLView(r *result.Run) *htmlView {
	v := &htmlView{Run: r, Title: r.Plan, StepRows: stepRows(r)}
	v.Hops = slices.ContainsFunc(v.StepRows, func(s stepRow) bool { return s.Hop })
	if v.Title == "" {
		v.Title = "stampede run"
	}
	v.Verdict = strings.ToUpper(string(r.Verdict))
	if r.Generator.Saturated {
		v.Untrusted = r.Generator.Reason
		if v.Untrusted == "" {
			v.Untrusted = "the load generator was saturated"
		}
	}
	if r.Aborted {
		v.Aborted = r.AbortReason
		if v.Aborted == "" {
			v.Aborted = "stopped early"
		}
	}
	v.Facts = facts(r)
	for _, t := range r.Thresholds {
		v.Thresholds = append(v.Thresholds, thresholdRow{"", t})
	}
	for _, p := range r.Phases {
		for _, t := range p.Thresholds {
			v.Thresholds = append(v.Thresholds, thresholdRow{p.Name, t})
		}
	}
	v.Thresholds = append(v.Thresholds, loadThresholds(r)...)
	for _, g := range []planGroup{
		{Key: result.PlanQuickWins, Label: "Quick wins", Help: "little effort for a clear gain: do these first"},
		{Key: result.PlanHighPriority, Label: "High priority", Help: "severe problems worth real work now"},
		{Key: result.PlanLongTerm, Label: "Long term", Help: "larger changes to schedule"},
	} {
		for _, rc := range r.Recommendations {
			if rc.Plan == g.Key {
				g.Recs = append(g.Recs, rc)
			}
		}
		if len(g.Recs) > 0 {
			v.Plans = append(v.Plans, g)
		}
	}
	v.charts(r)
	return v
}

func facts(r *result.Run) [][2]string {
	var out [][2]string
	add := func(k, val string) {
		if val != "" {
			out = append(out, [2]string{k, val})
		}
	}
	add("run", r.ID)
	add("kind", r.Kind)
	add("target", redact.String(r.Target))
	add("network", r.NetworkText())
	if r.Model != "" {
		add("model", string(r.Model))
	}
	if !r.StartedAt.IsZero() {
		add("started", r.StartedAt.UTC().Format(time.DateTime+" MST"))
	}
	if r.Summary.DurationS > 0 {
		add("duration", numText(r.Summary.DurationS)+" s")
	}
	if r.Summary.MaxVUs > 0 {
		add("max users", fmt.Sprint(r.Summary.MaxVUs))
	}
	if r.Segment != "" {
		add("segment", r.Segment)
	}
	if h := r.Host; h != nil {
		host := fmt.Sprintf("%s/%s, %d cores", h.OS, h.Arch, h.Cores)
		if h.CPUModel != "" {
			host += ", " + h.CPUModel
		}
		add("host", host)
	}
	if g := r.Git; g != nil && g.Commit != "" {
		c := g.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if g.Branch != "" {
			c += " (" + g.Branch + ")"
		}
		if g.Dirty {
			c += ", uncommitted changes"
		}
		add("commit", c)
	}
	keys := make([]string, 0, len(r.Tags))
	for k := range r.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add("tag "+k, r.Tags[k])
	}
	return out
}

// phaseBands are the spans of the run's phases: from the windows' phase
// labels, else from the phases' start offsets.
func phaseBands(r *result.Run) []band {
	var out []band
	for i, w := range r.Series {
		if w.Phase == "" {
			continue
		}
		if n := len(out); n > 0 && out[n-1].label == w.Phase && i > 0 && r.Series[i-1].Phase == w.Phase {
			out[n-1].x1 = w.TS + 1
			continue
		}
		out = append(out, band{x0: w.TS, x1: w.TS + 1, label: w.Phase})
	}
	if len(out) > 0 || len(r.Phases) == 0 {
		return out
	}
	end := r.Summary.DurationS
	if n := len(r.Series); n > 0 {
		end = max(end, r.Series[n-1].TS+1)
	}
	for i, p := range r.Phases {
		x1 := end
		if i+1 < len(r.Phases) {
			x1 = r.Phases[i+1].StartS
		}
		out = append(out, band{x0: p.StartS, x1: x1, label: p.Name})
	}
	return out
}

// windowGap is the widest step between one-second windows (or sampling
// intervals) that a line bridges: a wider one is a pause, such as a
// cool-down between phases.
const windowGap = 2.5

func (v *htmlView) charts(r *result.Run) {
	n := len(r.Series)
	ts := make([]float64, n)
	col := func(get func(*result.Window) float64) []float64 {
		out := make([]float64, n)
		for i := range r.Series {
			out[i] = get(&r.Series[i])
		}
		return out
	}
	for i := range r.Series {
		ts[i] = r.Series[i].TS
	}
	bands := phaseBands(r)
	if n > 0 {
		v.Latency = (&chart{id: "latency", title: "Latency percentiles over time", xLabel: "seconds since start", yLabel: "ms", bands: bands,
			series: []series{
				{name: "p50", xs: ts, ys: col(func(w *result.Window) float64 { return w.P50 }), style: 0, maxGap: windowGap},
				{name: "p95", xs: ts, ys: col(func(w *result.Window) float64 { return w.P95 }), style: 1, maxGap: windowGap},
				{name: "p99", xs: ts, ys: col(func(w *result.Window) float64 { return w.P99 }), style: 2, maxGap: windowGap},
			}}).svg()
		v.Throughput = (&chart{id: "throughput", title: "Throughput", xLabel: "seconds since start", yLabel: "requests/s", bands: bands,
			series: []series{{name: "requests/s", xs: ts, ys: col(func(w *result.Window) float64 { return w.RPS }), style: 3, maxGap: windowGap}}}).svg()
		v.Users = (&chart{id: "users", title: "Active users", xLabel: "seconds since start", yLabel: "VUs", bands: bands,
			series: []series{{name: "active VUs", xs: ts, ys: col(func(w *result.Window) float64 { return float64(w.VUs) }), style: 4, maxGap: windowGap}}}).svg()
		var kinds []string
		for _, w := range r.Series {
			for k := range w.ErrKinds {
				if !slices.Contains(kinds, k) {
					kinds = append(kinds, k)
				}
			}
		}
		sort.Strings(kinds)
		if len(kinds) > 0 {
			c := &chart{id: "errors", title: "Errors by kind", xLabel: "seconds since start", yLabel: "errors/s", bands: bands}
			for i, k := range kinds {
				c.series = append(c.series, series{name: k, xs: ts, ys: col(func(w *result.Window) float64 { return float64(w.ErrKinds[k]) }), style: (i + 2) % 8, maxGap: windowGap})
			}
			v.Errors = c.svg()
		}
	}
	if sys := r.System; sys != nil && len(sys.Timeline) > 0 {
		tl := sys.Timeline
		gap := windowGap * max(1, sys.IntervalS)
		st := make([]float64, len(tl))
		for i := range tl {
			st[i] = tl[i].TS
		}
		pcol := func(get func(*result.SystemPoint) float64) ([]float64, bool) {
			out := make([]float64, len(tl))
			seen := false
			for i := range tl {
				out[i] = get(&tl[i])
				seen = seen || out[i] != 0
			}
			return out, seen
		}
		cpu := &chart{id: "cpu", title: "CPU of the system under test", xLabel: "seconds since start", yLabel: "percent", bands: bands}
		if ys, ok := pcol(func(p *result.SystemPoint) float64 { return p.CPUPercent }); ok {
			cpu.series = append(cpu.series, series{name: "process CPU % (one core = 100)", xs: st, ys: ys, style: 0, maxGap: gap})
		}
		if ys, ok := pcol(func(p *result.SystemPoint) float64 { return p.HostCPU }); ok {
			cpu.series = append(cpu.series, series{name: "host CPU % (all cores)", xs: st, ys: ys, style: 1, maxGap: gap})
		}
		if ys, ok := pcol(func(p *result.SystemPoint) float64 { return p.HostMemPct }); ok {
			cpu.series = append(cpu.series, series{name: "host memory % in use", xs: st, ys: ys, style: 5, dashed: true, maxGap: gap})
			v.HostMem = true
		}
		if len(cpu.series) > 0 {
			v.CPU = cpu.svg()
		}
		mem := &chart{id: "memory", title: "Memory of the system under test", xLabel: "seconds since start", yLabel: "MB", bands: bands}
		if ys, ok := pcol(func(p *result.SystemPoint) float64 { return p.RSSMB }); ok {
			mem.series = append(mem.series, series{name: "process RSS", xs: st, ys: ys, style: 3, maxGap: gap})
		}
		if len(mem.series) > 0 {
			v.Memory = mem.svg()
		}
		// Disk and network bytes on one chart, in MB/s: the target's own
		// disk reads and writes, the host's interfaces (loopback left out).
		io := &chart{id: "io", title: "Disk and network I/O", xLabel: "seconds since start", yLabel: "MB/s", bands: bands}
		for i, sr := range []struct {
			name string
			get  func(*result.SystemPoint) float64
		}{
			{"process disk read", func(p *result.SystemPoint) float64 { return p.ReadBPS / 1e6 }},
			{"process disk write", func(p *result.SystemPoint) float64 { return p.WriteBPS / 1e6 }},
			{"host network in", func(p *result.SystemPoint) float64 { return p.NetInBPS / 1e6 }},
			{"host network out", func(p *result.SystemPoint) float64 { return p.NetOutBPS / 1e6 }},
		} {
			if ys, ok := pcol(sr.get); ok {
				io.series = append(io.series, series{name: sr.name, xs: st, ys: ys, style: 4 + i, dashed: i >= 2, maxGap: gap})
			}
		}
		if len(io.series) > 0 {
			v.IO = io.svg()
		}
		if ys, ok := pcol(func(p *result.SystemPoint) float64 { return p.HeapMB }); ok {
			v.Heap = (&chart{id: "heap", title: "Heap in use", xLabel: "seconds since start", yLabel: "MB", bands: bands,
				series: []series{{name: "heap in use", xs: st, ys: ys, style: 2, maxGap: gap}}}).svg()
		}
	}
	if s := r.Stress; s != nil && len(s.Curve) > 0 {
		xs, p50, p99 := make([]float64, len(s.Curve)), make([]float64, len(s.Curve)), make([]float64, len(s.Curve))
		for i, p := range s.Curve {
			xs[i], p50[i], p99[i] = p.Load, p.P50, p.P99
		}
		c := &chart{id: "stress", title: "Latency against load (stress)", xLabel: "load (" + orText(s.Unit, "load") + ")", yLabel: "ms",
			series: []series{{name: "p50", xs: xs, ys: p50, dots: true, style: 0}, {name: "p99", xs: xs, ys: p99, dots: true, style: 2}}}
		if s.BreakingPoint > 0 {
			c.marks = []mark{{x: s.BreakingPoint, label: fmt.Sprintf("breaking point %s %s (%s)", numText(s.BreakingPoint), s.Unit, orText(s.Limit, "limit"))}}
		}
		v.Stress = c.svg()
	}
	if sc := r.Scalability; sc != nil && len(sc.Configs) > 0 {
		xs, ys := make([]float64, len(sc.Configs)), make([]float64, len(sc.Configs))
		for i, c := range sc.Configs {
			xs[i], ys[i] = c.N, c.RPS
		}
		c := &chart{id: "scalability", title: "Throughput against concurrency", xLabel: "N", yLabel: "requests/s",
			series: []series{{name: "measured", xs: xs, ys: ys, dots: true, style: 3}}}
		if u := sc.USL; u != nil && u.Lambda > 0 {
			top := slices.Max(xs)
			if !u.Unbounded && u.PeakConcurrency > top && u.PeakConcurrency < 2*top {
				top = u.PeakConcurrency * 1.1
			}
			const steps = 60
			fx, fy, lx, ly := make([]float64, steps+1), make([]float64, steps+1), make([]float64, steps+1), make([]float64, steps+1)
			for i := range steps + 1 {
				nn := 1 + (top-1)*float64(i)/steps
				fx[i], fy[i] = nn, stats.USL(*u).Throughput(nn)
				lx[i], ly[i] = nn, u.Lambda*nn
			}
			c.series = append(c.series,
				series{name: fmt.Sprintf("USL fit (σ %.3g, κ %.3g, R² %.2f)", u.Sigma, u.Kappa, u.R2), xs: fx, ys: fy, dashed: true, style: 2},
				series{name: "linear scaling", xs: lx, ys: ly, dashed: true, style: 6})
			if !u.Unbounded && u.PeakConcurrency > 0 && u.PeakConcurrency <= top {
				c.marks = []mark{{x: u.PeakConcurrency, label: "peak N " + numText(u.PeakConcurrency)}}
			}
		}
		v.Scale = c.svg()
	}
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// htmlFuncs format the Run's numbers for the page.
func htmlFuncs() template.FuncMap {
	return template.FuncMap{
		"num":  numText,
		"tags": tagsText,
		"ms":   func(v float64) string { return f(v) },
		"pct":  func(ratio float64) string { return pctText(ratio) },
		"evidence": func(v float64, unit string) string {
			return evidenceText(v, unit)
		},
		"conf": func(c float64) string { return fmt.Sprintf("%.0f%%", 100*c) },
		"confw": func(c float64) template.CSS {
			return template.CSS(fmt.Sprintf("width:%.0f%%", 100*math.Max(0, math.Min(1, c))))
		},
		"threshold": func(t result.ThresholdResult) string { return value(t.Value, t.Unit) },
		"bytes":     func(n int64) string { return bytes(n) },
		"delta": func(d float64) string {
			if !finite(d) {
				return "–"
			}
			return fmt.Sprintf("%+.1f%%", d)
		},
		"title": func(s string) string {
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		},
		"kind":     func(k result.FindingKind) string { return strings.ReplaceAll(string(k), "_", " ") },
		"callpath": htmlCallPath,
		"short":    shortName,
		"sec2ms":   func(s float64) float64 { return 1000 * s },
		"step": func(st result.StepResult) string {
			if st.Scenario == "" || st.Scenario == "default" {
				return st.Step
			}
			return st.Scenario + " / " + st.Step
		},
	}
}

func pctText(ratio float64) string {
	p := 100 * ratio
	switch a := math.Abs(p); {
	case a == 0:
		return "0%"
	case a >= 10:
		return fmt.Sprintf("%.1f%%", p)
	case a >= 0.1:
		return fmt.Sprintf("%.2f%%", p)
	}
	return fmt.Sprintf("%.3f%%", p)
}

// evidenceText formats an evidence value in its unit.
func evidenceText(v float64, unit string) string {
	switch unit {
	case "ratio":
		return pctText(v)
	case "%":
		return numText(v) + "%"
	case "":
		return numText(v)
	case "B":
		return bytes(int64(v))
	case "×":
		return numText(v) + "×"
	}
	return numText(v) + " " + unit
}
