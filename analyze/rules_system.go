package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// What a plan adds for each kind of system data.
const (
	addProcess    = "system: { process: { pid: … } }"
	addPprof      = "system: { pprof: http://HOST:PORT/debug/pprof }"
	addPrometheus = "system: { prometheus: http://HOST:PORT/metrics }"
	addPostgres   = "system: { postgres: ${DATABASE_URL} }"
)

// profileNote says when and how long a profile of kind was taken.
func profileNote(sys *result.System, kind string) string {
	for _, p := range sys.Profiles {
		if p.Kind == kind {
			if p.DurationS > 0 {
				return fmt.Sprintf("taken at %s s for %s s", num(p.TS), num(p.DurationS))
			}
			return fmt.Sprintf("taken at %s s", num(p.TS))
		}
	}
	return ""
}

// isPlumbing reports whether function fn of pkg is code every request
// runs through — main.main, the runtime, the network and HTTP server,
// system calls — whose cumulative share says nothing about where the
// time goes.
func isPlumbing(pkg, fn string) bool {
	if pkg == "" || isRuntimePkg(pkg) || (pkg == "main" && fn == "main") {
		return true
	}
	switch pkg {
	case "net", "net/http", "syscall", "os", "sync", "testing":
		return true
	}
	return strings.HasPrefix(pkg, "net/http/")
}

// isStdlib reports whether pkg belongs to Go's standard library: its
// first path element has no dot (user code is main or under a domain).
func isStdlib(pkg string) bool {
	if pkg == "main" {
		return false
	}
	first, _, _ := strings.Cut(pkg, "/")
	return !strings.Contains(first, ".")
}

// ruleHotspot: one function of the CPU profile taken at the peak has a
// cumulative share above hotspot_share (default 30%). The callers of a
// hot function pass the threshold too, and naming them says nothing new,
// so the rule names the innermost one: of the functions over the
// threshold outside the runtime and server plumbing (own code before the
// standard library), the one with the smallest cumulative share. Another
// function over the threshold whose own (flat) time alone passes half of
// it is named as well. High from one and a half times the threshold.
func ruleHotspot(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	if sys == nil || len(sys.Hotspots) == 0 {
		reason := "the run has no CPU profile of the target (a Go target's pprof endpoint gives one, taken at the peak)"
		if sys != nil && profileNote(sys, "cpu") != "" {
			reason = "the CPU profile held no samples: profile longer (cpu_profile) or under more load"
		}
		return nil, notEvaluated(reason, "system: { pprof: http://HOST:PORT/debug/pprof, cpu_profile: 30s }")
	}
	limit := 100 * ev.cfg["hotspot_share"]
	// Own code first: the standard library is looked at only when no
	// function of the program's own passes the threshold.
	var named []result.Hotspot
	for _, std := range []bool{false, true} {
		var over []result.Hotspot
		for _, h := range sys.Hotspots {
			if h.CumPct > limit && !isPlumbing(h.Package, h.Function) && isStdlib(h.Package) == std && !passThrough(h, limit) {
				over = append(over, h)
			}
		}
		if len(over) == 0 {
			continue
		}
		named = append(named, slices.MinFunc(over, func(a, b result.Hotspot) int { return cmp.Compare(a.CumPct, b.CumPct) }))
		for _, h := range over {
			if h.FlatPct > limit/2 && !slices.ContainsFunc(named, func(n result.Hotspot) bool { return n.Package == h.Package && n.Function == h.Function }) {
				named = append(named, h)
			}
		}
		break
	}
	note := profileNote(sys, "cpu")
	samples := profileSamples(sys.Hotspots)
	if samples > 0 {
		note = strings.TrimPrefix(note+fmt.Sprintf("; at least %d samples", samples), "; ")
	}
	display := func(h result.Hotspot) string {
		if h.Package == "" {
			return h.Function
		}
		return lastElem(h.Package) + "." + h.Function
	}
	var out []result.Finding
	for _, h := range named {
		name := display(h)
		share := max(h.CumPct, h.FlatPct)
		ratio := ratioOver(share, limit)
		f := result.Finding{
			Severity: severityAbove(ratio, 1.5),
			Title:    fmt.Sprintf("CPU hotspot: %s takes %.0f%% of the CPU time", name, h.CumPct),
			Subject:  name,
			Detail: fmt.Sprintf("%s and what it calls account for %.0f%% of the CPU profile taken under load (%.0f%% in the function itself): making it cheaper, or calling it less, frees that CPU for requests.",
				name, h.CumPct, h.FlatPct),
			Evidence: []result.Evidence{
				{Metric: "cum_pct", Value: h.CumPct, Unit: "%", Source: "cpu profile", Note: note, Threshold: limit},
				{Metric: "flat_pct", Value: h.FlatPct, Unit: "%", Source: "cpu profile"},
			},
			Confidence: confidence(ratio, samples),
		}
		// The largest function of the program's own below it: where its
		// time may go (the shares carry no call graph, so this is a lead,
		// not a conclusion).
		var next *result.Hotspot
		for i := range sys.Hotspots {
			c := &sys.Hotspots[i]
			if c.CumPct < h.CumPct && c.CumPct >= h.CumPct/2 && !isPlumbing(c.Package, c.Function) && !isStdlib(c.Package) &&
				(next == nil || c.CumPct > next.CumPct) {
				next = c
			}
		}
		if next != nil {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "next: " + display(*next), Value: next.CumPct, Unit: "%", Source: "cpu profile",
				Note: fmt.Sprintf("the largest own function below it, perhaps where %s spends its time", name)})
			f.Detail += fmt.Sprintf(" Below it, %s takes %.0f%%: look there first.", display(*next), next.CumPct)
		}
		out = append(out, f)
	}
	return out, nil
}

