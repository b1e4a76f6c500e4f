package suite

import (
	"errors"
	"fmt"
	"runtime"
	"slices"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/watch"
)

// The cpu and memory stress variants (plan.VariantCPU, VariantMemory)
// run the stress phase's search as the rate and payload variants do; in
// addition each step records what the watched process used over its
// held windows (analyze.ProcessUse), a memory-variant step breaks on its
// memory (analyze.MemoryLimits), and the outcome names the resource's
// limit (analyze.CPULimit, MemoryLimit). A step during which the process
// died ends the search: there is nothing left to bisect or recover.

func (pr *protocol) resourceVariant() bool {
	v := pr.tests.Stress.Variant
	return v == plan.VariantCPU || v == plan.VariantMemory
}

// stressScenarios keeps only the cpu variant's CPU-heavy scenarios in q,
// during the stress and recovery phases.
func (pr *protocol) stressScenarios(q *plan.Plan) {
	s := pr.tests.Stress
	if s.Variant != plan.VariantCPU || len(s.Scenarios) == 0 || pr.current >= len(pr.stages) {
		return
	}
	if n := pr.stages[pr.current].name; n != PhaseStress && n != PhaseRecovery {
		return
	}
	var keep []*plan.Scenario
	for _, sc := range q.Scenarios {
		if sc != nil && slices.Contains(s.Scenarios, sc.Name) {
			keep = append(keep, sc)
		}
	}
	q.Scenarios = keep
}

// memoryLimits are the memory variant's limits.
func (pr *protocol) memoryLimits() analyze.MemoryLimits {
	s := pr.tests.Stress
	gc := s.GCPercent
	if gc == 0 {
		gc = plan.DefaultGCPercent
	}
	return analyze.MemoryLimits{RSSMB: s.MemoryMB, GCPct: gc}
}

// resourceStep records on pt what the process used over a step's held
// windows [from, to) and, for the memory variant, judges its memory: it
// returns the memory limit's cause and why ("" when memory held).
func (pr *protocol) resourceStep(run *result.Run, from, to float64, pt *result.StressPoint) (cause, why string) {
	use := analyze.ProcessUse(run.System, from, to)
	pr.lastUse = use
	if sys := run.System; sys != nil && sys.Process != nil && sys.Process.Limits != nil && sys.Process.Limits.CPUCores > 0 {
		l := *sys.Process.Limits
		pr.procLimits = &l
	}
	pt.CPUCores, pt.HostCPU, pt.RSSMB, pt.GCPct = use.Cores, use.Host, use.RSSMB, use.GCPct
	if pr.tests.Stress.Variant != plan.VariantMemory {
		return "", ""
	}
	return pr.memoryLimits().Judge(use)
}

// goneBetweenSteps handles a memory-variant step that could not start
// because the service's process is gone (err from its watch): it died
// after the previous step's watch ended, while it still built that
// step's last answers. That step broke on its memory — killed by the OOM
// killer when its cgroup counted a kill since that step's watch began,
// else exited — and the search ends there. False for any other error.
func (pr *protocol) goneBetweenSteps(st *stressState, err error) bool {
	if pr.tests.Stress.Variant != plan.VariantMemory || !errors.Is(err, watch.ErrNoProcess) || len(st.curve) == 0 {
		return false
	}
	use := pr.lastUse
	use.Gone = true
	if n, ok := watch.OOMKillsSince(pr.procLimits); ok {
		use.OOMKills = n
	}
	cause, why := pr.memoryLimits().Judge(use)
	last := &st.curve[len(st.curve)-1]
	last.OK, last.Limit = false, analyze.LimitMemory
	pr.lastUse.OOMKills = use.OOMKills
	st.whyAt(last.Load, why+", after the step's load ended, while it still answered its last requests")
	st.causeAt(last.Load, cause)
	return true
}

// cpuCapacity is the cores the service has: tests.stress.cores, else
// what the watch read of its process (the least of the machine's CPUs,
// its affinity, its cgroup's quota and its GOMAXPROCS: see
// result.ProcessLimits), else this machine's (the watch reads a local
// process).
func (pr *protocol) cpuCapacity() (float64, string) {
	if c := pr.tests.Stress.Cores; c > 0 {
		return c, "plan"
	}
	if l := pr.procLimits; l != nil && l.CPUCores > 0 {
		return l.CPUCores, l.CPUSource
	}
	return float64(runtime.NumCPU()), "host"
}

// resourceLimit names the variant's resource limit on the outcome.
func (pr *protocol) resourceLimit(out *result.Stress, causes map[float64]string) *result.ResourceLimit {
	s := pr.tests.Stress
	switch s.Variant {
	case plan.VariantCPU:
		capacity, source := pr.cpuCapacity()
		return analyze.CPULimit(out, capacity, source)
	case plan.VariantMemory:
		name := s.StressVariable()
		base := pr.p.Variables[name]
		return analyze.MemoryLimit(out, pr.memoryLimits(), name, func(m float64) string { return plan.ScaleVariable(base, m) }, causes, pr.lastUse)
	}
	return nil
}

// memoryUnit is the memory variant's level unit: multiples of its variable.
func (pr *protocol) memoryUnit() string {
	return fmt.Sprintf("× %s", pr.tests.Stress.StressVariable())
}
