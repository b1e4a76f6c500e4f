package analyze

import (
	"fmt"
	"math"

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

// shareZ is the one-sided normal quantile of the bound a profile's share
// is judged by: a share is established when the samples make it 95% sure
// to be over the rule's threshold.
const shareZ = 1.645

// shareLowerBound is the Wilson score lower bound with continuity
// correction (one-sided, 95%) of a share pct (%) seen in n samples: the
// least share the samples make 95% sure of. The correction keeps the
// promise at small shares and counts, where the plain Wilson bound
// passes a share it should not up to 8% of the time. With n unknown
// (0) it is pct itself.
func shareLowerBound(pct float64, n int) float64 {
	if n <= 0 {
		return pct
	}
	p, fn, z2 := clamp(pct/100, 0, 1), float64(n), shareZ*shareZ
	if p == 0 {
		return 0
	}
	root := z2 - 2 - 1/fn + 4*p*(fn*(1-p)+1)
	lo := (2*fn*p + z2 - 1 - shareZ*math.Sqrt(max(0, root))) / (2 * (fn + z2))
	return 100 * clamp(lo, 0, p)
}

// lowerOnFewSamples makes a finding low when the share it rests on, pct
// (%) of the CPU profile's samples, passes limit but its lower bound does
// not: too few samples to tell a hotspot from the profiler's luck. A
// lightly loaded service profiled for seconds gives tens of samples,
// where a quarter is as likely a sixth.
func lowerOnFewSamples(ev *evaluation, f *result.Finding, pct, limit float64) {
	n := ev.run.System.CPUSamples
	lo := shareLowerBound(pct, n)
	if n <= 0 || lo >= limit {
		return
	}
	if f.Severity != SeverityLow {
		f.Severity = SeverityLow
		f.Confidence /= 2 // the share may be right; the samples cannot say
	}
	f.Detail += fmt.Sprintf(" The CPU profile holds %d samples: %.0f%% of them could be a share as low as %.0f%% (95%% bound), under the %.0f%% this needs. Profile longer or under more load to settle it.",
		n, pct, lo, limit)
	f.Evidence = append(f.Evidence, result.Evidence{Metric: "cpu_samples", Value: float64(n), Unit: "samples", Source: "cpu profile",
		Note: fmt.Sprintf("the share's 95%% lower bound is %.1f%%", lo)})
}

// sampleCount is the number of samples in a CPU profile: the sum of its
// "samples" values, else its CPU time over its sampling period.
func sampleCount(p *profile.Profile) int {
	for i, st := range p.SampleType {
		if st.Type == "samples" {
			var n int64
			for _, s := range p.Sample {
				n += s.Value[i]
			}
			return int(n)
		}
	}
	vi := valueIndex(p, "cpu")
	if p.Period <= 0 || vi >= len(p.SampleType) {
		return 0
	}
	var ns int64
	for _, s := range p.Sample {
		ns += s.Value[vi]
	}
	return int(ns / p.Period)
}
