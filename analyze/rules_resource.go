package analyze

import (
	"fmt"

	"github.com/stampede-perf/stampede/result"
)

// Findings of the resource stress variants: the resource limit the cpu
// or memory variant reached (Stress.Resource), with the numbers it was
// judged on. A variant that did not reach its resource draws none (the
// resource's text in the stress section says how far it got), and a run
// of another variant is not missing anything: one variant runs at a time.
func resourceOf(run *result.Run, resource string) *result.ResourceLimit {
	if st := run.Stress; st != nil && st.Resource != nil && st.Resource.Resource == resource {
		return st.Resource
	}
	return nil
}

// ruleCPULimit: the cpu variant saturated the service's CPU.
func ruleCPULimit(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	r := resourceOf(ev.run, "cpu")
	if r == nil {
		return nil, nil // one variant runs at a time: the others are not missing
	}
	if !r.Reached {
		return nil, nil
	}
	src := "stress curve"
	ratio := ratioOver(r.Cores, CPUSaturation*r.Capacity)
	if r.Saturated == "host" {
		ratio = ratioOver(r.HostCPU, 100*CPUSaturation)
	}
	ev1 := []result.Evidence{
		{Metric: "cpu_cores", Value: r.Cores, Unit: "cores", Source: src, Threshold: round4(CPUSaturation * r.Capacity), Note: fmt.Sprintf("mean over the judged windows of the first saturated step, of %s cores (%s)", fnum(r.Capacity), CapacityWords(r.CapacitySource))},
		{Metric: "host_cpu_percent", Value: r.HostCPU, Unit: "%", Source: src, Threshold: 100 * CPUSaturation, Note: "the machine's CPU, all cores"},
		{Metric: "saturation_rps", Value: r.RPS, Unit: "requests/s", Source: src},
		{Metric: "saturation_load", Value: r.Load, Unit: ev.run.Stress.Unit, Source: src},
	}
	if r.Breaks > 0 {
		ev1 = append(ev1, result.Evidence{Metric: "breaking_point", Value: r.Breaks, Unit: ev.run.Stress.Unit, Source: src, Note: r.BreakWhat})
	}
	return []result.Finding{{
		Severity:   SeverityMedium,
		Title:      "CPU limit: " + r.Text,
		Subject:    "cpu",
		Detail:     "Past this rate requests queue for the CPU: throughput stays where it is and latency grows with every request added. More cores, or less CPU per request (a CPU profile of the stress phase shows where it goes), move the limit.",
		Evidence:   ev1,
		Confidence: confidence(ratio*1.2, len(ev.run.Stress.Curve)),
	}}, nil
}

// ruleMemoryLimit: the memory variant broke the service on its memory:
// RSS over the limit, GC thrash, or the process gone (high).
func ruleMemoryLimit(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	r := resourceOf(ev.run, "memory")
	if r == nil {
		return nil, nil
	}
	if !r.Reached {
		return nil, nil
	}
	src := "stress curve"
	sev := SeverityMedium
	ratio := 1.0
	evidence := []result.Evidence{
		{Metric: "memory_load", Value: r.Load, Unit: ev.run.Stress.Unit, Source: src, Note: fmt.Sprintf("%s = %s", r.Variable, r.Value)},
		{Metric: "rss_mb", Value: r.RSSMB, Unit: "MB", Source: src, Threshold: r.LimitMB},
		{Metric: "gc_pct", Value: r.GCPct, Unit: "%", Source: src, Threshold: r.GCLimit},
	}
	if r.OOMSource != "" {
		evidence = append(evidence, result.Evidence{Metric: "oom_kills", Value: float64(r.OOMKills), Source: r.OOMSource, Note: "the OOM kills its cgroup counted"})
	}
	if r.CgroupMB > 0 {
		evidence = append(evidence, result.Evidence{Metric: "cgroup_memory_limit_mb", Value: r.CgroupMB, Unit: "MB", Source: "cgroup"},
			result.Evidence{Metric: "cgroup_headroom_mb", Value: r.CgroupHeadroomMB, Unit: "MB", Source: src, Note: "from the RSS up to the cgroup's memory limit"})
	}
	if r.LimitHitsSource != "" {
		evidence = append(evidence, result.Evidence{Metric: "cgroup_limit_hits", Value: float64(r.LimitHits), Source: r.LimitHitsSource, Note: "how often the cgroup's use reached its limit in the last step"})
	}
	switch r.Cause {
	case MemoryKilled, MemoryExited:
		sev = SeverityHigh
		ratio = 2
	case MemoryRSS:
		ratio = ratioOver(r.RSSMB, r.LimitMB)
	case MemoryGC:
		ratio = ratioOver(r.GCPct, r.GCLimit)
	}
	return []result.Finding{{
		Severity:   sev,
		Title:      "Memory limit: " + r.Text,
		Subject:    "memory",
		Detail:     "Each request's working set grows with " + r.Variable + "; at this size the service runs out of memory or spends its time collecting. Bound the size a request may ask for, stream instead of building the whole result, or give the service more memory.",
		Evidence:   evidence,
		Confidence: confidence(ratio*1.2, len(ev.run.Stress.Curve)),
	}}, nil
}
