package analyze

import (
	"fmt"
	"math"
	"strings"

	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/stats"
)

// CompareOptions tune Compare. Zero values take the defaults.
type CompareOptions struct {
	// Alpha is the significance level of the whole comparison; 0 is 0.05.
	Alpha float64
	// Threshold is the smallest relative change that counts (0.05 = 5%);
	// 0 is 0.05.
	Threshold float64
	// MinDeltaMS is the smallest change of a latency percentile, in
	// milliseconds, that counts; 0 is DefaultMinDeltaMS, below 0 none.
	MinDeltaMS float64
}

// Defaults of CompareOptions.
const (
	DefaultAlpha     = 0.05
	DefaultThreshold = 0.05
	// MinWindows is the fewest windows per run for a verdict: below four,
	// no difference can be significant at α = 0.05 (benchstat's rule).
	MinWindows = 4
	// DefaultMinDeltaMS: a latency percentile that moved by less is not
	// a change, however significant. Sub-millisecond percentiles move by
	// a tenth of a millisecond or two between runs of one loopback
	// service on a busy host (scheduling, caches warmed by the runs
	// before: 0.066 → 0.088 ms at p95 and +0.12 ms at p99 measured, with
	// p < 0.01 over six windows a side), a change no user of the service
	// would see.
	DefaultMinDeltaMS = 0.5
)

// Verdicts of a ComparisonRow (result's changes, named here too).
const (
	VerdictSame    = result.ChangeSame
	VerdictWorse   = result.ChangeWorse
	VerdictBetter  = result.ChangeBetter
	VerdictUnknown = result.ChangeUnknown
)

// metric is one compared quantity.
type metric struct {
	name          string
	unit          string
	higherIsWorse bool
}

var (
	metricP50   = metric{"p50", "ms", true}
	metricP95   = metric{"p95", "ms", true}
	metricP99   = metric{"p99", "ms", true}
	metricRPS   = metric{"rps", "req/s", false}
	metricErr   = metric{"error_rate", "", true}
	metricTime  = metric{"time", "s", true}
	loadMetrics = []metric{metricP50, metricP95, metricP99, metricRPS, metricErr}
)

// scope is what one run says about one compared thing (the whole run, a
// step, a benchmark): a summary value and per-window observations for
// each metric.
type scope struct {
	name     string
	requests int64
	summary  map[string]float64
	samples  map[string][]float64
}

