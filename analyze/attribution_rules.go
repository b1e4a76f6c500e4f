package analyze

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// gcCPUShare is the default least share of the CPU profile in allocation
// and garbage collection that is GC pressure (setting gc_cpu_share).
const gcCPUShare = 0.25

// setting is a rule setting, def when the settings do not have it.
func setting(ev *evaluation, name string, def float64) float64 {
	if v, ok := ev.cfg[name]; ok {
		return v
	}
	return def
}

// ruleHotspot: own code of the program (see ownCode) whose CPU time,
// outside other own functions below it, is above hotspot_share (default
// 30%) of the CPU profile taken at the peak. That time — in the function
// itself and in the libraries and runtime it calls directly, not in the
// own functions it calls — is what changing the function can gain: a
// handler with no time of its own that calls an expensive library
// routine has all of it; a handler that runs four own steps has little
// (the steps are looked at instead), as has a wrapper or a dispatcher of
// own code. The regions of different own functions do not overlap, so
// each one over the threshold is named, largest first, with where its
// time goes (the heaviest path below it). When no own function passes,
// the innermost library function over the threshold is named with the
// own functions nearest above it; a standard-library function no own
// code calls (the HTTP server writing responses) is serving cost, not a
// finding, and a dependency working on its own goroutines is low. In a
// mostly idle process (under idleCPUPercent of one core on average) a
// hotspot whose CPU per request is less than hotspot_share of the mean
// service time is low: freeing that CPU gains neither throughput nor
// much latency; one whose time is mostly outside requests (a background
// job; RequestPct) is low there too.
// High only when the process was short of CPU: with CPU to spare (under
// half the cores, and it kept up) a high one is medium (capOnHeadroom).
// A profile that sampled less than cpu_profile_coverage (default 60%) of
// the CPU the process used in its span makes the finding low: its shares
// lean towards the longer-running work (see profileCoverage).
// Runtime functions are never named: time all in the garbage collector
// is the GC pressure rule's. High from one and a half times the
// threshold. Runs analysed before own code was told apart (no
// system.module) keep the earlier rule.
func ruleHotspot(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	if sys == nil || len(sys.Hotspots) == 0 {
		reason := "the run has no CPU profile of the target (a Go target's pprof endpoint gives one, taken at the peak)"
		if sys != nil && profileNote(sys, "cpu") != "" {
			reason = "the CPU profile held no samples: profile longer (cpu_profile) or under more load"
		}
		return nil, notEvaluated(reason, "system: { pprof: http://HOST:PORT/debug/pprof, cpu_profile: 30s }")
	}
	if sys.Module == nil {
		return legacyHotspot(ev), nil
	}
	limit := 100 * ev.cfg["hotspot_share"]
	note := profileNote(sys, "cpu")
	samples, count := profileSamples(sys.Hotspots), "at least %d samples"
	if sys.CPUSamples > 0 {
		samples, count = sys.CPUSamples, "%d samples"
	}
	if samples > 0 {
		note = strings.TrimPrefix(note+"; "+fmt.Sprintf(count, samples), "; ")
	}
	var named []result.Hotspot
	for _, h := range sys.Hotspots {
		if h.Own && ownShare(h) > limit && !isPlumbing(h.Package, h.Function) {
			named = append(named, h)
		}
	}
	if len(named) == 0 {
		return libraryHotspot(ev, limit, note, samples), nil
	}
	slices.SortStableFunc(named, func(a, b result.Hotspot) int { return cmp.Compare(ownShare(b), ownShare(a)) })
	var out []result.Finding
	for _, h := range named {
		name := displayHotspot(h)
		share := ownShare(h)
		ratio := ratioOver(share, limit)
		f := result.Finding{
			Severity: severityAbove(ratio, 1.5),
			Title:    fmt.Sprintf("CPU hotspot: %s takes %.0f%% of the CPU time", name, h.CumPct),
			Subject:  name,
			Evidence: []result.Evidence{
				{Metric: "cum_pct", Value: h.CumPct, Unit: "%", Source: "cpu profile", Note: note},
				{Metric: "outside_own_pct", Value: share, Unit: "%", Source: "cpu profile", Threshold: limit,
					Note: "in it and what it calls outside other own functions: what changing it can gain"},
				{Metric: "flat_pct", Value: h.FlatPct, Unit: "%", Source: "cpu profile"},
			},
			Confidence: confidence(ratio, samples),
		}
		f.Detail = fmt.Sprintf("%s and what it calls account for %.0f%% of the CPU profile taken under load (%.0f%% in the function itself", name, h.CumPct, h.FlatPct)
		if h.OwnBelowPct > 0 {
			f.Detail += fmt.Sprintf(", %.0f%% in other own functions it calls", h.OwnBelowPct)
		}
		f.Detail += ")."
		if idle, perReq, ofService := idleShare(ev.run, share); idle {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "cpu_ms_per_request", Value: perReq, Unit: "ms", Source: "cpu profile and process",
				Note: fmt.Sprintf("%s of the mean service time", percent(ofService))})
			if sys.RequestCPUPct > 0 && h.RequestPct < h.CumPct/2 {
				// Most of its time is outside requests: a background job
				// that, in a process with CPU to spare, delays no request.
				f.Severity = SeverityLow
				f.Confidence /= 2 // sure of the numbers, not that they are a problem
				f.Evidence = append(f.Evidence, result.Evidence{Metric: "in_requests_pct", Value: h.RequestPct, Unit: "%", Source: "cpu profile",
					Note: "of all samples, taken while it served a request"})
				f.Detail += fmt.Sprintf(" Most of it (%.0f%% of %.0f%%) runs outside requests, in the background, and the process was mostly idle (%.0f%% of one core on average): it delays no request at this load; it matters when the CPU is short.",
					h.CumPct-h.RequestPct, h.CumPct, ev.run.System.Process.CPUPercent.Mean)
			} else if 100*ofService < limit {
				f.Severity = SeverityLow
				f.Confidence /= 2 // sure of the numbers, not that they are a problem
				f.Detail += fmt.Sprintf(" The process was mostly idle (%.0f%% of one core on average) and this CPU is about %s ms per request, %s of the service time: where its little CPU goes, not a bottleneck at this load.",
					ev.run.System.Process.CPUPercent.Mean, num(perReq), percent(ofService))
			}
		}
		// The first step of the path outside own code: the library or
		// runtime routine this function's own share goes to.
		lib := slices.IndexFunc(h.Path, func(c result.CallShare) bool { return !c.Own })
		if lib >= 0 && h.Path[lib].Pct >= h.FlatPct {
			c := h.Path[lib]
			where := "in " + shortFunc(c.Function)
			if pkg, _ := splitFuncName(c.Function); isRuntimePkg(pkg) &&
				slices.ContainsFunc(h.Path[lib:], func(c result.CallShare) bool { return c.Function == mallocgc }) {
				where = "allocating"
			}
			f.Title += fmt.Sprintf(", %.0f%% of it %s", c.Pct, where)
			f.Detail += " Where its time goes: " + pathText(h.Path) + "."
			if m := slices.IndexFunc(h.Path, func(c result.CallShare) bool { return c.Function == mallocgc }); m >= 0 {
				f.Detail += fmt.Sprintf(" %.0f%% of the CPU is allocating (runtime.mallocgc) for it: GC pressure from its allocations, which also makes the collector work harder.", h.Path[m].Pct)
			}
			f.Detail += fmt.Sprintf(" The time is in what %s calls: call it less (once per request, not per item), cache its result, or use a cheaper routine.", name)
			for _, c := range h.Path {
				f.Evidence = append(f.Evidence, result.Evidence{Metric: "path: " + shortFunc(c.Function), Value: c.Pct, Unit: "%", Source: "cpu profile",
					Note: "below " + name + ", on its heaviest path"})
			}
		} else {
			f.Detail += fmt.Sprintf(" The time is in its own code: look at its lines (go tool pprof -list '%s').", regexp.QuoteMeta(h.Function))
		}
		capOnHeadroom(ev, &f)
		lowerOnThinProfile(ev, &f)
		lowerOnFewSamples(ev, &f, share, limit)
		out = append(out, f)
	}
	return out, nil
}

