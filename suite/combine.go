package suite

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// combine turns loads run one after another into one Run: summaries,
// steps, scenarios and errors merge through metrics.Merge (exact HDR
// merges), and the series are concatenated on the protocol's clock, each
// window moved by its load's start offset from t0 and labelled with
// phases[i], the phase of load i. Duration is the sum of the loads'
// durations (time under load), and every rate is over it.
func combine(loads []*result.Run, t0 time.Time, phases []string) (*result.Run, error) {
	if len(loads) == 0 {
		return nil, fmt.Errorf("no load to combine")
	}
	parts := make([]*result.Run, len(loads))
	model := loads[0].Model
	for i, l := range loads {
		c := *l
		c.Model, c.Segment, c.Series = "", "", nil
		c.Plan = loads[0].Plan
		parts[i] = &c
		if l.Model != model {
			model = "mixed"
		}
	}
	m, err := metrics.Merge(parts)
	if err != nil {
		return nil, err
	}
	m.Model = model
	m.StartedAt, m.EndedAt = loads[0].StartedAt, loads[len(loads)-1].EndedAt
	s := &m.Summary
	s.DurationS, s.MaxVUs, s.TargetRPS = 0, 0, 0
	var asked float64
	for _, l := range loads {
		s.DurationS += l.Summary.DurationS
		s.MaxVUs = max(s.MaxVUs, l.Summary.MaxVUs)
		asked += l.Summary.TargetRPS * l.Summary.DurationS
	}
	if s.DurationS > 0 {
		s.RPS = float64(s.Requests) / s.DurationS
		if model == "open" {
			s.TargetRPS = asked / s.DurationS
		}
		for i := range m.Steps {
			m.Steps[i].RPS = float64(m.Steps[i].Requests) / s.DurationS
		}
		m.Generator.CPUPercent = 100 * m.Generator.CPUSeconds / s.DurationS
	}
	m.Generator.GOMAXPROCS = loads[0].Generator.GOMAXPROCS
	m.Warnings = dedupe(m.Warnings)

	type stepKey struct{ scen, step string }
	index := map[stepKey]int{}
	for i, st := range m.Steps {
		index[stepKey{st.Scenario, st.Step}] = i
	}
	offsets := make([]float64, len(loads))
	systems := make([]*result.System, len(loads))
	pick, most := -1, int64(-1)
	for i, l := range loads {
		off := offset(t0, l.StartedAt)
		offsets[i], systems[i] = off, l.System
		if l.System != nil && l.Summary.Requests > most {
			pick, most = i, l.Summary.Requests
		}
		for _, w := range l.Series {
			w.TS = round3(w.TS + off)
			if i < len(phases) {
				w.Phase = phases[i]
			}
			if len(w.Steps) > 0 {
				sw := make([]result.StepWindow, 0, len(w.Steps))
				for _, x := range w.Steps {
					if x.Index < 0 || x.Index >= len(l.Steps) {
						continue
					}
					st := l.Steps[x.Index]
					x.Index = index[stepKey{st.Scenario, st.Step}]
					sw = append(sw, x)
				}
				w.Steps = sw
			}
			m.Series = append(m.Series, w)
		}
	}
	m.System = combineSystems(systems, offsets, pick)
	return m, nil
}

// combineSystems puts the watch's sections of loads run one after another
// on the protocol's clock: timelines and profiles are moved by each load's
// offset and concatenated, warnings kept once, the process summarised
// over all of them. The analyses of one load's profiles and timeline
// (hotspots, contention, heap, GC, database, the module that tells own
// code, allocation, waits, goroutines) are taken from loads[pick], the
// most representative one.
func combineSystems(systems []*result.System, offsets []float64, pick int) *result.System {
	var out *result.System
	var cpuSum, cpuN, thrSum, fdSum float64
	for i, sys := range systems {
		if sys == nil {
			continue
		}
		if out == nil {
			out = &result.System{IntervalS: sys.IntervalS}
		}
		for _, p := range sys.Timeline {
			p.TS = round3(p.TS + offsets[i])
			out.Timeline = append(out.Timeline, p)
		}
		for _, p := range sys.Profiles {
			p.TS = round3(p.TS + offsets[i])
			out.Profiles = append(out.Profiles, p)
		}
		out.Warnings = append(out.Warnings, sys.Warnings...)
		if ps := sys.Process; ps != nil {
			n := float64(max(len(sys.Timeline), 1))
			if out.Process == nil {
				c := *ps
				out.Process = &c
			} else {
				o := out.Process
				o.CPUPercent.Max = max(o.CPUPercent.Max, ps.CPUPercent.Max)
				o.Threads.Max = max(o.Threads.Max, ps.Threads.Max)
				o.FDs.Max = max(o.FDs.Max, ps.FDs.Max)
				o.RSSMB.Max = max(o.RSSMB.Max, ps.RSSMB.Max)
				o.RSSMB.End = ps.RSSMB.End
				if ps.Exited && !o.Exited {
					o.Exited, o.ExitedAtS = true, round3(ps.ExitedAtS+offsets[i])
				}
			}
			cpuSum += ps.CPUPercent.Mean * n
			thrSum += ps.Threads.Mean * n
			fdSum += ps.FDs.Mean * n
			cpuN += n
		}
	}
	if out == nil {
		return nil
	}
	if out.Process != nil && cpuN > 0 {
		out.Process.CPUPercent.Mean = cpuSum / cpuN
		out.Process.Threads.Mean = thrSum / cpuN
		out.Process.FDs.Mean = fdSum / cpuN
	}
	out.Warnings = dedupe(out.Warnings)
	if pick >= 0 && systems[pick] != nil {
		p := systems[pick]
		out.Hotspots, out.Contention, out.Heap, out.GC, out.Database = p.Hotspots, p.Contention, p.Heap, p.GC, p.Database
		out.Module, out.Alloc, out.Waits, out.Goroutines, out.RequestCPUPct = p.Module, p.Alloc, p.Waits, p.Goroutines, p.RequestCPUPct
		out.CPUProfileCoverage, out.CPUSamples = p.CPUProfileCoverage, p.CPUSamples
	}
	return out
}

// stripHists copies windows without their histograms and step windows,
// for a phase's view of series the Run already carries in full.
func stripHists(ws []result.Window) []result.Window {
	out := make([]result.Window, len(ws))
	for i, w := range ws {
		w.Hist, w.Steps = "", nil
		out[i] = w
	}
	return out
}

// offset is t's distance from t0 in seconds, to the millisecond.
func offset(t0, t time.Time) float64 { return round3(t.Sub(t0).Seconds()) }

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// dedupe keeps the first of each repeated string, in order.
func dedupe(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
