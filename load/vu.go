package load

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/metrics"
)

// Step is one compiled step of a scenario: a protocol's runner (HTTP, SQL).
// Do runs it once for vu and fills s's outcome, phase timings and sizes; the
// VU fills the latency fields from the times Do returns: send is when the
// request actually started, end when it completed. Steps are shared by all
// VUs; per-VU protocol state lives in vu.Slots.
type Step interface {
	Do(ctx context.Context, vu *VU, s *metrics.Sample) (send, end time.Time)
}

// GroupStep is a step whose runner can run several steps of a scenario
// at once: consecutive steps marked parallel (Scenario.Parallel) are
// handed together to the first one's DoGroup, which runs steps (itself
// first) and fills s[i], send[i] and end[i] for steps[i] as Do would. It
// calls vu.InGroup(i) before it records anything of step i (an example,
// a missing variable), and runs templates, checks and extractors on the
// VU's goroutine. A first step that is not a GroupStep runs the group one
// step after another.
type GroupStep interface {
	Step
	DoGroup(ctx context.Context, vu *VU, steps []Step, s []metrics.Sample, send, end []time.Time)
}

// Interrupter is implemented by per-VU protocol state (in VU.Slots) that
// can abort an in-flight request at once, for a hard stop.
type Interrupter interface{ Interrupt() }

// IterState is per-VU template state, reset at each iteration.
type IterState interface{ NewIteration(iter int64) }

// Think is a pause after a step: uniform in [Min, Max].
type Think struct{ Min, Max time.Duration }

// Scenario is a compiled scenario.
type Scenario struct {
	Name   string
	Weight int
	Steps  []Step
	Think  []Think // per step, after it
	// Parallel marks the steps that run together with the step after
	// them (a group ends at the first step not marked); nil: none.
	Parallel []bool
	first    uint16 // global index of the first step
	idx      uint16 // index among the test's scenarios
}

// Test is a compiled plan: what each iteration does.
type Test struct {
	Scenarios []Scenario
	// NewState returns a VU's template state; nil means none.
	NewState func(vu *VU) IterState
	// NewSlots returns a VU's protocol state (connections, pool handles),
	// one slot per protocol; steps find theirs by a fixed index. The slice
	// is fixed once the VU exists, so a hard stop may interrupt its
	// members from another goroutine.
	NewSlots func(vu *VU) []any
	// StopOnFailure ends an iteration at its first failed step (default
	// true in plans): later steps usually depend on the failed one.
	ContinueOnFailure bool
}

// VU is one virtual user: it runs iterations one after another. A VU is
// used by one goroutine only.
type VU struct {
	ID    int   // 1-based, global across segments
	Iter  int64 // iterations started by this VU
	Rand  *rand.Rand
	State IterState
	// Slots hold per-VU protocol state (see Test.NewSlots); closed when
	// the VU ends.
	Slots []any
	T0    time.Time

	ring   *metrics.Ring
	col    *metrics.Collector
	test   *Test
	cum    []uint64 // cumulative scenario weights (shared, read-only)
	timer  *time.Timer
	step   uint16      // global index of the step being run, for examples
	group  uint16      // global index of the first step of the group being run
	groupS *groupState // what a parallel group fills; made at the VU's first group
	// sample is the step's sample, kept here: a local whose address goes
	// to Step.Do (an interface call) would be allocated every iteration.
	sample metrics.Sample
	stop   atomic.Bool // closed model: finish the current iteration, then exit
	active *atomic.Int64
	slot   int  // index in Engine.vus (guarded by Engine.vusMu)
	left   bool // open model: left a pool larger than the governor allows
	// interrupted counts the run's iterations cut short (shared).
	interrupted *atomic.Int64
}

// Example records an error message as the example of its kind for the
// step being run, with the secrets it quotes (a URL's password or token,
// key=value pairs such as password=…) masked: examples are printed and
// stored.
func (vu *VU) Example(kind metrics.ErrKind, msg string) {
	vu.col.Example(int(vu.step), kind, redact.Text(msg))
}