// Compare compares run head with run base. It never fails: what it cannot
// judge becomes a "?" row or a warning.
//
// Compare answers "is the new run worse than the base?" for the whole run,
// every step and every benchmark, on p50, p95, p99, throughput and error
// rate. The numbers shown (old, new, delta) are the runs' own summaries,
// read from their exact histograms. Whether a difference is real is judged
// on the one-second windows: each window's p50/p95/p99, throughput and
// error rate is one observation, and the two runs' windows are compared
// with a two-sided Mann–Whitney U test, which assumes no distribution
// (latencies are anything but normal). A row is "worse" or "better" only
// when the difference is significant AND larger than a practical threshold
// (default 5%): with thousands of windows a 0.5% shift is significant and
// still not worth failing a build for.
//
// A comparison tests many rows at once (5 metrics × every step), and each
// test at α = 0.05 would raise a false alarm once in twenty; a gate over
// fifteen rows would fail builds for nothing far more often than α (about
// one comparison in eight of identical synthetic runs). Significance
// is therefore judged on Holm–Bonferroni adjusted p-values over the rows
// tested, which keeps the chance of any false alarm in a whole comparison
// at α. The cost is power on very short runs, which get a warning.
//
// Windows of one run are not independent (a slow minute is followed by a
// slow minute); the U test treats them as if they were, so p-values are
// optimistic for strongly drifting runs. The practical threshold is the
// guard against that.
func Compare(base, head *result.Run, opts CompareOptions) *result.Comparison {
	if opts.Alpha <= 0 {
		opts.Alpha = DefaultAlpha
	}
	if opts.Threshold <= 0 {
		opts.Threshold = DefaultThreshold
	}
	if opts.MinDeltaMS == 0 {
		opts.MinDeltaMS = DefaultMinDeltaMS
	}
	c := &result.Comparison{Base: runName(base, "base"), New: runName(head, "new"),
		Alpha: opts.Alpha, Threshold: opts.Threshold}
	c.Warnings = append(c.Warnings, contextWarnings(base, head)...)
	if base == nil || head == nil {
		return c
	}

	var pending []*pendingRow
	addScope := func(b, h *scope, ms []metric) {
		switch {
		case b == nil:
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s is only in the new run", h.name))
			return
		case h == nil:
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s is only in the base run", b.name))
			return
		case b.requests == 0 && h.requests == 0:
			return
		}
		few := false
		for _, m := range ms {
			row := compareMetric(b, h, m)
			if row.row.Verdict == VerdictUnknown && m != metricErr {
				few = true
			}
			pending = append(pending, row)
		}
		if few {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: too few windows for a verdict (%d base, %d new; need ≥ %d each)",
				b.name, len(b.samples[metricRPS.name]), len(h.samples[metricRPS.name]), MinWindows))
		}
	}

	addScope(overallScope(base), overallScope(head), loadMetrics)
	bs, hs := stepScopes(base), stepScopes(head)
	for _, name := range unionNames(bs, hs) {
		addScope(lookup(bs, name), lookup(hs, name), loadMetrics)
	}
	bb, hb := benchScopes(base), benchScopes(head)
	for _, name := range unionNames(bb, hb) {
		addScope(lookup(bb, name), lookup(hb, name), []metric{metricTime})
	}

	c.Tested = judge(pending, opts)
	for _, p := range pending {
		c.Rows = append(c.Rows, p.row)
		if p.row.Regression {
			c.Regression = true
		}
		if p.note != "" {
			c.Warnings = append(c.Warnings, p.note)
		}
	}
	if w := powerWarning(pending, opts.Alpha); w != "" {
		c.Warnings = append(c.Warnings, w)
	}
	return c
}

func runName(r *result.Run, fallback string) string {
	if r != nil && r.ID != "" {
		return r.ID
	}
	return fallback
}

// contextWarnings are the reasons two runs may not be comparable at all.
func contextWarnings(base, head *result.Run) []string {
	var ws []string
	if base == nil || head == nil {
		return []string{"a run is missing"}
	}
	if base.Plan != head.Plan {
		ws = append(ws, fmt.Sprintf("the runs are of different plans (%q and %q)", base.Plan, head.Plan))
	} else if base.PlanHash != "" && head.PlanHash != "" && base.PlanHash != head.PlanHash {
		ws = append(ws, "the plan changed between the runs: a difference may come from the plan, not the system")
	}
	if base.Kind != head.Kind {
		ws = append(ws, fmt.Sprintf("the runs are of different kinds (%s and %s)", base.Kind, head.Kind))
	}
	if base.Host != nil && head.Host != nil {
		bh, hh := base.Host, head.Host
		if bh.CPUModel != hh.CPUModel || bh.Cores != hh.Cores || bh.GOMAXPROCS != hh.GOMAXPROCS {
			ws = append(ws, fmt.Sprintf("the runs were made on different machines (%s, %d cores and %s, %d cores)",
				orUnknown(bh.CPUModel), bh.Cores, orUnknown(hh.CPUModel), hh.Cores))
		}
	}
	if base.Summary.TargetRPS != head.Summary.TargetRPS {
		ws = append(ws, fmt.Sprintf("the runs asked for different rates (%g and %g req/s)", base.Summary.TargetRPS, head.Summary.TargetRPS))
	}
	for _, r := range []struct {
		name string
		run  *result.Run
	}{{"base", base}, {"new", head}} {
		if r.run.Aborted {
			ws = append(ws, fmt.Sprintf("the %s run was aborted: it covers only part of the plan", r.name))
		}
		if r.run.Generator.Saturated {
			ws = append(ws, fmt.Sprintf("the load generator was saturated in the %s run: its numbers partly measure the generator", r.name))
		}
	}
	return ws
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown CPU"
	}
	return s
}

// measured reports whether a window belongs in the comparison: warm-up
// windows measure cold caches, not the system.
func measured(w *result.Window) bool {
	p := strings.ToLower(w.Phase)
	return p != "warmup" && p != "warm-up"
}

