package analyze

import (
	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/result"
)

// profileCoverage is the CPU time p sampled over the CPU time the
// process used in the profile's span [ts, ts+dur) (seconds since the run
// started), from the timeline's process CPU: each point covers [TS,
// TS+interval) at its rate. Zero when the profile is not in CPU time or
// the timeline covers less than three quarters of the span.
//
// A Go CPU profile is sampled by a per-thread CPU timer that the Linux
// kernel checks at its scheduler tick, on the thread that is running
// then. Work in bursts shorter than a tick on a mostly idle machine is
// caught late or not at all: the profile then holds a fraction of the CPU
// the process used, and its shares lean towards the longer-running work
// (the collector's workers, a long request) and away from the short.
func profileCoverage(p *profile.Profile, timeline []result.SystemPoint, interval, ts, dur float64) float64 {
	if p == nil || dur <= 0 || interval <= 0 {
		return 0
	}
	vi := valueIndex(p, "cpu")
	if vi >= len(p.SampleType) || p.SampleType[vi].Type != "cpu" || p.SampleType[vi].Unit != "nanoseconds" {
		return 0
	}
	var sampled int64
	for _, s := range p.Sample {
		sampled += s.Value[vi]
	}
	end := ts + dur
	var used, seen float64 // CPU seconds, and the seconds of the span the timeline covers
	for _, pt := range timeline {
		lo, hi := max(pt.TS, ts), min(pt.TS+interval, end)
		if hi <= lo {
			continue
		}
		used += pt.CPUPercent / 100 * (hi - lo)
		seen += hi - lo
	}
	if seen < 0.75*dur || used <= 0 {
		return 0
	}
	// Scale the CPU seen to the whole span when a point or two is missing.
	used *= dur / seen
	return float64(sampled) / 1e9 / used
}

// minProfileCoverage is the default least share of the process's CPU a
// CPU profile must have sampled for its shares to carry a medium or high
// finding (setting cpu_profile_coverage).
const minProfileCoverage = 0.6

// thinProfile reports whether the run's CPU profile sampled too little
// of the CPU its process used to trust its shares, and a sentence that
// says so for a finding's detail.
func thinProfile(ev *evaluation) (bool, string) {
	sys := ev.run.System
	limit := setting(ev, "cpu_profile_coverage", minProfileCoverage)
	if sys == nil || sys.CPUProfileCoverage <= 0 || sys.CPUProfileCoverage >= limit {
		return false, ""
	}
	return true, " The CPU profile sampled only " + percent(sys.CPUProfileCoverage) +
		" of the CPU time the process used while it ran: the process worked in bursts shorter than the kernel's scheduler tick, which the profiler catches late or misses, so these shares lean towards its longer-running work and are not firm enough for more than a note. Profile under more load, where the bursts run together."
}
