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
