package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// The resource stress variants (see plan.VariantCPU and
// plan.VariantMemory) judge each step by what the watched process used
// over its held windows (ProcessUse), and name where the resource gave
// out: CPULimit for the cpu variant — the first step whose cores reached
// CPUSaturation of the cores the service has — and MemoryJudge and
// MemoryLimit for the memory variant — the first step whose RSS passed
// the limit, whose GC share passed its bound, or during which the process
// was gone.

// LimitMemory is the limit of a memory-variant step that broke on its
// memory: RSS over the limit, GC thrash, or the process gone.
const LimitMemory = "memory"

// CPUSaturation is the share of its cores at which a service's CPU is
// saturated: the rest goes to the scheduler's gaps and the kernel's
// accounting, and no more throughput comes from more load.
const CPUSaturation = 0.9

// HostFlattening is the efficiency (achieved ÷ offered) below which a
// step on a machine whose CPU is all busy counts as CPU-bound: the
// throughput stopped following the load. A busy machine alone says
// nothing of the service.
const HostFlattening = 0.95

// Causes of a memory limit.
const (
	MemoryRSS    = "rss"
	MemoryGC     = "gc"
	MemoryKilled = "killed" // the OOM killer's, or gone where its cgroup's counter is unreadable
	MemoryExited = "exited" // gone while its cgroup counted no OOM kill
)

// Use is what the watched process used over a step's held windows.
type Use struct {
	Cores  float64 // mean CPU, one core = 1
	Host   float64 // mean host CPU, percent of all cores
	RSSMB  float64 // peak RSS
	GCPct  float64 // mean share of the time in GC pauses
	Gone   bool    // the process was gone during the step
	Points int     // samples in the held windows
	// OOMKills is the OOM kills its cgroup counted during the step, from
	// OOMSource (memory.events or memory.oom_control; empty: unreadable).
	OOMKills  int64
	OOMSource string
	// LimitMB is its cgroup's memory limit (0: none known); LimitHits how
	// often its use reached that limit during the step, from
	// LimitHitsSource (memory.events or memory.failcnt; empty: unreadable).
	LimitMB         float64
	LimitHits       int64
	LimitHitsSource string
}

// ProcessUse reads sys's timeline between from and to (seconds of the
// step's own clock): the process's mean cores, peak RSS, mean GC share,
// whether the process was gone by the end of the step's watch, and its
// cgroup's memory limit and OOM kills.
func ProcessUse(sys *result.System, from, to float64) Use {
	var u Use
	if sys == nil {
		return u
	}
	var cpu, host, gc float64
	for _, p := range sys.Timeline {
		if p.TS < from-1e-9 || p.TS >= to-1e-9 {
			continue
		}
		u.Points++
		cpu += p.CPUPercent
		host += p.HostCPU
		gc += p.GCPausePct
		u.RSSMB = max(u.RSSMB, p.RSSMB)
	}
	if u.Points > 0 {
		u.Cores = round4(cpu / float64(u.Points) / 100)
		u.Host = round4(host / float64(u.Points))
		u.GCPct = round4(gc / float64(u.Points))
	}
	u.RSSMB = round4(u.RSSMB)
	// The watch of a step covers that step alone: a process gone after its
	// held windows (while the step's last requests drained) died under it.
	if p := sys.Process; p != nil && p.Exited {
		u.Gone = true
	}
	if p := sys.Process; p != nil && p.Limits != nil {
		u.OOMKills, u.OOMSource, u.LimitMB = p.Limits.OOMKills, p.Limits.OOMSource, p.Limits.MemoryMB
		u.LimitHits, u.LimitHitsSource = p.Limits.LimitHits, p.Limits.LimitHitsSource
	}
	return u
}

// MemoryLimits are the memory variant's limits: RSS in MB (0: none) and
// the GC share in percent.
type MemoryLimits struct {
	RSSMB float64
	GCPct float64
}

// MemoryJudge says whether a memory-variant step broke on its memory, and
// why: the process gone — killed by the OOM killer when its cgroup's
// oom_kill counter rose, exited on its own when the counter stayed (an
// allocation refused under a ulimit, a crash), unknown which when the
// counter is unreadable (the kernel's log, where the OOM killer names its
// victim, is not readable unprivileged) —, RSS over the limit, or GC over
// its bound.
func (l MemoryLimits) Judge(u Use) (cause, why string) {
	switch {
	case u.Gone && u.OOMKills > 0:
		return MemoryKilled, fmt.Sprintf("the kernel's OOM killer killed the service's process: its cgroup's oom_kill counter (%s) rose by %d%s", u.OOMSource, u.OOMKills, cgroupLimitText(u.LimitMB))
	case u.Gone && u.OOMSource != "":
		return MemoryExited, fmt.Sprintf("the service's process exited during the step and its cgroup counted no OOM kill (%s): it failed on its own — an allocation refused under a ulimit such as RLIMIT_AS, a crash — or was stopped", u.OOMSource)
	case u.Gone:
		return MemoryKilled, "the service's process was gone during the step: out of memory (the kernel's OOM killer ends a process with SIGKILL) or a crash — its cgroup's OOM kill counter was unreadable, so which is not known"
	case l.RSSMB > 0 && u.RSSMB > l.RSSMB:
		return MemoryRSS, fmt.Sprintf("RSS %.0f MB > the %.0f MB limit (tests.stress.memory_mb)", u.RSSMB, l.RSSMB)
	case l.GCPct > 0 && u.GCPct > l.GCPct:
		return MemoryGC, fmt.Sprintf("GC thrash: the collector took %.1f%% of the time > %.0f%% (tests.stress.gc_percent)", u.GCPct, l.GCPct)
	}
	return "", ""
}