// passThrough reports a function whose cumulative share is not its own
// cost: a wrapper that hands nearly all of it to one callee (middleware,
// a handler calling the real work), or a dispatcher that spreads it over
// many callees none of which is heavy, doing little itself. Either way the
// hotspot, if any, is below it. Profiles without call edges (older Runs)
// are taken as they are.
func passThrough(h result.Hotspot, limit float64) bool {
	if h.TopCallee == "" || h.FlatPct > limit/2 {
		return false
	}
	wrapper := h.TopCalleePct >= 0.8*h.CumPct
	dispatcher := h.TopCalleePct < 0.5*h.CumPct && h.FlatPct < 0.2*h.CumPct
	return wrapper || dispatcher
}

// profileSamples is a lower bound on the samples behind a profile's
// shares: a share is a whole number of samples over the total, so the
// smallest share is at least one sample. 0 when no share is positive.
func profileSamples(hs []result.Hotspot) int {
	least := math.Inf(1)
	for _, h := range hs {
		for _, v := range []float64{h.FlatPct, h.CumPct} {
			if v > 0 && v < least {
				least = v
			}
		}
	}
	if math.IsInf(least, 1) {
		return 0
	}
	return int(math.Round(100 / least))
}

// ruleContention: a lock is contended. From the mutex profile: one
// function holds locks that account for more than contention_share
// (default 30%) of the profile's delay, and the waiting is material — at
// least contention_wait_ratio (default 0.1) seconds of waiting per second
// of run (goroutines waiting on average), medium, high from ten times
// that. A dominant lock whose waiting is below that but still at least
// 1% of the time all requests took is reported low: not a bottleneck at
// this load, but contention grows faster than load. The block profile
// adds evidence for the same function; alone it cannot tell a lock from
// a channel or a timer, so it raises nothing. From the scalability
// phase: a USL fit whose contention σ is above usl_sigma (default 0.05),
// i.e. that share of the work is serialised.
func ruleContention(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	var out []result.Finding
	haveProfile := sys != nil && slices.ContainsFunc(sys.Contention, func(c result.Contention) bool { return c.Kind == "mutex" })
	if haveProfile {
		out = append(out, contentionFromProfiles(ev, sys)...)
	}
	u, une := uslFit(ev)
	if u != nil && u.Sigma > ev.cfg["usl_sigma"] {
		limit := ev.cfg["usl_sigma"]
		ratio := ratioOver(u.Sigma, limit)
		out = append(out, result.Finding{
			Severity: severityAbove(ratio, 4),
			Title:    fmt.Sprintf("Serialised work limits scaling: USL contention σ = %.3g (speed-up cannot exceed %s×)", u.Sigma, num(1/u.Sigma)),
			Subject:  subjectSerial,
			Detail:   "A share σ of the work runs one at a time (a lock, a single-threaded stage, a shared connection), so adding workers gives less and less.",
			Evidence: []result.Evidence{
				{Metric: "usl_sigma", Value: u.Sigma, Source: "scalability (USL fit)", Threshold: limit},
				{Metric: "usl_r2", Value: u.R2, Source: "scalability (USL fit)"},
			},
			Confidence: clamp(u.R2*confidence(ratio, 0)/0.9, 0.3, 0.95),
		})
	}
	if !haveProfile && u == nil {
		reason := "the run has no mutex profile (a Go target's pprof endpoint, with runtime.SetMutexProfileFraction on) and no scalability fit"
		if une != nil && ev.run.Scalability != nil {
			reason = "the run has no mutex profile, and " + une.Reason
		}
		return out, notEvaluated(reason, addPprof+" or tests: { scalability: { … } }")
	}
	return out, nil
}

