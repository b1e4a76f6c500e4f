package dist

import (
	"fmt"
	"sort"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// lateWindow is how long the merger waits for the other agents' window
// of one second after the first one arrived.
const lateWindow = 2 * time.Second

// merger merges each second's windows of the agents as they arrive. It
// is used from one goroutine.
type merger struct {
	expect  []bool // agent index → still sending windows
	slots   map[float64]*slot
	emitted float64 // TS of the last merged window; -1 before the first
	late    int     // windows that came after their second was merged
}

type slot struct {
	first time.Time
	parts map[int]result.Window
}

func newMerger(agents int) *merger {
	m := &merger{expect: make([]bool, agents), slots: map[float64]*slot{}, emitted: -1}
	for i := range m.expect {
		m.expect[i] = true
	}
	return m
}

// add takes agent i's window and returns the merged windows that are now
// complete, in time order.
func (m *merger) add(i int, w result.Window, now time.Time) ([]result.Window, error) {
	if w.TS <= m.emitted {
		m.late++
		return nil, nil
	}
	s := m.slots[w.TS]
	if s == nil {
		s = &slot{first: now, parts: map[int]result.Window{}}
		m.slots[w.TS] = s
	}
	s.parts[i] = w
	return m.ready(now, false)
}

// drop stops expecting windows from agent i (done or lost).
func (m *merger) drop(i int, now time.Time) ([]result.Window, error) {
	m.expect[i] = false
	return m.ready(now, false)
}

// ready merges, in time order, the seconds every expected agent has sent
// or that waited longer than lateWindow (all of them when flush).
func (m *merger) ready(now time.Time, flush bool) ([]result.Window, error) {
	ts := make([]float64, 0, len(m.slots))
	for t := range m.slots {
		ts = append(ts, t)
	}
	sort.Float64s(ts)
	var out []result.Window
	for _, t := range ts {
		s := m.slots[t]
		if !flush && !m.complete(s) && now.Sub(s.first) < lateWindow {
			break
		}
		parts := make([]result.Window, 0, len(s.parts))
		for i := range m.expect {
			if w, ok := s.parts[i]; ok {
				parts = append(parts, w)
			}
		}
		w, err := metrics.MergeWindows(parts)
		if err != nil {
			return out, fmt.Errorf("window at %gs: %w", t, err)
		}
		delete(m.slots, t)
		m.emitted = t
		out = append(out, w)
	}
	return out, nil
}

func (m *merger) complete(s *slot) bool {
	for i, want := range m.expect {
		if _, ok := s.parts[i]; want && !ok {
			return false
		}
	}
	return true
}

// Live is the merged run so far, for thresholds and progress while the
// test runs: counts add window by window, and the percentiles come from
// histograms merged window by window (never from the windows'
// percentiles). Add is called from one goroutine.
type Live struct {
	run   result.Run
	total *hdr.Histogram
	steps []*hdr.Histogram
}

// NewLive starts the merged run of a test with these steps and scenarios
// (names only: their counts fill in as windows arrive).
func NewLive(plan string, model result.Model, steps []result.StepResult, scenarios []result.ScenarioResult) *Live {
	l := &Live{total: metrics.NewHist()}
	l.run = result.Run{Version: result.Version, Kind: "load", Plan: plan, Model: model}
	for _, st := range steps {
		l.run.Steps = append(l.run.Steps, result.StepResult{Scenario: st.Scenario, Step: st.Step, Kind: st.Kind})
		l.steps = append(l.steps, metrics.NewHist())
	}
	for _, sc := range scenarios {
		l.run.Scenarios = append(l.run.Scenarios, result.ScenarioResult{Name: sc.Name, Weight: sc.Weight})
	}
	return l
}

// Add folds one merged window in and returns the run so far (valid until
// the next Add).
func (l *Live) Add(w result.Window) (*result.Run, error) {
	s := &l.run.Summary
	s.Requests += w.Requests
	s.Errors += w.Errors
	s.DurationS = w.TS + 1
	s.MaxVUs = max(s.MaxVUs, w.VUs)
	if s.DurationS > 0 {
		s.RPS = float64(s.Requests) / s.DurationS
	}
	if s.Requests > 0 {
		s.ErrorRate = float64(s.Errors) / float64(s.Requests)
	}
	var err error
	if w.Hist != "" {
		if err = addHist(l.total, w.Hist); err == nil {
			s.Latency = metrics.Percentiles(l.total)
		}
	}
	for _, sw := range w.Steps {
		if sw.Index < 0 || sw.Index >= len(l.steps) {
			continue
		}
		st := &l.run.Steps[sw.Index]
		st.Requests += sw.Requests
		st.Errors += sw.Errors
		if sw.Hist != "" {
			if e := addHist(l.steps[sw.Index], sw.Hist); e == nil {
				st.Latency = metrics.Percentiles(l.steps[sw.Index])
			} else if err == nil {
				err = e
			}
		}
		if s.DurationS > 0 {
			st.RPS = float64(st.Requests) / s.DurationS
		}
	}
	l.run.Series = append(l.run.Series[:0], w) // only the latest: the history has the rest
	return &l.run, err
}

func addHist(dst *hdr.Histogram, enc string) error {
	h, err := metrics.Decode(enc)
	if err != nil {
		return err
	}
	dst.Merge(h)
	return nil
}