// headroomShare is the share of the machine's cores under which a
// process that kept up with the rate asked of it had CPU to spare.
const headroomShare = 0.5

// capOnHeadroom makes a high CPU finding medium when the process had CPU
// to spare (under headroomShare of the cores on average, and it kept up):
// the function is where the CPU goes and what will limit the service
// first as the load grows, but it limits nothing at this load, so it does
// not rank with what hurts now (a leak, errors, a saturated pool).
func capOnHeadroom(ev *evaluation, f *result.Finding) {
	run := ev.run
	if f.Severity != SeverityHigh || run.System == nil || run.System.Process == nil || !keptUp(run) {
		return
	}
	cores := 1
	if run.Host != nil && run.Host.Cores > 0 {
		cores = run.Host.Cores
	}
	used := run.System.Process.CPUPercent.Mean / 100 / float64(cores)
	if used <= 0 || used >= headroomShare {
		return
	}
	f.Severity = SeverityMedium
	f.Detail += fmt.Sprintf(" The process used %s of the machine's %d cores on average and kept up with the load: this limits nothing yet, and is what will as the load grows.", percent(used), cores)
}

// lowerOnThinProfile makes a finding that rests on the CPU profile's
// shares low, with half its confidence and the reason, when the profile
// sampled too little of the process's CPU to trust them (thinProfile).
func lowerOnThinProfile(ev *evaluation, f *result.Finding) {
	thin, why := thinProfile(ev)
	if !thin {
		return
	}
	if f.Severity != SeverityLow {
		f.Severity = SeverityLow
		f.Confidence /= 2 // the shares may be right; the profile cannot say
	}
	f.Detail += why
	f.Evidence = append(f.Evidence, result.Evidence{Metric: "cpu_profile_coverage", Value: ev.run.System.CPUProfileCoverage, Unit: "ratio",
		Source: "cpu profile and process", Threshold: setting(ev, "cpu_profile_coverage", minProfileCoverage),
		Note: "CPU time sampled over the CPU time the process used in the profile's span"})
}

