package plan

import (
	"slices"
	"strconv"
	"strings"
)

// The resource stress variants step the load towards one resource of the
// service and name where it gives out:
//
//   - cpu steps the arrival rate of the plan's CPU-heavy scenarios
//     (tests.stress.scenarios, or all of them) like the rate variant, and
//     reads from the watched process how many cores the service used at
//     each step, against the cores it has (tests.stress.cores, else the
//     machine's);
//   - memory holds a constant load and steps a plan variable
//     (tests.stress.variable, default payload): a number is multiplied by
//     the step (a size, a row count: the working set of a request), any
//     other value is repeated like the payload variant's; a step breaks
//     when the process's RSS passes tests.stress.memory_mb, when the
//     garbage collector takes more than tests.stress.gc_percent of the
//     time, or when the process is gone (an OOM kill).
//
// Both need the service's process watched (system.process).
const (
	VariantCPU    = "cpu"    // open model on the CPU-heavy scenarios: step the arrival rate until the CPU saturates
	VariantMemory = "memory" // constant load: step a size variable until RSS, GC or an OOM kill stops it
)

// Variants are every stress variant, in the order the docs list them.
var Variants = []string{VariantRate, VariantUsers, VariantPayload, VariantDatabase, VariantCPU, VariantMemory, VariantNetwork}

// Bounds and defaults of the resource variants.
const (
	MaxStressCores   = 1024    // tests.stress.cores
	MaxStressMemMB   = 1 << 20 // tests.stress.memory_mb: a terabyte
	DefaultGCPercent = 25      // tests.stress.gc_percent: GC thrash above a quarter of the time
)

// StressVariable is the plan variable the payload or memory variant
// steps.
func (s *StressSpec) StressVariable() string {
	if s.Variant == VariantMemory && s.Variable != "" {
		return s.Variable
	}
	return PayloadVariable
}

// ScaleVariable is a stepped variable's value at level m: a number
// multiplied by m (an integer stays one), anything else repeated m times.
func ScaleVariable(v string, m float64) string {
	if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		return strconv.FormatInt(n*int64(m), 10)
	}
	if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
		return strconv.FormatFloat(f*m, 'f', -1, 64)
	}
	return strings.Repeat(v, int(m))
}

// mergeResourceStress lays the resource variants' settings a plan wrote
// over the profile's.
func (m merger) mergeResourceStress(s, u *StressSpec, path string) {
	if u.Scenarios != nil {
		s.Scenarios = u.Scenarios
	}
	m.float(&s.Cores, u.Cores, path+".cores")
	m.str(&s.Variable, u.Variable)
	m.float(&s.MemoryMB, u.MemoryMB, path+".memory_mb")
	m.float(&s.GCPercent, u.GCPercent, path+".gc_percent")
}

// checkResourceStress reports the problems of the cpu and memory
// variants' settings, and of those settings given to another variant.
func (p *Plan) checkResourceStress(s *StressSpec, add func(path, format string, args ...any)) {
	path := "tests.stress"
	if s.Cores < 0 || s.Cores > MaxStressCores {
		add(path+".cores", "must be from 0 (the machine's cores) to %d, got %v", MaxStressCores, s.Cores)
	}
	if s.MemoryMB < 0 || s.MemoryMB > MaxStressMemMB {
		add(path+".memory_mb", "must be from 0 (no RSS limit) to %d, got %v", MaxStressMemMB, s.MemoryMB)
	}
	if s.GCPercent < 0 || s.GCPercent > 100 {
		add(path+".gc_percent", "must be a percentage from 0 (the default, %d) to 100, got %v", DefaultGCPercent, s.GCPercent)
	}
	for i, name := range s.Scenarios {
		if !slices.ContainsFunc(p.Scenarios, func(sc *Scenario) bool { return sc != nil && sc.Name == name }) {
			add(indexPath(path+".scenarios", i), "no scenario named %q: name the plan's CPU-heavy scenarios", name)
		}
	}
	if len(s.Scenarios) > 0 && s.Variant != VariantCPU {
		add(path+".scenarios", "chooses the CPU-heavy scenarios of variant cpu, not %s", s.Variant)
	}
	if s.Variable != "" && s.Variant != VariantMemory {
		add(path+".variable", "names the variable variant memory steps, not %s (payload steps variables.%s)", s.Variant, PayloadVariable)
	}
	switch s.Variant {
	case VariantCPU, VariantMemory:
		if p.System == nil || p.System.Process == nil {
			add(path+".variant", "the %s variant reads the service's %s from its process: add system: { process: { pid: … } } (or name, pid_file)",
				s.Variant, map[string]string{VariantCPU: "CPU", VariantMemory: "memory"}[s.Variant])
		}
	}
	if s.Variant == VariantMemory {
		name := s.StressVariable()
		if p.Variables[name] == "" {
			add(path+".variable", "the memory variant steps variables.%s: define it (a size or a count per request, e.g. %s: \"1000\") and use {{ %s }} in a request", name, name, name)
		}
	}
}