// subjectSerial is the subject of contention seen in the USL fit, where
// no function is named.
const subjectSerial = "serialised work"

// minLockShareOfRequests is the least share of all requests' time spent
// waiting for one lock that is worth a (low) finding.
const minLockShareOfRequests = 0.01

func contentionFromProfiles(ev *evaluation, sys *result.System) []result.Finding {
	share := 100 * ev.cfg["contention_share"]
	waitLimit := ev.cfg["contention_wait_ratio"]
	run := ev.run
	dur := run.Summary.DurationS
	// Total time requests took, the yardstick of a small contention.
	reqS := float64(run.Summary.Requests) * run.Summary.Latency.Mean / 1000
	var out []result.Finding
	for _, c := range sys.Contention {
		if c.Kind != "mutex" || c.DelayPct <= share {
			continue
		}
		name := shortFunc(c.Function)
		f := result.Finding{
			Subject: name,
			Detail:  fmt.Sprintf("Goroutines queue for locks that %s holds: while it holds one the others wait, so throughput flattens however many users are added.", name),
			Evidence: []result.Evidence{
				{Metric: "mutex_delay_pct", Value: c.DelayPct, Unit: "%", Source: "mutex profile", Note: profileNote(sys, "mutex"), Threshold: share},
				{Metric: "mutex_delay_s", Value: c.DelayS, Unit: "s", Source: "mutex profile"},
			},
		}
		wait := math.NaN()
		if dur > 0 {
			wait = c.DelayS / dur
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "mutex_wait_per_s", Value: wait, Unit: "s/s", Source: "mutex profile",
				Note: "delay over the run's duration: goroutines waiting on average", Threshold: waitLimit})
		}
		ofRequests := math.NaN()
		if reqS > 0 {
			ofRequests = c.DelayS / reqS
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "share_of_request_time", Value: ofRequests, Unit: "ratio", Source: "mutex profile and run",
				Note: "delay over the time all requests took"})
		}
		for _, b := range sys.Contention {
			if b.Kind == "block" && b.Function == c.Function {
				f.Evidence = append(f.Evidence, result.Evidence{Metric: "block_delay_s", Value: b.DelayS, Unit: "s", Source: "block profile",
					Note: fmt.Sprintf("%.0f%% of the blocking", b.DelayPct)})
			}
		}
		switch {
		case dur > 0 && wait >= waitLimit:
			f.Severity = severityAbove(ratioOver(wait, waitLimit), 10)
			f.Title = fmt.Sprintf("Lock contention in %s: %.0f%% of lock waiting, %s goroutines waiting on average", name, c.DelayPct, num(wait))
			f.Confidence = confidence(ratioOver(wait, waitLimit), 0)
		case dur <= 0:
			f.Severity = SeverityMedium
			f.Title = fmt.Sprintf("Lock contention in %s: %.0f%% of the time goroutines waited for locks", name, c.DelayPct)
			f.Confidence = confidence(ratioOver(c.DelayPct, share), 0) * 0.8
		case ofRequests >= minLockShareOfRequests:
			f.Severity = SeverityLow
			f.Title = fmt.Sprintf("Lock contention building in %s: %.0f%% of lock waiting, %s of request time (not yet a bottleneck)", name, c.DelayPct, percent(ofRequests))
			f.Detail = fmt.Sprintf("%s holds the lock most waiting is for. At this load the waiting is small, but it grows faster than the load: at a higher load this lock will flatten throughput.", name)
			f.Confidence = 0.5
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// ruleGC: the Go runtime spent more than gc_pause_percent (default 5%)
// of the time paused for garbage collection, from its metrics. High from
// twice the threshold.
func ruleGC(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	if sys == nil || sys.GC == nil {
		return nil, notEvaluated("the run has no garbage-collector metrics of the target (the Go runtime's go_gc_* series)", addPrometheus)
	}
	limit := ev.cfg["gc_pause_percent"]
	g := sys.GC
	if g.PausePct <= limit {
		return nil, nil
	}
	ratio := ratioOver(g.PausePct, limit)
	return []result.Finding{{
		Severity: severityAbove(ratio, 2),
		Title:    fmt.Sprintf("GC pressure: %s%% of the time paused for garbage collection, %s collections/s", num(g.PausePct), num(g.CyclesPerS)),
		Subject:  "gc",
		Detail:   "The program allocates fast enough that the collector runs often and its pauses add to every request's latency.",
		Evidence: []result.Evidence{
			{Metric: "gc_pause_pct", Value: g.PausePct, Unit: "%", Source: "runtime metrics", Threshold: limit},
			{Metric: "gc_cycles_per_s", Value: g.CyclesPerS, Unit: "/s", Source: "runtime metrics"},
		},
		Confidence: confidence(ratio, len(sys.Timeline)),
	}}, nil
}

// ruleDatabase: a database answers slower than db_response_ms (default
// 500 ms) on average: a statement of pg_stat_statements (up to three,
// by their share of the database's time) or a SQL step of the plan.
// High from twice the threshold.
func ruleDatabase(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	run := ev.run
	limit := ev.cfg["db_response_ms"]
	var db *result.Database
	if run.System != nil {
		db = run.System.Database
	}
	sqlSteps := 0
	for i := range run.Steps {
		if run.Steps[i].Kind == "sql" {
			sqlSteps++
		}
	}
	if db == nil && sqlSteps == 0 {
		return nil, notEvaluated("the run has no database statistics (pg_stat_statements) and no SQL steps", addPostgres)
	}
	var out []result.Finding
	if db != nil {
		stmts := slices.Clone(db.SlowStatements)
		slices.SortStableFunc(stmts, func(a, b result.SlowStatement) int { return cmp.Compare(b.SharePct, a.SharePct) })
		n := 0
		for _, s := range stmts {
			if s.MeanMS <= limit || n == 3 {
				continue
			}
			n++
			ratio := ratioOver(s.MeanMS, limit)
			q := truncate(strings.Join(strings.Fields(s.Query), " "), 80)
			out = append(out, result.Finding{
				Severity: severityAbove(ratio, 2),
				Title:    fmt.Sprintf("Slow statement: %s ms on average over %d calls: %s", num(s.MeanMS), s.Calls, q),
				Subject:  q,
				Detail:   fmt.Sprintf("This statement takes %.0f%% of the database's time.", s.SharePct),
				Evidence: []result.Evidence{
					{Metric: "mean_ms", Value: s.MeanMS, Unit: "ms", Source: "pg_stat_statements", Threshold: limit},
					{Metric: "calls", Value: float64(s.Calls), Source: "pg_stat_statements"},
					{Metric: "share_pct", Value: s.SharePct, Unit: "%", Source: "pg_stat_statements"},
				},
				Confidence: confidence(ratio, int(min(s.Calls, math.MaxInt32))),
			})
		}
	}
	for i := range run.Steps {
		st := &run.Steps[i]
		if st.Kind != "sql" || st.Requests == 0 || st.Latency.Mean <= limit {
			continue
		}
		ratio := ratioOver(st.Latency.Mean, limit)
		out = append(out, result.Finding{
			Severity: severityAbove(ratio, 2),
			Title:    fmt.Sprintf("Slow SQL step %s: %s ms on average (p99 %s ms)", stepLabel(st), num(st.Latency.Mean), num(st.Latency.P99)),
			Subject:  stepLabel(st),
			Detail:   "The time includes waiting for a connection from the step's pool.",
			Evidence: []result.Evidence{
				{Metric: "latency_mean", Value: st.Latency.Mean, Unit: "ms", Source: "step " + stepLabel(st), Threshold: limit},
				{Metric: "latency_p99", Value: st.Latency.P99, Unit: "ms", Source: "step " + stepLabel(st)},
				{Metric: "pool_wait_mean", Value: st.Phases.PoolWait, Unit: "ms", Source: "step " + stepLabel(st)},
			},
			Confidence: confidence(ratio, int(min(st.Requests, math.MaxInt32))),
		})
	}
	return out, nil
}

// ruleCPU: the target's CPU stays above cpu_percent (default 80%). The
// watched process's CPU (one core = 100) is taken as a share of the
// machine's cores (the watch reads local processes, so the run's host is
// theirs); without a process, the host's CPU. "Stays" is the 75th
// percentile of the samples — above the threshold for a quarter of the
// run, not one busy second. High from 95%.
func ruleCPU(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	if sys == nil {
		return nil, notEvaluated("the run did not watch the system under test's process or host", addProcess)
	}
	cores := 1
	if ev.run.Host != nil && ev.run.Host.Cores > 0 {
		cores = ev.run.Host.Cores
	}
	var proc, host []float64
	for _, p := range sys.Timeline {
		if p.CPUPercent > 0 {
			proc = append(proc, p.CPUPercent/float64(cores))
		}
		if p.HostCPU > 0 {
			host = append(host, p.HostCPU)
		}
	}
	var vals []float64
	source, note, who := "", "", "the target"
	switch {
	case len(proc) > 0:
		vals, source, note = proc, "timeline process", fmt.Sprintf("process CPU over %d cores", cores)
	case len(host) > 0:
		vals, source, note, who = host, "timeline host", "host CPU, all cores", "the host"
	case sys.Process != nil && sys.Process.CPUPercent.Mean > 0:
		vals, source, note = []float64{sys.Process.CPUPercent.Mean / float64(cores)}, "process summary", fmt.Sprintf("mean process CPU over %d cores", cores)
	default:
		return nil, notEvaluated("the watch recorded no CPU samples", addProcess)
	}
	limit := ev.cfg["cpu_percent"]
	sustained := quantile(vals, 0.75)
	if sustained <= limit {
		return nil, nil
	}
	sev := SeverityMedium
	if sustained >= 95 {
		sev = SeverityHigh
	}
	return []result.Finding{{
		Severity: sev,
		Title:    fmt.Sprintf("CPU saturated: %s stays at %.0f%% of its CPU", who, sustained),
		Subject:  "cpu",
		Detail:   "With the CPU this busy, requests queue for it and latency grows with every added user; a CPU profile shows where it goes.",
		Evidence: []result.Evidence{
			{Metric: "cpu_percent_p75", Value: sustained, Unit: "%", Source: source, Note: note, Threshold: limit},
			{Metric: "cpu_percent_mean", Value: mean(vals), Unit: "%", Source: source},
			{Metric: "cpu_percent_max", Value: maxOf(vals), Unit: "%", Source: source},
		},
		Confidence: confidence(ratioOver(sustained, limit)*1.2, len(vals)),
	}}, nil
}

// ruleMemory: the host's memory in use peaks above memory_percent
// (default 85%); memory runs out at its peak, not on average. High from
// 95%.
func ruleMemory(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	var vals []float64
	if sys != nil {
		for _, p := range sys.Timeline {
			if p.HostMemPct > 0 {
				vals = append(vals, p.HostMemPct)
			}
		}
	}
	if len(vals) == 0 {
		return nil, notEvaluated("the run has no memory samples of the host (the watch samples it beside the process)", addProcess)
	}
	limit := ev.cfg["memory_percent"]
	peak := maxOf(vals)
	if peak <= limit {
		return nil, nil
	}
	sev := SeverityMedium
	if peak >= 95 {
		sev = SeverityHigh
	}
	ev1 := []result.Evidence{
		{Metric: "host_mem_percent_max", Value: peak, Unit: "%", Source: "timeline host", Threshold: limit},
		{Metric: "host_mem_percent_mean", Value: mean(vals), Unit: "%", Source: "timeline host"},
	}
	if p := sys.Process; p != nil && p.RSSMB.Max > 0 {
		ev1 = append(ev1, result.Evidence{Metric: "process_rss_mb_max", Value: p.RSSMB.Max, Unit: "MB", Source: "timeline process"})
	}
	return []result.Finding{{
		Severity:   sev,
		Title:      fmt.Sprintf("Memory pressure: the host's memory peaks at %.0f%% in use", peak),
		Subject:    "memory",
		Detail:     "Close to the limit the system swaps, evicts caches or kills the largest process.",
		Evidence:   ev1,
		Confidence: confidence(ratioOver(peak, limit)*1.2, len(vals)),
	}}, nil
}