// idleCPUPercent is the process CPU (one core = 100) under which a
// hotspot is judged by what it costs each request rather than by its
// share of a profile that is mostly idle time elsewhere.
const idleCPUPercent = 15

// idleShare reports a mostly idle process (average CPU under
// idleCPUPercent, and the rate asked of it delivered: see keptUp), and then how many milliseconds of CPU per request a
// share (%) of its CPU is, and that as a part of the mean service time.
func idleShare(run *result.Run, share float64) (idle bool, perReqMS, ofService float64) {
	sys := run.System
	if sys.Process == nil || sys.Process.CPUPercent.Mean <= 0 || sys.Process.CPUPercent.Mean >= idleCPUPercent || run.Summary.RPS <= 0 || !keptUp(run) {
		return false, 0, 0
	}
	perReqMS = share / 100 * sys.Process.CPUPercent.Mean / 100 / run.Summary.RPS * 1000
	if run.Summary.Service.Mean > 0 {
		ofService = perReqMS / run.Summary.Service.Mean
	}
	return true, perReqMS, ofService
}

// ownShare is the share of the CPU samples in which h runs with no other
// own function below it.
func ownShare(h result.Hotspot) float64 { return max(0, h.CumPct-h.OwnBelowPct) }

// libraryHotspot names the innermost function outside own code, the
// runtime and server plumbing over the threshold, with the own functions
// that call it; nothing when there is none.
func libraryHotspot(ev *evaluation, limit float64, note string, samples int) []result.Finding {
	sys := ev.run.System
	var over []result.Hotspot
	for _, h := range sys.Hotspots {
		if !h.Own && h.CumPct > limit && !isPlumbing(h.Package, h.Function) && !passThrough(h, limit) {
			over = append(over, h)
		}
	}
	// Innermost first; the standard library serving requests, with no
	// code of the program's own asking for it, is no finding.
	slices.SortStableFunc(over, func(a, b result.Hotspot) int { return cmp.Compare(a.CumPct, b.CumPct) })
	over = slices.DeleteFunc(over, func(h result.Hotspot) bool { return len(h.Callers) == 0 && isStdlib(h.Package) })
	if len(over) == 0 {
		return nil
	}
	h := over[0]
	name := displayHotspot(h)
	ratio := ratioOver(h.CumPct, limit)
	f := result.Finding{
		Severity: severityAbove(ratio, 1.5),
		Title:    fmt.Sprintf("CPU hotspot in library code: %s takes %.0f%% of the CPU time", name, h.CumPct),
		Subject:  name,
		Evidence: []result.Evidence{
			{Metric: "cum_pct", Value: h.CumPct, Unit: "%", Source: "cpu profile", Note: note, Threshold: limit},
			{Metric: "flat_pct", Value: h.FlatPct, Unit: "%", Source: "cpu profile"},
		},
		Confidence: confidence(ratio, samples) * 0.8,
	}
	if len(h.Callers) == 0 {
		f.Severity = SeverityLow
		f.Detail = fmt.Sprintf("%s is not the program's own code and no own function is on its stacks (it runs on the library's own goroutines): configure the library, or use it less.", name)
		return []result.Finding{f}
	}
	var callers []string
	for _, c := range h.Callers {
		callers = append(callers, fmt.Sprintf("%s (%.0f%%)", shortFunc(c.Function), c.Pct))
		f.Evidence = append(f.Evidence, result.Evidence{Metric: "called from: " + shortFunc(c.Function), Value: c.Pct, Unit: "%", Source: "cpu profile",
			Note: "the own function nearest above it"})
	}
	f.Subject = shortFunc(h.Callers[0].Function)
	f.Title += ", called from " + strings.Join(callers, ", ")
	f.Detail = fmt.Sprintf("No one own function passes %.0f%% of the CPU time, but together they spend %.0f%% in %s. Call it less from %s (cache its result, call it once per request), or use a cheaper routine.",
		limit, h.CumPct, name, f.Subject)
	capOnHeadroom(ev, &f)
	lowerOnThinProfile(ev, &f)
	lowerOnFewSamples(ev, &f, h.CumPct, limit)
	return []result.Finding{f}
}