func overallScope(r *result.Run) *scope {
	s := &scope{name: "overall", requests: r.Summary.Requests, summary: map[string]float64{}, samples: map[string][]float64{}}
	errRate := r.Summary.ErrorRate
	if errRate == 0 && r.Summary.Requests > 0 {
		errRate = float64(r.Summary.Errors) / float64(r.Summary.Requests)
	}
	s.summary[metricP50.name] = r.Summary.Latency.P50
	s.summary[metricP95.name] = r.Summary.Latency.P95
	s.summary[metricP99.name] = r.Summary.Latency.P99
	s.summary[metricRPS.name] = r.Summary.RPS
	s.summary[metricErr.name] = errRate
	for i := range r.Series {
		w := &r.Series[i]
		if !measured(w) {
			continue
		}
		s.add(metricRPS, w.RPS)
		if w.Requests > 0 {
			s.add(metricP50, w.P50)
			s.add(metricP95, w.P95)
			s.add(metricP99, w.P99)
			s.add(metricErr, float64(w.Errors)/float64(w.Requests))
		}
	}
	return s
}

func (s *scope) add(m metric, v float64) { s.samples[m.name] = append(s.samples[m.name], v) }

func stepName(st *result.StepResult) string {
	if st.Scenario == "" {
		return st.Step
	}
	return st.Scenario + "/" + st.Step
}

func stepScopes(r *result.Run) []*scope {
	var out []*scope
	byIndex := map[int]*scope{}
	seen := map[string]bool{}
	for i := range r.Steps {
		st := &r.Steps[i]
		name := stepName(st)
		if seen[name] {
			continue // the first of duplicate names wins
		}
		seen[name] = true
		s := &scope{name: name, requests: st.Requests, summary: map[string]float64{}, samples: map[string][]float64{}}
		s.summary[metricP50.name] = st.Latency.P50
		s.summary[metricP95.name] = st.Latency.P95
		s.summary[metricP99.name] = st.Latency.P99
		s.summary[metricRPS.name] = st.RPS
		if st.Requests > 0 {
			s.summary[metricErr.name] = float64(st.Errors) / float64(st.Requests)
		}
		byIndex[i] = s
		out = append(out, s)
	}
	for i := range r.Series {
		w := &r.Series[i]
		if !measured(w) {
			continue
		}
		// The window's length, from its own rate; windows are one second.
		length := 1.0
		if w.Requests > 0 && w.RPS > 0 {
			length = float64(w.Requests) / w.RPS
		}
		present := map[int]bool{}
		for j := range w.Steps {
			sw := &w.Steps[j]
			s := byIndex[sw.Index]
			if s == nil || present[sw.Index] {
				continue
			}
			present[sw.Index] = true
			s.add(metricRPS, float64(sw.Requests)/length)
			if sw.Requests > 0 {
				s.add(metricP50, sw.P50)
				s.add(metricP95, sw.P95)
				s.add(metricP99, sw.P99)
				s.add(metricErr, float64(sw.Errors)/float64(sw.Requests))
			}
		}
		// A step absent from a window ran zero times in it.
		for idx, s := range byIndex {
			if !present[idx] {
				s.add(metricRPS, 0)
			}
		}
	}
	return out
}

func benchScopes(r *result.Run) []*scope {
	var out []*scope
	seen := map[string]bool{}
	for i := range r.Benchmarks {
		b := &r.Benchmarks[i]
		name := b.Name
		if name == "" {
			name = b.Command
		}
		name = "bench " + name
		if seen[name] {
			continue
		}
		seen[name] = true
		s := &scope{name: name, requests: int64(len(b.Times)), summary: map[string]float64{metricTime.name: b.MedianS},
			samples: map[string][]float64{metricTime.name: append([]float64(nil), b.Times...)}}
		if s.requests == 0 {
			s.requests = int64(b.Runs)
		}
		out = append(out, s)
	}
	return out
}

// unionNames lists scope names in base order, then those only in head.
func unionNames(a, b []*scope) []string {
	var out []string
	seen := map[string]bool{}
	for _, list := range [][]*scope{a, b} {
		for _, s := range list {
			if !seen[s.name] {
				seen[s.name] = true
				out = append(out, s.name)
			}
		}
	}
	return out
}