// cgroupLimitText names a cgroup memory limit, when known.
func cgroupLimitText(mb float64) string {
	if mb <= 0 {
		return ""
	}
	return fmt.Sprintf(" (its cgroup's memory limit: %.0f MB)", mb)
}

// CapacityWords says where a CPU capacity came from (ResourceLimit's
// CapacitySource).
func CapacityWords(source string) string {
	switch source {
	case "plan":
		return "tests.stress.cores"
	case "affinity":
		return "its CPU affinity mask"
	case "cgroup":
		return "its cgroup's CPU quota"
	case "gomaxprocs":
		return "its GOMAXPROCS"
	case "host":
		return "the machine's CPUs"
	}
	return source
}

// byLoad is the curve in increasing load (a probe between two steps in
// its place).
func byLoad(curve []result.StressPoint) []result.StressPoint {
	s := slices.Clone(curve)
	slices.SortStableFunc(s, func(a, b result.StressPoint) int { return cmp.Compare(a.Load, b.Load) })
	return s
}

// CPULimit names the cpu variant's limit on the stress outcome s (its
// curve carrying each step's cores and host CPU): the first load whose
// cores reached CPUSaturation of capacity — or at which the machine's
// CPU did (CPUSaturation of all its cores busy: the service shares them
// with other work and cannot get more) while throughput stopped
// following the load (efficiency under HostFlattening) — and where the
// ramp broke.
// Without a break or a saturated step it says how far the CPU got.
func CPULimit(s *result.Stress, capacity float64, source string) *result.ResourceLimit {
	r := &result.ResourceLimit{Resource: "cpu", Capacity: capacity, CapacitySource: source}
	if s.Limit != LimitNone {
		r.Breaks, r.BreakWhat = s.BreakingPoint, s.Limit
	}
	sorted := byLoad(s.Curve)
	var top result.StressPoint // the busiest step
	for _, pt := range sorted {
		if pt.CPUCores > top.CPUCores {
			top = pt
		}
		if r.Reached || pt.CPUCores <= 0 {
			continue
		}
		switch {
		case capacity > 0 && pt.CPUCores >= CPUSaturation*capacity:
			r.Saturated = "service"
		case pt.HostCPU >= 100*CPUSaturation && pt.Efficiency > 0 && pt.Efficiency < HostFlattening:
			r.Saturated = "host"
		default:
			continue
		}
		r.Reached, r.Load, r.RPS, r.Cores, r.HostCPU = true, pt.Load, pt.RPS, pt.CPUCores, pt.HostCPU
	}
	unit := s.Unit
	breaks := ""
	if r.Breaks > 0 {
		breaks = fmt.Sprintf("; %s breaks at %s %s", limitNoun(r.BreakWhat), fnum(r.Breaks), unit)
	}
	switch {
	case r.Saturated == "service":
		r.Text = fmt.Sprintf("the service saturates %.2g of %s cores (%s) at %.0f requests/s (%s %s)%s", r.Cores, fnum(capacity), CapacityWords(source), r.RPS, fnum(r.Load), unit, breaks)
	case r.Saturated == "host":
		r.Text = fmt.Sprintf("the machine's CPU saturates (%.0f%% busy) at %.0f requests/s (%s %s), the service using %.2g of its %s cores: other work on the machine takes the rest%s", r.HostCPU, r.RPS, fnum(r.Load), unit, r.Cores, fnum(capacity), breaks)
	case top.CPUCores > 0:
		r.Load, r.RPS, r.Cores, r.HostCPU = top.Load, top.RPS, top.CPUCores, top.HostCPU
		r.Text = fmt.Sprintf("the CPU did not saturate: at most %.2g of %s cores (%s; %.0f%%), at %.0f requests/s (%s %s)%s — the limit is elsewhere", r.Cores, fnum(capacity), CapacityWords(source), 100*r.Cores/capacity, r.RPS, fnum(r.Load), unit, breaks)
	default:
		r.Text = "the watch recorded no CPU for the service's process: the CPU limit is unknown"
	}
	return r
}