// legacyHotspot is the rule for Runs analysed before own code was told
// apart: code outside the standard library counts as own, and wrappers
// and dispatchers are told by their top callee alone.
func legacyHotspot(ev *evaluation) []result.Finding {
	sys := ev.run.System
	limit := 100 * ev.cfg["hotspot_share"]
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
			if h.FlatPct > limit/2 && !slices.ContainsFunc(named, func(n result.Hotspot) bool { return sameFunc(n, h) }) {
				named = append(named, h)
			}
		}
		break
	}
	note := profileNote(sys, "cpu")
	samples, count := profileSamples(sys.Hotspots), "at least %d samples"
	if sys.CPUSamples > 0 {
		samples, count = sys.CPUSamples, "%d samples"
	}
	if samples > 0 {
		note = strings.TrimPrefix(note+"; "+fmt.Sprintf(count, samples), "; ")
	}
	var out []result.Finding
	for _, h := range named {
		name := displayHotspot(h)
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
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "next: " + displayHotspot(*next), Value: next.CumPct, Unit: "%", Source: "cpu profile",
				Note: fmt.Sprintf("the largest own function below it, perhaps where %s spends its time", name)})
			f.Detail += fmt.Sprintf(" Below it, %s takes %.0f%%: look there first.", displayHotspot(*next), next.CumPct)
		}
		out = append(out, f)
	}
	return out
}

func sameFunc(a, b result.Hotspot) bool { return a.Package == b.Package && a.Function == b.Function }

func displayHotspot(h result.Hotspot) string {
	if h.Package == "" {
		return h.Function
	}
	return lastElem(h.Package) + "." + h.Function
}