// Since returns t relative to the run start, in nanoseconds.
func (vu *VU) Since(t time.Time) int64 { return int64(t.Sub(vu.T0)) }

func (vu *VU) pick() *Scenario {
	sc := vu.test.Scenarios
	if len(sc) == 1 {
		return &sc[0]
	}
	return &sc[pickIndex(vu.cum, vu.Rand.Uint64N(vu.cum[len(vu.cum)-1]))]
}

// iterate runs one iteration whose intended start was intended. stop is
// consulted before pauses so a stopping run does not sleep needlessly.
// It reports false when the iteration was cut short by hard.
func (vu *VU) iterate(hard context.Context, stopping *atomic.Bool, intended time.Time) bool {
	vu.Iter++
	if vu.State != nil {
		vu.State.NewIteration(vu.Iter)
	}
	sc := vu.pick()
	var began, end time.Time // the first send and the iteration's end
	s := &vu.sample
	failed := false
	for i := 0; i < len(sc.Steps); i++ {
		st := sc.Steps[i]
		vu.step = sc.first + uint16(i)
		if n := sc.groupLen(i); n > 1 {
			var stop bool
			if end, stop = vu.runGroup(hard, sc, i, n, intended, &began, &failed); stop {
				return false
			}
			i += n - 1
			if failed && !vu.test.ContinueOnFailure {
				break
			}
		} else {
			*s = metrics.Sample{}
			send, stepEnd := st.Do(hard, vu, s)
			if hard.Err() != nil {
				vu.interrupted.Add(1)
				return false // interrupted: not a measurement
			}
			ref := send
			if i == 0 {
				ref, began = intended, send
			}
			end = stepEnd
			vu.push(s, sc.first+uint16(i), ref, send, stepEnd)
			if s.Kind != metrics.KindNone {
				failed = true
				if !vu.test.ContinueOnFailure {
					break
				}
			}
		}
		if th := sc.Think[i]; th.Max > 0 && !stopping.Load() {
			if !vu.sleep(hard, vu.thinkTime(th)) {
				vu.interrupted.Add(1)
				return false
			}
			end = time.Now()
		}
	}
	it := metrics.Sample{
		EndNS:     int64(end.Sub(vu.T0)),
		LatencyUS: metrics.Micros(end.Sub(intended)),
		LagUS:     metrics.Micros(began.Sub(intended)),
		Step:      sc.idx,
		Flags:     metrics.FlagIteration,
	}
	if failed {
		it.Flags |= metrics.FlagFailed
	}
	vu.ring.Push(&it)
	return true
}

// push records step's sample s, which was sent at send and ended at end;
// its latency counts from ref.
func (vu *VU) push(s *metrics.Sample, step uint16, ref, send, end time.Time) {
	s.LatencyUS = metrics.Micros(end.Sub(ref))
	s.ServiceUS = metrics.Micros(end.Sub(send))
	s.EndNS = int64(end.Sub(vu.T0))
	s.Step = step
	vu.ring.Push(s)
}

// groupLen is the number of steps from i that run together: 1 unless
// step i is marked parallel.
func (sc *Scenario) groupLen(i int) int {
	n := 1
	for j := i; j < len(sc.Steps)-1 && j < len(sc.Parallel) && sc.Parallel[j]; j++ {
		n++
	}
	return n
}

// MaxGroup is the most steps a parallel group may hold; compiling a plan
// refuses more.
const MaxGroup = 64