func lookup(list []*scope, name string) *scope {
	for _, s := range list {
		if s.name == name {
			return s
		}
	}
	return nil
}

// pendingRow is a row before the verdict: tested rows wait for the
// multiple-comparison adjustment.
type pendingRow struct {
	row       result.ComparisonRow
	tested    bool    // a U test ran
	direction float64 // which way the windows moved: +1 up, -1 down
	m         metric
	note      string
}

func compareMetric(b, h *scope, m metric) *pendingRow {
	old, cur := b.summary[m.name], h.summary[m.name]
	p := &pendingRow{m: m, row: result.ComparisonRow{
		Name: b.name, Metric: m.name, Unit: m.unit, Old: old, New: cur, Delta: cur - old, PValue: 1, PAdjusted: 1,
		NOld: len(b.samples[m.name]), NNew: len(h.samples[m.name]),
	}}
	if old != 0 {
		p.row.DeltaPct = (cur - old) / old * 100
	}
	if m == metricErr && old == 0 && cur == 0 {
		p.row.Verdict = VerdictSame // no errors on either side: nothing to test
		return p
	}
	if p.row.NOld < MinWindows || p.row.NNew < MinWindows {
		p.row.Verdict = VerdictUnknown
		return p
	}
	bs, hs := b.samples[m.name], h.samples[m.name]
	ut, err := stats.MannWhitney(bs, hs)
	if err != nil {
		// Every window equal on both sides: no evidence of a difference.
		p.row.Verdict = VerdictSame
		return p
	}
	p.tested = true
	p.row.PValue = ut.P
	// U counts base windows above new ones: below half of all pairs, the
	// new windows tend to be higher.
	p.direction = sign(float64(len(bs)*len(hs))/2 - ut.U)
	return p
}

// judge adjusts the p-values of the tested rows (Holm–Bonferroni), gives
// every row its verdict and returns how many rows were tested.
func judge(rows []*pendingRow, opts CompareOptions) int {
	var tested []*pendingRow
	for _, p := range rows {
		if p.tested {
			tested = append(tested, p)
		}
	}
	ps := make([]float64, len(tested))
	for i, p := range tested {
		ps[i] = p.row.PValue
	}
	adj := stats.Holm(ps)
	for i, p := range tested {
		r := &p.row
		r.PAdjusted = adj[i]
		r.Significant = adj[i] <= opts.Alpha
		r.Verdict = VerdictSame
		if !r.Significant {
			continue
		}
		d := sign(r.New - r.Old)
		big := r.Old == 0 || math.Abs(r.DeltaPct) > opts.Threshold*100
		if p.m.unit == "ms" && math.Abs(r.New-r.Old) < opts.MinDeltaMS {
			big = false
		}
		if !big || d == 0 {
			continue
		}
		if p.direction != d {
			p.note = fmt.Sprintf("%s %s: the windows and the whole-run summary disagree on the direction of the change; no verdict", r.Name, r.Metric)
			continue
		}
		worse := (d > 0) == p.m.higherIsWorse
		if worse {
			r.Verdict, r.Regression = VerdictWorse, true
		} else {
			r.Verdict = VerdictBetter
		}
	}
	return len(tested)
}

// powerWarning says when the runs are too short for any tested row to
// reach significance after the adjustment.
func powerWarning(rows []*pendingRow, alpha float64) string {
	var m int
	var n1, n2 int
	for _, p := range rows {
		if p.tested {
			m++
			if n1 == 0 || p.row.NOld < n1 {
				n1 = p.row.NOld
			}
			if n2 == 0 || p.row.NNew < n2 {
				n2 = p.row.NNew
			}
		}
	}
	if m == 0 {
		return ""
	}
	// The smallest two-sided p-value the exact U test can give, once
	// adjusted for m tests.
	if stats.MinUTestP(n1, n2)*float64(m) <= alpha {
		return ""
	}
	return fmt.Sprintf("with %d and %d windows no difference can be significant across %d compared metrics: run longer for a verdict", n1, n2, m)
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}