// pathText is a path below a function: "lib.Build 48% → runtime.mallocgc 29%".
func pathText(path []result.CallShare) string {
	parts := make([]string, len(path))
	for i, c := range path {
		parts[i] = fmt.Sprintf("%s %.0f%%", shortFunc(c.Function), c.Pct)
	}
	return strings.Join(parts, " → ")
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

// ruleContention: a lock is contended. From the mutex profile: the code
// holding locks that account for more than contention_share (default
// 30%) of the profile's delay — the nearest own function up the stack
// from the lock (see contention), never the runtime's or sync's
// machinery — and the waiting is material: at least
// contention_wait_ratio (default 0.1) seconds of waiting per second of
// run (goroutines waiting on average), medium, high from ten times that.
// A dominant lock whose waiting is below that but still at least 1% of
// the time all requests took is reported low: not a bottleneck at this
// load, but contention grows faster than load. Delay whose stacks hold
// no own function and end in the runtime (its internal locks: the
// scheduler, the heap, channels between runtime goroutines) is no
// finding: no code of the program's own holds the lock. The block
// profile adds evidence for the same function; alone it cannot tell a
// lock from a channel or a timer, so it raises nothing — but waits for a
// database/sql pooled connection (see poolWaits). From the scalability
// phase: a USL fit whose contention σ is above usl_sigma
// (default 0.05), i.e. that share of the work is serialised.
func ruleContention(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	var out []result.Finding
	haveProfile := sys != nil && slices.ContainsFunc(sys.Contention, func(c result.Contention) bool { return c.Kind == "mutex" || (c.Kind == "block" && c.Own) })
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
		if pkg, _ := splitFuncName(c.Function); !c.Own && isLockMachinery(pkg) {
			continue // the runtime's own locks: nothing of the program's holds them
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
		if c.Via != "" {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "via: " + shortFunc(c.Via), Value: c.DelayPct, Unit: "%", Source: "mutex profile",
				Note: "what " + name + " called on the way to the lock"})
			f.Detail += fmt.Sprintf(" It reaches the lock through %s.", shortFunc(c.Via))
		}
		if sys.Module != nil && !c.Own {
			f.Detail += " No own function is on the stacks of this waiting: the lock is the library's, taken on its own goroutines."
		}
		wait := math.NaN()
		if dur > 0 {
			wait = c.DelayS / dur
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "mutex_wait_per_s", Value: wait, Unit: "s/s", Source: "mutex profile",
				Note: "delay over the run's duration: goroutines waiting on average", Threshold: waitLimit})
		}
		perReq := ""
		if run.Summary.Requests > 0 {
			ms := 1000 * c.DelayS / float64(run.Summary.Requests)
			perReq = fmt.Sprintf(", %s ms waited per request", num(ms))
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "mutex_wait_per_request_ms", Value: ms, Unit: "ms", Source: "mutex profile and run",
				Note: "delay over the run's requests"})
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
			f.Title = fmt.Sprintf("Lock contention in %s: %.0f%% of lock waiting, %s goroutines waiting on average%s", name, c.DelayPct, num(wait), perReq)
			f.Confidence = confidence(ratioOver(wait, waitLimit), 0)
		case dur <= 0:
			f.Severity = SeverityMedium
			f.Title = fmt.Sprintf("Lock contention in %s: %.0f%% of the time goroutines waited for locks%s", name, c.DelayPct, perReq)
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
	return append(out, poolWaits(ev, sys, out)...)
}

