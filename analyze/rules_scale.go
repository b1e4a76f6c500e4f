package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/stats"
)

// level is one load level of a run and how the system behaved at it.
type level struct {
	load     float64
	p99      float64 // ms
	errRate  float64
	connRate float64 // connection errors per request; -1 when not known
	weight   float64 // requests (or throughput) behind the level
	windows  int
}

// Limits of the load-level view of a series.
const (
	maxDistinctLevels = 12   // more distinct loads than this are binned…
	levelBins         = 10   // …into this many equal-width bins
	minLevels         = 4    // fewest levels a knee is looked for in
	minLevelWindows   = 2    // fewest windows of a level in a series: a ramp's passing seconds are no level
	levelMinStep      = 0.05 // open model: delivered rates closer than this share of the highest are one level
	levelMinRun       = 3    // open model: fewest consecutive windows at a level that count towards it
	kneeMinBend       = 0.1
	// kneeMinRiseMS is the least rise of p99 from the knee to the highest
	// clean load, in milliseconds, for a knee of medium or high severity
	// (setting knee_min_rise_ms): a bursty but healthy service whose p99
	// goes from 2 ms to 4 ms is steep as a ratio and no problem to anyone.
	kneeMinRiseMS = 10.0
)

// loadLevels is how latency and errors varied with load: the stress
// curve when the run has one (without the steps past a breaking point
// that the generator, not the system, set), else the one-second windows grouped by the
// load they ran at (VUs in the closed model, delivered requests per
// second in the open one). Up to maxDistinctLevels distinct numbers of
// VUs are levels of their own; more (a ramp) are binned into levelBins
// bins of equal width; delivered rates are binned so, in bins at least
// levelMinStep of the highest rate wide (one asked rate is one level,
// however its seconds vary), of which only runs of levelMinRun seconds
// in a row count (a stall's seconds, and the late backlog after it, are
// off the rate but no level); a level needs minLevelWindows windows. A level's p99 is the median of its windows' p99 (a slow
// second does not make a level), its error rates are pooled over its
// requests. Levels are in increasing load.
func (ev *evaluation) loadLevels() (lv []level, unit, source string) {
	if ev.levelsDone {
		return ev.levels, ev.levelUnit, ev.levelSrc
	}
	ev.levelsDone = true
	defer func() { ev.levels, ev.levelUnit, ev.levelSrc = lv, unit, source }()
	run := ev.run
	if st := run.Stress; st != nil && len(st.Curve) >= 2 {
		for _, p := range st.Curve {
			if !p.OK && st.Limit == "generator" {
				continue // the generator's limit, not the system's
			}
			lv = append(lv, level{load: p.Load, p99: p.P99, errRate: p.ErrorRate, connRate: -1, weight: max(p.RPS, 1), windows: 1})
		}
		slices.SortStableFunc(lv, func(a, b level) int { return cmp.Compare(a.load, b.load) })
		unit = st.Unit
		if unit == "" {
			unit = "load"
		}
		return lv, unit, "stress curve"
	}
	byVUs := run.Model != "open"
	unit, source = "users", "series by active users"
	if !byVUs {
		unit, source = "rps", "series by delivered rps"
	}
	type win struct {
		x, p99           float64
		req, errs, conns int64
	}
	var ws []win
	for _, w := range run.Series {
		x := float64(w.VUs)
		if !byVUs {
			x = w.RPS
		}
		if w.Requests == 0 || x <= 0 {
			continue
		}
		var conns int64
		for _, k := range connKinds() {
			conns += w.ErrKinds[k]
		}
		ws = append(ws, win{x, w.P99, w.Requests, w.Errors, conns})
	}
	if len(ws) < 3 {
		return nil, unit, source
	}
	distinct := map[float64]bool{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, w := range ws {
		distinct[w.x] = true
		lo, hi = min(lo, w.x), max(hi, w.x)
	}
	key := func(x float64) float64 { return x }
	switch {
	case !byVUs:
		// Delivered requests per second vary from second to second at one
		// asked rate, and a second that delivered less (a stall) is
		// followed by one that delivered more, late: loads closer than
		// levelMinStep of the highest are one level, so that a constant
		// rate is one level and noise never makes a curve.
		width := max((hi-lo)/levelBins, levelMinStep*hi)
		key = func(x float64) float64 { return float64(min(levelBins-1, int((x-lo)/width))) } // the highest rate is in the last bin, not one of its own
	case len(distinct) > maxDistinctLevels:
		width := (hi - lo) / levelBins
		key = func(x float64) float64 { return float64(min(levelBins-1, int((x-lo)/width))) }
	}
	groups := map[float64][]win{}
	for i := 0; i < len(ws); {
		// A run of consecutive windows at one level; in the open model
		// only a held one counts: a second or two off the rate around a
		// stall (fewer delivered, then the backlog late) is no level.
		j := i + 1
		for j < len(ws) && key(ws[j].x) == key(ws[i].x) {
			j++
		}
		if byVUs || j-i >= levelMinRun {
			groups[key(ws[i].x)] = append(groups[key(ws[i].x)], ws[i:j]...)
		}
		i = j
	}
	for _, g := range groups {
		if len(g) < minLevelWindows {
			continue
		}
		var xs, p99s []float64
		var req, errs, conns int64
		for _, w := range g {
			xs = append(xs, w.x)
			p99s = append(p99s, w.p99)
			req, errs, conns = req+w.req, errs+w.errs, conns+w.conns
		}
		lv = append(lv, level{
			load: mean(xs), p99: quantile(p99s, 0.5), windows: len(g), weight: float64(req),
			errRate: float64(errs) / float64(req), connRate: float64(conns) / float64(req),
		})
	}
	slices.SortFunc(lv, func(a, b level) int { return cmp.Compare(a.load, b.load) })
	return lv, unit, source
}

// kneedle finds the knee of an increasing, convex curve — latency
// against load — after Satopää et al., "Finding a 'Kneedle' in a
// Haystack" (2011): with both axes scaled to [0, 1], the knee is the
// point furthest below the diagonal, where the curve turns from flat to
// steep. It returns the index and that distance (0 to 1; a straight line
// gives 0), or -1 when the curve has no extent.
func kneedle(xs, ys []float64) (int, float64) {
	n := len(xs)
	if n < 3 {
		return -1, 0
	}
	x0, x1 := xs[0], xs[n-1]
	y0, y1 := slices.Min(ys), slices.Max(ys)
	if x1 <= x0 || y1 <= y0 {
		return -1, 0
	}
	best, bestD := -1, 0.0
	for i := range n {
		d := (xs[i]-x0)/(x1-x0) - (ys[i]-y0)/(y1-y0)
		if d > bestD {
			best, bestD = i, d
		}
	}
	return best, bestD
}

// ruleKnee: latency rises steeply with load before errors appear. Over
// the load levels below the first one whose error rate reaches
// knee_error_rate (default 1%), Kneedle finds where p99 turns from flat
// to steep; a finding when the curve bends (by at least 0.1 of its
// scaled range) and p99 at the highest error-free level is at least
// knee_latency_factor (default 2) times p99 at the knee. The knee is the
// practical capacity: beyond it users wait longer for no more
// throughput, and errors follow.
func ruleKnee(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	lv, unit, src := ev.loadLevels()
	if len(lv) < minLevels {
		return nil, notEvaluated(fmt.Sprintf("the run held %s (at least %d are needed: a stress phase, or load stages that ramp)", plural(len(lv), "load level", "load levels"), minLevels),
			"tests: { stress: { … } }")
	}
	errLimit := ev.cfg["knee_error_rate"]
	firstErr := slices.IndexFunc(lv, func(l level) bool { return l.errRate >= errLimit })
	clean := lv
	if firstErr >= 0 {
		clean = lv[:firstErr]
	}
	if len(clean) < 3 {
		return nil, nil
	}
	xs := make([]float64, len(clean))
	ys := make([]float64, len(clean))
	for i, l := range clean {
		xs[i], ys[i] = l.load, l.p99
	}
	k, bend := kneedle(xs, ys)
	if k < 0 || bend < kneeMinBend || k == len(clean)-1 {
		return nil, nil
	}
	top := clean[len(clean)-1]
	factor := ev.cfg["knee_latency_factor"]
	if clean[k].p99 <= 0 || top.p99 < factor*clean[k].p99 {
		return nil, nil
	}
	rise := top.p99 / clean[k].p99
	f := result.Finding{
		Severity: SeverityMedium,
		Subject:  "load",
		Title: fmt.Sprintf("Latency rises steeply beyond %s %s: p99 %s ms → %s ms at %s %s",
			num(clean[k].load), unit, num(clean[k].p99), num(top.p99), num(top.load), unit),
		Evidence: []result.Evidence{
			{Metric: "knee_load", Value: clean[k].load, Unit: unit, Source: src, Note: "Kneedle on p99 against load"},
			{Metric: "p99_at_knee", Value: clean[k].p99, Unit: "ms", Source: src},
			{Metric: "p99_at_highest_clean_load", Value: top.p99, Unit: "ms", Source: src, Note: fmt.Sprintf("at %s %s", num(top.load), unit)},
			{Metric: "p99_rise", Value: rise, Unit: "×", Source: src, Threshold: factor},
		},
		Confidence: float64(len(clean)) / float64(len(clean)+3) * (0.6 + 0.4*clamp(bend/0.3, 0, 1)),
	}
	if firstErr >= 0 {
		f.Detail = fmt.Sprintf("Latency climbs well before errors appear (error rate %s from %s %s): the knee is the practical capacity.",
			percent(lv[firstErr].errRate), num(lv[firstErr].load), unit)
		f.Evidence = append(f.Evidence, result.Evidence{Metric: "first_failing_load", Value: lv[firstErr].load, Unit: unit, Source: src,
			Note: fmt.Sprintf("error rate %s", percent(lv[firstErr].errRate)), Threshold: errLimit})
	} else {
		f.Detail = fmt.Sprintf("Latency climbs with load while requests still succeed (no level reached a %s error rate): the knee is the practical capacity.", percent(errLimit))
	}
	if rise >= 2*factor {
		f.Severity = SeverityHigh
	}
	if added, least := top.p99-clean[k].p99, ev.cfg["knee_min_rise_ms"]; added < least {
		// Steep as a ratio, immaterial as a latency: a p99 of 2 ms that
		// doubles under load is where the curve turns, not a problem.
		f.Severity = SeverityLow
		f.Confidence /= 2 // sure of the curve, not that it matters
		f.Detail += fmt.Sprintf(" The p99 rose by %s ms, under %s ms (knee_min_rise_ms): where latency turns, not yet a problem at these loads.", num(added), num(least))
		f.Evidence = append(f.Evidence, result.Evidence{Metric: "p99_added_ms", Value: added, Unit: "ms", Source: src, Threshold: least})
	}
	return []result.Finding{f}, nil
}

// uslFit returns the scalability phase's USL fit when it is good enough
// to judge (R² at least usl_min_r2), else why not.
func uslFit(ev *evaluation) (*result.USL, *result.NotEvaluated) {
	sc := ev.run.Scalability
	if sc == nil || sc.USL == nil {
		return nil, notEvaluated("the run has no scalability phase with a USL fit (three or more configurations)",
			"tests: { scalability: { configs: […] } }")
	}
	if sc.USL.R2 < ev.cfg["usl_min_r2"] {
		return nil, notEvaluated(fmt.Sprintf("the USL fit is poor (R² %.2f < %.2f): more configurations, or longer ones, give steadier throughput", sc.USL.R2, ev.cfg["usl_min_r2"]),
			"tests: { scalability: { duration: … } }")
	}
	return sc.USL, nil
}

// maxTestedN is the largest concurrency of the scalability phase.
func maxTestedN(sc *result.Scalability) float64 {
	var n float64
	for _, c := range sc.Configs {
		n = max(n, c.N)
	}
	return n
}

// ruleCoherency: the USL fit has a coherency cost, κ above usl_kappa
// (default 0): adding concurrency eventually lowers throughput, because
// workers must agree on shared state (cache lines, replicas, a global
// counter). High when the fitted peak lies within the tested range, so
// the fall was measured, not extrapolated.
func ruleCoherency(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	u, ne := uslFit(ev)
	if ne != nil {
		return nil, ne
	}
	limit := ev.cfg["usl_kappa"]
	if u.Kappa <= limit {
		return nil, nil
	}
	sc := ev.run.Scalability
	topN := maxTestedN(sc)
	f := result.Finding{
		Severity: SeverityMedium,
		Subject:  "scalability",
		Evidence: []result.Evidence{
			{Metric: "usl_kappa", Value: u.Kappa, Source: "scalability (USL fit)", Threshold: limit},
			{Metric: "usl_r2", Value: u.R2, Source: "scalability (USL fit)"},
		},
		Confidence: clamp(u.R2, 0.3, 0.95),
	}
	if !u.Unbounded && u.PeakConcurrency > 0 {
		f.Evidence = append(f.Evidence, result.Evidence{Metric: "peak_concurrency", Value: u.PeakConcurrency, Source: "scalability (USL fit)",
			Note: fmt.Sprintf("predicted peak throughput %s/s", num(stats.USL(*u).Throughput(u.PeakConcurrency)))})
		f.Title = fmt.Sprintf("Coherency cost: throughput peaks near N = %s and falls beyond it (USL κ = %.3g)", num(u.PeakConcurrency), u.Kappa)
		if u.PeakConcurrency <= topN {
			f.Severity = SeverityHigh
			f.Detail = "The throughput measured at the largest configurations is below the peak: more concurrency makes the system slower, because workers spend their time keeping shared state coherent."
		} else {
			f.Detail = fmt.Sprintf("Beyond the tested range (up to N = %s) the fit predicts throughput will fall: workers will spend more time keeping shared state coherent than working.", num(topN))
		}
	} else {
		f.Title = fmt.Sprintf("Coherency cost in the scalability fit (USL κ = %.3g)", u.Kappa)
		f.Detail = "Each added worker costs a little coordination with every other one."
	}
	return []result.Finding{f}, nil
}

// Severity bounds of ruleScalingEfficiency: efficiency at half its best
// (or less) over the smaller configurations is medium; throughput below
// scaleRetrograde of the best of the smaller configurations — more
// units, less throughput, beyond what noise does — is high.
const (
	scaleHalved     = 0.50
	scaleRetrograde = 0.80
)

// ruleScalingEfficiency: efficiency against linear scaling fell by more
// than ScaleDropShare (20%) of its value from one configuration to the
// next (the scalability section's drops), or — when configurations are
// closely spaced and it fell a little at each — to half its best. One
// finding, naming the configuration of the most severe fall (then the
// largest), with every fall in its detail. Severity from how far it
// fell: high when throughput there is below 80% of the best of the
// smaller configurations (measured, not extrapolated: the system does
// less with more); medium when efficiency is at half its best or less;
// low otherwise (each unit brings less, but it brings something).
func ruleScalingEfficiency(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sc := ev.run.Scalability
	if sc == nil || len(sc.Configs) < 2 {
		return nil, notEvaluated("the run has no scalability or pool phase with two or more configurations",
			"tests: { scalability: { configs: […] } } or tests: { pool: { sizes: […] } }")
	}
	if len(sc.Efficiency) != len(sc.Configs) {
		return nil, nil // nothing to judge: Scalability makes one per configuration
	}
	unit := sc.Unit
	if unit == "" {
		unit = "N"
	}
	cs, eff := sc.Configs, sc.Efficiency
	type fall struct {
		from, to int
		dropPct  float64        // the fall from `from`'s efficiency to `to`'s, %
		bestX    float64        // the best throughput of the smaller configurations
		judged   result.Finding // its Severity, whatever that type
	}
	judge := func(from, to int) fall {
		f := fall{from: from, to: to}
		if eff[from] > 0 {
			f.dropPct = 100 * (eff[from] - eff[to]) / eff[from]
		}
		bestEff := 0.0
		for i := range to {
			f.bestX = max(f.bestX, cs[i].RPS)
			bestEff = max(bestEff, eff[i])
		}
		f.judged.Severity = SeverityLow
		switch {
		case cs[to].RPS < scaleRetrograde*f.bestX:
			f.judged.Severity = SeverityHigh
		case bestEff > 0 && eff[to] <= (1-scaleHalved)*bestEff:
			f.judged.Severity = SeverityMedium
		}
		return f
	}
	var falls []fall
	for _, d := range sc.Drops {
		fi := slices.IndexFunc(cs, func(c result.ScaleConfig) bool { return c.N == d.From })
		ti := slices.IndexFunc(cs, func(c result.ScaleConfig) bool { return c.N == d.To })
		if fi >= 0 && ti > fi {
			falls = append(falls, judge(fi, ti))
		}
	}
	// A gradual fall, with no step of more than ScaleDropShare: the first
	// configuration at half the best efficiency before it, from the
	// configuration that had it.
	for to := 1; to < len(cs) && len(falls) == 0; to++ {
		best := 0
		for i := range to {
			if eff[i] > eff[best] {
				best = i
			}
		}
		if eff[best] > 0 && eff[to] <= (1-scaleHalved)*eff[best] {
			falls = append(falls, judge(best, to))
		}
	}
	if len(falls) == 0 {
		return nil, nil
	}
	worst := falls[0]
	for _, f := range falls[1:] {
		if c := severityRank(f.judged.Severity) - severityRank(worst.judged.Severity); c < 0 || (c == 0 && f.dropPct > worst.dropPct) {
			worst = f
		}
	}
	name := func(c result.ScaleConfig) string {
		if c.Name != "" {
			return c.Name
		}
		return unit + " " + num(c.N)
	}
	src := "scalability"
	if unit == "pool" {
		src = "pool scaling"
	}
	from, to := cs[worst.from], cs[worst.to]
	units := unit
	if unit == "N" {
		units = "units"
	}
	gain := math.Inf(1)
	if from.RPS > 0 {
		gain = to.RPS/from.RPS - 1
	}
	f := result.Finding{
		Severity: worst.judged.Severity,
		Subject:  name(to),
		Title: fmt.Sprintf("Scaling efficiency falls %.0f%% from %s to %s: %s× the %s, throughput %s/s → %s/s",
			worst.dropPct, name(from), name(to), num(to.N/from.N), units, num(from.RPS), num(to.RPS)),
		Evidence: []result.Evidence{
			{Metric: "efficiency_from", Value: eff[worst.from], Source: src, Note: name(from)},
			{Metric: "efficiency_to", Value: eff[worst.to], Source: src, Note: name(to), Threshold: (1 - scaleHalved) * eff[worst.from]},
			{Metric: "efficiency_drop", Value: worst.dropPct, Unit: "%", Source: src, Threshold: 100 * ScaleDropShare},
			{Metric: "throughput_gain", Value: 100 * gain, Unit: "%", Source: src, Note: fmt.Sprintf("%s/s → %s/s", num(from.RPS), num(to.RPS))},
		},
		Confidence: (0.5 + 0.45*clamp((worst.dropPct/100-ScaleDropShare)/(scaleHalved-ScaleDropShare), 0, 1)) *
			float64(len(cs)) / float64(len(cs)+1),
	}
	switch {
	case worst.judged.Severity == SeverityHigh:
		f.Detail = fmt.Sprintf("More %s made the system slower: %s/s at %s against up to %s/s with fewer. Something shared — a lock, a database, a cache line — costs more as %s are added.",
			units, num(to.RPS), name(to), num(worst.bestX), units)
	case gain < 0.1:
		f.Detail = fmt.Sprintf("The added %s brought almost no throughput: a bottleneck outside them (a shared resource, the database, the network) caps the system.", units)
	default:
		f.Detail = fmt.Sprintf("Each added unit brings less: %s of linear scaling at %s against %s at %s.", percent(eff[worst.to]), name(to), percent(eff[worst.from]), name(from))
	}
	if len(sc.Drops) > 1 {
		var others []string
		for _, d := range sc.Drops {
			if d.From != from.N || d.To != to.N {
				others = append(others, fmt.Sprintf("%s → %s: −%.0f%%", num(d.From), num(d.To), d.DropPct))
			}
		}
		if len(others) > 0 {
			f.Detail += " Efficiency also fell at " + strings.Join(others, ", ") + "."
		}
	}
	return []result.Finding{f}, nil
}
