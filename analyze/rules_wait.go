package analyze

import (
	"fmt"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// waitShare is the default least share of the request goroutines' time
// in one kind of wait that is a finding (setting wait_share); waitMinMS
// the least time per request that wait must stand for to be of medium
// severity: a service answering in half a millisecond, half of it
// reading a fast cache over a socket, has nothing to fix.
const (
	waitShare = 0.30
	waitMinMS = 1.0
)

// ruleDependency: the goroutines serving requests spend at least
// wait_share (default 30%) of their time waiting for other services — an
// outgoing HTTP or gRPC call, a wait for a connection from the client's
// pool, or another socket of the program's own — seen in the goroutine
// snapshots taken under load (System.Waits). High from twice the share.
// The CPU profile cannot see this time (nothing runs), and a block
// profile sees only part of it; the snapshots see every goroutine. The
// finding names the own function nearest above the call. Low when the
// wait is under waitMinMS per request.
func ruleDependency(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	return ruleWait(ev, "slow dependency", []string{WaitDependency, WaitNetwork},
		func(s result.WaitSite) string {
			switch {
			case s.Detail == "connection pool":
				return "waiting for a connection from the HTTP client's pool (" + shortFunc(s.Via) + ")"
			case s.Detail == "grpc":
				return "in outgoing gRPC calls (" + shortFunc(s.Via) + ")"
			case s.Detail == "http":
				return "in outgoing HTTP calls (" + shortFunc(s.Via) + ")"
			}
			return "on the network (" + shortFunc(s.Via) + ")"
		},
		func(name string, s result.WaitSite) string {
			if s.Detail == "connection pool" {
				return fmt.Sprintf("Requests queue for the HTTP client's connections in %s: raise the Transport's MaxIdleConnsPerHost (2 by default) and MaxConnsPerHost to the concurrency the dependency takes, and reuse one Client.", name)
			}
			return fmt.Sprintf("Requests wait on another service in %s. Measure that service on its own; meanwhile bound each call with a timeout, cache what it returns, make independent calls in parallel, and keep its connections alive (one shared Client).", name)
		})
}

// ruleDiskIO: the goroutines serving requests spend at least wait_share
// (default 30%) of their time in file system calls (fsync, writes, reads,
// opens) — synchronous disk work on the request path, seen in the
// goroutine snapshots. High from twice the share; low under waitMinMS
// per request. Host-wide disk saturation is disk_bound's; this names the
// own function that does the I/O.
func ruleDiskIO(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	return ruleWait(ev, "disk I/O in requests", []string{WaitDisk},
		func(s result.WaitSite) string {
			if s.Detail == "fsync" {
				return "flushing files to disk (" + shortFunc(s.Via) + ")"
			}
			return "in file system calls (" + shortFunc(s.Via) + ")"
		},
		func(name string, s result.WaitSite) string {
			if s.Detail == "fsync" {
				return fmt.Sprintf("Each request waits for the disk in %s: batch the writes and flush once per batch (group commit), or hand them to a writer off the request path; an fsync per request caps throughput at the disk's flush rate.", name)
			}
			return fmt.Sprintf("Each request waits for the file system in %s: keep files open, buffer writes, cache what is read every time, or move the work off the request path.", name)
		})
}

// ruleWait is the rule of ruleDependency and ruleDiskIO: the states'
// share of the request goroutines' observations against wait_share.
func ruleWait(ev *evaluation, what string, states []string, doing func(result.WaitSite) string, fix func(string, result.WaitSite) string) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	if sys == nil || sys.Waits == nil {
		reason := "the run has no goroutine snapshots of a Go target serving requests (a pprof endpoint gives them, taken with the CPU profile at the peak)"
		return nil, notEvaluated(reason, "system: { pprof: http://HOST:PORT/debug/pprof }")
	}
	w := sys.Waits
	if w.Observations < minWaitObservations {
		return nil, notEvaluated(fmt.Sprintf("the goroutine snapshots caught %d goroutines serving requests, under %d: too few to tell where request time goes (profile longer or under more load)",
			w.Observations, minWaitObservations), "system: { cpu_profile: 30s }")
	}
	limit := 100 * setting(ev, "wait_share", waitShare)
	var pct, ms float64
	var top result.WaitSite
	for _, st := range w.States {
		for _, s := range states {
			if st.State != s {
				continue
			}
			pct += st.Pct
			ms += st.MSPerReq
			for _, site := range st.Sites {
				if site.Pct > top.Pct {
					top = site
				}
			}
		}
	}
	if pct < limit || top.Function == "" {
		return nil, nil
	}
	name := shortFunc(top.Function)
	ratio := ratioOver(pct, limit)
	f := result.Finding{
		Severity: severityAbove(ratio, 2),
		Subject:  name,
		Title:    fmt.Sprintf("%s: %s spends %.0f%% of request time %s", capitalize(what), name, top.Pct, doing(top)),
		Evidence: []result.Evidence{
			{Metric: "wait_pct", Value: pct, Unit: "%", Source: "goroutine snapshots", Threshold: limit,
				Note: fmt.Sprintf("share of the request goroutines' time; %d snapshots over %s s, %d goroutines seen serving requests", w.Snapshots, num(w.SpanS), w.Observations)},
			{Metric: "site_pct", Value: top.Pct, Unit: "%", Source: "goroutine snapshots", Note: name + " → " + shortFunc(top.Via)},
			{Metric: "in_request", Value: w.InRequest, Source: "goroutine snapshots", Note: "goroutines serving requests on average"},
		},
		Confidence: confidence(ratio, int(w.Observations)),
	}
	f.Detail = fmt.Sprintf("Goroutine snapshots taken under load found the goroutines serving requests %s %.0f%% of the time; %s accounts for %.0f%%.",
		strings.TrimPrefix(doing(top), "in "), pct, name, top.Pct)
	if ms > 0 {
		f.Title += fmt.Sprintf(", %s ms per request", num(ms))
		f.Evidence = append(f.Evidence, result.Evidence{Metric: "wait_ms_per_request", Value: ms, Unit: "ms", Source: "goroutine snapshots and throughput",
			Note: fmt.Sprintf("average goroutines waiting ÷ %s requests/s (Little's law)", num(w.RPS))})
		if ms < waitMinMS {
			f.Severity = SeverityLow
			f.Confidence /= 2 // sure of the numbers, not that they are a problem
			f.Detail += fmt.Sprintf(" That is %s ms per request, under %s ms: where the time of fast requests goes, not a bottleneck.", num(ms), num(waitMinMS))
		}
	}
	f.Detail += " " + fix(name, top)
	if !top.Own {
		f.Detail += " (No function of the program's own is above the call; " + name + " is the handler the server called.)"
	}
	return []result.Finding{f}, nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