// poolWaits: goroutines blocked in database/sql waiting for a pooled
// connection (the block profile's delay reached through database/sql,
// whose only blocking is that wait and its own locks) are contention for
// the pool, a semaphore. The own function that waited is named when
// goroutines wait there at least contention_wait_ratio on average,
// medium, high from ten times that, unless a mutex finding already names
// it. Its share of the blocking is evidence only: other waits (channels,
// timers, remote calls) dilute it without making the pool less full.
func poolWaits(ev *evaluation, sys *result.System, named []result.Finding) []result.Finding {
	waitLimit := ev.cfg["contention_wait_ratio"]
	run := ev.run
	dur := run.Summary.DurationS
	var out []result.Finding
	for _, c := range sys.Contention {
		if c.Kind != "block" || !c.Own || dur <= 0 || !strings.HasPrefix(c.Via, "database/sql.") {
			continue
		}
		name := shortFunc(c.Function)
		if slices.ContainsFunc(named, func(f result.Finding) bool { return f.Subject == name }) {
			continue
		}
		wait := c.DelayS / dur
		if wait < waitLimit {
			continue
		}
		ratio := ratioOver(wait, waitLimit)
		f := result.Finding{
			Severity: severityAbove(ratio, 10),
			Title: fmt.Sprintf("Connection pool contention in %s: %s goroutines waiting for a database connection on average (%.0f%% of the blocking)",
				name, num(wait), c.DelayPct),
			Subject: name,
			Detail: fmt.Sprintf("Goroutines in %s wait in %s for a connection from database/sql's pool: the pool is too small for the load, or its connections are held too long (across remote calls, slow transactions). Hold a connection only for the statements that need it, then size the pool (SetMaxOpenConns) to what the database can serve.",
				name, shortFunc(c.Via)),
			Evidence: []result.Evidence{
				{Metric: "block_wait_per_s", Value: wait, Unit: "s/s", Source: "block profile", Note: "delay over the run's duration: goroutines waiting on average", Threshold: waitLimit},
				{Metric: "block_delay_pct", Value: c.DelayPct, Unit: "%", Source: "block profile", Note: profileNote(sys, "block")},
				{Metric: "via: " + shortFunc(c.Via), Value: c.DelayS, Unit: "s", Source: "block profile", Note: "what " + name + " called on the way to the wait"},
			},
			Confidence: confidence(ratio, 0) * 0.9,
		}
		if run.Summary.Requests > 0 {
			ms := 1000 * c.DelayS / float64(run.Summary.Requests)
			f.Title += fmt.Sprintf(", %s ms waited per request", num(ms))
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "block_wait_per_request_ms", Value: ms, Unit: "ms", Source: "block profile and run",
				Note: "delay over the run's requests"})
		}
		out = append(out, f)
	}
	return out
}