// MemoryLimit names the memory variant's limit on the stress outcome s:
// the first load that broke on memory (its step's Limit is LimitMemory,
// cause from causes), or how much memory the last step used when none
// did.
//
// use is what the process used at the last step (its cgroup's memory
// limit and OOM kills).
func MemoryLimit(s *result.Stress, limits MemoryLimits, variable string, value func(float64) string, causes map[float64]string, use Use) *result.ResourceLimit {
	r := &result.ResourceLimit{Resource: "memory", LimitMB: limits.RSSMB, GCLimit: limits.GCPct, Variable: variable,
		CgroupMB: use.LimitMB, OOMKills: use.OOMKills, OOMSource: use.OOMSource, LimitHits: use.LimitHits, LimitHitsSource: use.LimitHitsSource}
	if s.Limit != LimitNone {
		r.Breaks, r.BreakWhat = s.BreakingPoint, s.Limit
	}
	sorted := byLoad(s.Curve)
	var top result.StressPoint
	for _, pt := range sorted {
		if pt.RSSMB >= top.RSSMB {
			top = pt
		}
		if !r.Reached && pt.Limit == LimitMemory {
			r.Reached, r.Load, r.RPS, r.RSSMB, r.GCPct, r.Cause = true, pt.Load, pt.RPS, pt.RSSMB, pt.GCPct, causes[pt.Load]
		}
	}
	if !r.Reached {
		r.Load, r.RPS, r.RSSMB, r.GCPct = top.Load, top.RPS, top.RSSMB, top.GCPct
	}
	if r.RSSMB == 0 && (r.Cause == MemoryKilled || r.Cause == MemoryExited) {
		// Gone before its step's first sample: the most it held before.
		for _, pt := range sorted {
			if pt.Load < r.Load {
				r.RSSMB = max(r.RSSMB, pt.RSSMB)
			}
		}
	}
	if r.CgroupMB > 0 && r.RSSMB > 0 {
		r.CgroupHeadroomMB = round4(r.CgroupMB - r.RSSMB)
	}
	r.Value = value(r.Load)
	if len(r.Value) > 64 {
		r.Value = r.Value[:61] + "…"
	}
	at := fmt.Sprintf("%s %s (%s = %s)", fnum(r.Load), s.Unit, variable, r.Value)
	switch r.Cause {
	case MemoryKilled:
		if r.OOMKills > 0 {
			r.Text = fmt.Sprintf("the kernel's OOM killer killed the service at %s; RSS was %.0f MB before", at, r.RSSMB)
		} else {
			r.Text = fmt.Sprintf("the service's process was gone at %s: out of memory (an OOM kill) or a crash; RSS was %.0f MB before", at, r.RSSMB)
		}
	case MemoryExited:
		r.Text = fmt.Sprintf("the service's process exited at %s with no OOM kill counted in its cgroup: its own allocation failed (a ulimit) or it crashed; RSS was %.0f MB before", at, r.RSSMB)
	case MemoryRSS:
		r.Text = fmt.Sprintf("the service passes its %.0f MB memory limit at %s: RSS %.0f MB", r.LimitMB, at, r.RSSMB)
	case MemoryGC:
		r.Text = fmt.Sprintf("the garbage collector thrashes at %s: %.1f%% of the time in GC (bound %.0f%%), RSS %.0f MB", at, r.GCPct, r.GCLimit, r.RSSMB)
	default:
		r.Text = fmt.Sprintf("memory held: RSS at most %.0f MB, GC %.1f%% of the time, at %s", r.RSSMB, r.GCPct, at)
		if r.Breaks > 0 {
			r.Text += fmt.Sprintf("; %s breaks first, at %s %s", limitNoun(r.BreakWhat), fnum(r.Breaks), s.Unit)
		}
	}
	r.Text += cgroupDistance(r)
	return r
}

// cgroupDistance names the cgroup's memory limit of r, how far the RSS
// was from it and how often the cgroup's use reached it ("" when the
// cgroup has no limit).
func cgroupDistance(r *result.ResourceLimit) string {
	if r.CgroupMB <= 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "; its cgroup's memory limit: %.0f MB", r.CgroupMB)
	switch {
	case r.RSSMB > 0 && r.CgroupHeadroomMB >= 0:
		fmt.Fprintf(&b, ", %.0f MB (%.0f%%) above that RSS", r.CgroupHeadroomMB, 100*r.CgroupHeadroomMB/r.CgroupMB)
	case r.RSSMB > 0:
		// RSS counts the pages of files mapped in (the program's own
		// binary among them) that were charged to the cgroup that first
		// read them.
		fmt.Fprintf(&b, ", that RSS %.0f MB over it (RSS counts mapped file pages charged to other cgroups)", -r.CgroupHeadroomMB)
	}
	if r.LimitHitsSource != "" {
		fmt.Fprintf(&b, ", reached %d times in the last step (%s)", r.LimitHits, r.LimitHitsSource)
	}
	return b.String()
}

func limitNoun(limit string) string {
	switch limit {
	case LimitLatency:
		return "latency"
	case LimitErrors:
		return "the error rate"
	case LimitThroughput:
		return "throughput"
	case LimitGenerator:
		return "the generator"
	}
	return strings.TrimSpace(limit)
}

// fnum prints a level without trailing zeros.
func fnum(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
