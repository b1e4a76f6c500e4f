package metrics

import (
	"errors"
	"fmt"
	"sort"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/result"
)

// This file holds the one fold of measured parts into the numbers they
// support: counts add, and every percentile is read again from the merge
// of the parts' histograms (never averaged). Summarize folds one-second
// windows (a held stress step, a run rebuilt from its stored windows, the
// windows of several segments at one instant); Combine is the histogram
// half of it for parts that are not windows (steps of a scenario, the
// summaries of segments).

// Span is what a set of one-second windows adds up to.
type Span struct {
	// Summary has the windows' requests and errors summed, MaxVUs the
	// most VUs any window saw, DurationS one second per window, RPS and
	// ErrorRate over it, and Latency and Hist from the merged histograms.
	// Service time, start lag, iterations, bytes and timings are not in
	// windows and stay zero.
	Summary result.Summary
	// EndS is the end of the latest window, in seconds since the run
	// started.
	EndS float64
	// Steps are the steps the windows name, in index order.
	Steps []StepSpan
	// Errors counts the windows' errors by kind, the most frequent first
	// (kinds only: windows do not say where an error happened).
	Errors []result.ErrorCount
	// HistErr says why the windows' own histograms could not be read
	// (then Summary has no latency); nil when they could.
	HistErr error
}

// StepSpan is one step's share of a Span.
type StepSpan struct {
	Index    int // index into Run.Steps
	Requests int64
	Errors   int64
	Latency  result.Latency
	Hist     string
}

// MaxStepIndex is the highest step index a window may name; a higher one
// is corrupt data, not a plan (no plan has ten thousand steps).
const MaxStepIndex = 10_000

// windowS is the length of one window.
const windowS = 1.0

// Summarize folds windows into the Span they support. It reads what it
// can: a histogram that cannot be decoded, or a step index out of range,
// leaves that part's latency (or that step window) out and is reported in
// the returned error, one joined error per problem; the counts are always
// complete.
func Summarize(ws []result.Window) (Span, error) {
	var (
		sp    Span
		errs  []error
		hists = make([]string, 0, len(ws))
		kinds = map[string]int64{}
		steps = map[int]*stepFold{}
	)
	for _, w := range ws {
		s := &sp.Summary
		s.Requests += w.Requests
		s.Errors += w.Errors
		s.MaxVUs = max(s.MaxVUs, w.VUs)
		sp.EndS = max(sp.EndS, w.TS+windowS)
		hists = append(hists, w.Hist)
		for k, n := range w.ErrKinds {
			kinds[k] += n
		}
		for _, sw := range w.Steps {
			if sw.Index < 0 || sw.Index > MaxStepIndex {
				errs = append(errs, fmt.Errorf("window at %gs names step %d, which does not exist", w.TS, sw.Index))
				continue
			}
			f := steps[sw.Index]
			if f == nil {
				f = &stepFold{}
				steps[sw.Index] = f
			}
			f.requests += sw.Requests
			f.errors += sw.Errors
			f.hists = append(f.hists, sw.Hist)
		}
	}
	s := &sp.Summary
	s.DurationS = float64(len(ws)) * windowS
	if s.DurationS > 0 {
		s.RPS = float64(s.Requests) / s.DurationS
	}
	if s.Requests > 0 {
		s.ErrorRate = float64(s.Errors) / float64(s.Requests)
	}
	var err error
	if s.Latency, s.Hist, err = Combine(hists...); err != nil {
		sp.HistErr = err
		errs = append(errs, fmt.Errorf("latency percentiles unavailable: %w", err))
	}
	idx := make([]int, 0, len(steps))
	for i := range steps {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		f := steps[i]
		st := StepSpan{Index: i, Requests: f.requests, Errors: f.errors}
		if st.Latency, st.Hist, err = Combine(f.hists...); err != nil {
			errs = append(errs, fmt.Errorf("step %d: latency percentiles unavailable: %w", i, err))
		}
		sp.Steps = append(sp.Steps, st)
	}
	for k, n := range kinds {
		sp.Errors = append(sp.Errors, result.ErrorCount{Kind: k, Count: n})
	}
	sortErrors(sp.Errors)
	return sp, errors.Join(errs...)
}

type stepFold struct {
	requests, errors int64
	hists            []string
}

// Combine merges encoded histograms and reads the standard percentiles
// and the encoding of the merge off the result. On an error it returns
// zero latency and "".
func Combine(hists ...string) (result.Latency, string, error) {
	h, err := MergeEncoded(hists...)
	if err != nil {
		return result.Latency{}, "", err
	}
	return latencyOf(h)
}

// latencyOf is the percentiles and the encoding of h.
func latencyOf(h *hdr.Histogram) (result.Latency, string, error) {
	enc, err := Encode(h)
	if err != nil {
		return result.Latency{}, "", err
	}
	return Percentiles(h), enc, nil
}