// runGroup runs the n steps of sc from i together (see GroupStep) and
// records each. It returns the group's end, and stop when the hard stop
// cut it short.
func (vu *VU) runGroup(hard context.Context, sc *Scenario, i, n int, intended time.Time, began *time.Time, failed *bool) (time.Time, bool) {
	if vu.groupS == nil {
		vu.groupS = new(groupState)
	}
	g := vu.groupS
	ss, sends, ends := g.s[:n], g.send[:n], g.end[:n]
	clear(ss)
	steps := sc.Steps[i : i+n]
	vu.group = sc.first + uint16(i)
	if gs, ok := steps[0].(GroupStep); ok {
		gs.DoGroup(hard, vu, steps, ss, sends, ends)
	} else {
		for k, st := range steps {
			vu.InGroup(k)
			sends[k], ends[k] = st.Do(hard, vu, &ss[k])
			if hard.Err() != nil || ss[k].Kind != metrics.KindNone && !vu.test.ContinueOnFailure {
				n = k + 1
				break
			}
		}
	}
	if hard.Err() != nil {
		vu.interrupted.Add(1)
		return time.Time{}, true
	}
	var end time.Time
	for k := range n {
		ref := sends[k]
		if i == 0 {
			ref = intended
			if k == 0 || sends[k].Before(*began) {
				*began = sends[k]
			}
		}
		if ends[k].After(end) {
			end = ends[k]
		}
		vu.push(&ss[k], sc.first+uint16(i+k), ref, sends[k], ends[k])
		if ss[k].Kind != metrics.KindNone {
			*failed = true
		}
	}
	return end, false
}

// groupState is what a parallel group's steps fill, kept by the VU.
type groupState struct {
	s         [MaxGroup]metrics.Sample
	send, end [MaxGroup]time.Time
}

// InGroup makes step k of the parallel group being run the one whose
// examples the VU records (see GroupStep).
func (vu *VU) InGroup(k int) { vu.step = vu.group + uint16(k) }

func (vu *VU) thinkTime(th Think) time.Duration {
	if th.Max <= th.Min {
		return th.Min
	}
	return th.Min + time.Duration(vu.Rand.Int64N(int64(th.Max-th.Min)+1))
}

// sleep pauses for d or until ctx is done; false when ctx ended it.
func (vu *VU) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	if vu.timer == nil {
		vu.timer = time.NewTimer(d)
	} else {
		vu.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		vu.timer.Stop()
		return false
	case <-vu.timer.C:
		return true
	}
}

func (vu *VU) close() {
	for _, s := range vu.Slots {
		if c, ok := s.(io.Closer); ok {
			c.Close()
		}
	}
}

func (vu *VU) interrupt() {
	for _, s := range vu.Slots {
		if c, ok := s.(Interrupter); ok {
			c.Interrupt()
		}
	}
}

// Hop records a redirect the step being run followed: the status that
// asked for it, where it led, and its exchange's time (see
// metrics.Collector.Hop).
func (vu *VU) Hop(status int, to string, d time.Duration, failed bool) {
	vu.col.Hop(int(vu.step), status, to, d, failed)
}

// WantExample reports whether kind still lacks an example message, so a
// caller builds the message only when it will be kept.
func (vu *VU) WantExample(kind metrics.ErrKind) bool { return vu.col.WantExample(int(vu.step), kind) }

// NewTestVU returns a VU outside any engine, for exercising steps in
// tests and benchmarks: its samples go nowhere.
func NewTestVU(id int, slots []any, state IterState) *VU {
	col := metrics.NewCollector(metrics.Config{Start: time.Now()})
	return &VU{ID: id, Rand: rand.New(rand.NewPCG(uint64(id), 1)), State: state, Slots: slots, T0: time.Now(),
		ring: metrics.NewRing(16), col: col, interrupted: new(atomic.Int64)}
}

// missingVars is template state that remembers a variable it found
// without a value (tmpl.State).
type missingVars interface {
	Missing() string
	ClearMissing()
}

// FailMissing fails the step before anything is sent when expanding its
// templates met a variable without a value (an earlier extraction failed
// or did not run): the sample becomes extract_failed, and the step
// returns at the time it gives.
func (vu *VU) FailMissing(step string, s *metrics.Sample) (time.Time, bool) {
	st, ok := vu.State.(missingVars)
	if !ok {
		return time.Time{}, false
	}
	name := st.Missing()
	if name == "" {
		return time.Time{}, false
	}
	st.ClearMissing()
	s.Kind = metrics.KindExtractFailed
	if vu.WantExample(s.Kind) {
		vu.Example(s.Kind, fmt.Sprintf("step %q: variable %q has no value (its extractor failed or did not run)", step, name))
	}
	return time.Now(), true
}