// ruleGC: garbage collection costs too much, seen two ways. From the CPU
// profile: allocation and collection work (runtime.mallocgc and below,
// mark workers, assists, sweeping; not idle-mode marking, which only
// fills processors nothing else wanted) take at least gc_cpu_share
// (default 25%) of the CPU samples; high from 1.6 times that, low when
// the profile sampled too little of the process's CPU to trust its
// shares (cpu_profile_coverage, see thinProfile). From the runtime's
// metrics: it spent more than gc_pause_percent (default 5%) of the time
// paused; high from twice that. Both make one finding, named after the
// own function that allocated the most bytes between the start and end
// heap profiles (alloc_space), else the own function nearest above the
// allocator in the CPU profile, else "gc".
func ruleGC(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	if sys == nil || (sys.GC == nil && sys.Alloc == nil) {
		return nil, notEvaluated("the run has no garbage-collector metrics of the target (the Go runtime's go_gc_* series) and no CPU profile", addPrometheus)
	}
	pauseLimit := ev.cfg["gc_pause_percent"]
	cpuLimit := 100 * setting(ev, "gc_cpu_share", gcCPUShare)
	byPause := sys.GC != nil && sys.GC.PausePct > pauseLimit
	a := sys.Alloc
	byCPU := a != nil && a.CPUPct >= cpuLimit
	if !byPause && !byCPU {
		return nil, nil
	}
	f := result.Finding{Subject: "gc"}
	var parts []string
	ratio, high := 0.0, false
	if byCPU {
		ratio, high = ratioOver(a.CPUPct, cpuLimit), a.CPUPct >= 1.6*cpuLimit
		parts = append(parts, fmt.Sprintf("allocation and garbage collection take %.0f%% of the CPU", a.CPUPct))
		f.Evidence = append(f.Evidence,
			result.Evidence{Metric: "gc_cpu_pct", Value: a.CPUPct, Unit: "%", Source: "cpu profile", Note: profileNote(sys, "cpu"), Threshold: cpuLimit},
			result.Evidence{Metric: "malloc_cpu_pct", Value: a.MallocPct, Unit: "%", Source: "cpu profile", Note: "under runtime.mallocgc"},
			result.Evidence{Metric: "gc_work_cpu_pct", Value: a.GCWorkPct, Unit: "%", Source: "cpu profile", Note: "mark workers, assists, sweeping"})
		if a.IdleMarkPct > 0 {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "idle_mark_cpu_pct", Value: a.IdleMarkPct, Unit: "%", Source: "cpu profile",
				Note: "marking on processors with nothing else to run: not counted, it takes CPU from no request"})
		}
	}
	if sys.GC != nil {
		if byPause {
			ratio = max(ratio, ratioOver(sys.GC.PausePct, pauseLimit))
			high = high || sys.GC.PausePct >= 2*pauseLimit
			parts = append(parts, fmt.Sprintf("%s%% of the time paused for garbage collection, %s collections/s", num(sys.GC.PausePct), num(sys.GC.CyclesPerS)))
		}
		f.Evidence = append(f.Evidence,
			result.Evidence{Metric: "gc_pause_pct", Value: sys.GC.PausePct, Unit: "%", Source: "runtime metrics", Threshold: pauseLimit},
			result.Evidence{Metric: "gc_cycles_per_s", Value: sys.GC.CyclesPerS, Unit: "/s", Source: "runtime metrics"})
	}
	f.Severity = SeverityMedium
	if high {
		f.Severity = SeverityHigh
	}
	f.Confidence = confidence(ratio, len(sys.Timeline))
	f.Title = "GC pressure: " + strings.Join(parts, "; ")
	f.Detail = "The program allocates fast enough that the collector runs often: its work takes CPU from requests and its pauses add to their latency."
	idleNote := ""
	if byCPU && !byPause {
		// A share of a mostly idle process's CPU costs no throughput, and
		// the collector's own work runs beside the requests on cores to
		// spare: what a request pays is its allocating (assists
		// included), judged against the service time.
		if idle, perReq, ofService := idleShare(ev.run, a.MallocPct); idle {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "malloc_cpu_ms_per_request", Value: perReq, Unit: "ms", Source: "cpu profile and process",
				Note: fmt.Sprintf("%s of the mean service time", percent(ofService))})
			if 100*ofService < cpuLimit {
				f.Severity = SeverityLow
				f.Confidence /= 2 // sure of the numbers, not that they are a problem
				idleNote = fmt.Sprintf(" The process was mostly idle (%.0f%% of one core on average): the collector works on cores to spare, and allocating costs each request about %s ms of CPU, %s of the service time — where its little CPU goes, not a bottleneck at this load.",
					sys.Process.CPUPercent.Mean, num(perReq), percent(ofService))
			}
		}
	}
	who, how := allocator(a)
	if who != "" {
		f.Subject = shortFunc(who)
		f.Title += "; " + f.Subject + " " + how
		f.Detail += fmt.Sprintf(" %s %s: allocate less there (reuse buffers, preallocate, avoid conversions), then raise GOGC or set GOMEMLIMIT.", f.Subject, how)
	} else {
		f.Detail += " No own function could be named: the heap profiles and the CPU profile show no allocation under own code; profile allocations (go tool pprof -sample_index=alloc_space) to find them."
	}
	f.Detail += idleNote
	if byCPU && !byPause {
		lowerOnThinProfile(ev, &f)
		lowerOnFewSamples(ev, &f, a.CPUPct, cpuLimit)
	}
	if a != nil {
		for i, s := range a.Sites {
			if i == 3 {
				break
			}
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "allocated: " + shortFunc(s.Function), Value: s.MB, Unit: "MB", Source: "heap profiles (alloc_space, start → end)",
				Note: fmt.Sprintf("%.0f%% of the bytes allocated", s.Pct)})
		}
		for _, c := range a.CPUCallers {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "allocating: " + shortFunc(c.Function), Value: c.Pct, Unit: "%", Source: "cpu profile",
				Note: "CPU in runtime.mallocgc below it"})
		}
	}
	return []result.Finding{f}, nil
}

// allocator is the own function that allocates the most, and how that
// is known: the heap profiles' bytes, else the CPU under the allocator.
func allocator(a *result.AllocPressure) (string, string) {
	if a == nil {
		return "", ""
	}
	for _, s := range a.Sites {
		if s.Own {
			return s.Function, fmt.Sprintf("allocates the most (%.0f%% of the bytes allocated, %s MB)", s.Pct, num(s.MB))
		}
	}
	if len(a.CPUCallers) > 0 {
		c := a.CPUCallers[0]
		return c.Function, fmt.Sprintf("allocates the most (%.0f%% of the CPU in runtime.mallocgc below it)", c.Pct)
	}
	return "", ""
}
