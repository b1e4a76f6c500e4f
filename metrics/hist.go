// Package metrics turns samples into exact, mergeable statistics: HDR
// histograms per step and outcome, one-second windows, and the encoded form
// that a Run carries.
//
// Design: load workers never touch a histogram. Each VU writes fixed-size
// samples into its own single-producer ring (an atomic index, no lock, no
// channel, no allocation); one collector goroutine drains every ring and is
// the only writer of the histograms. Windows close one second after their
// end so late samples still land in the second they completed in. All
// latencies are recorded in microseconds, 1 µs to 1 h, three significant
// digits: every merge (shards, windows, segments, machines) is exact.
//
// Memory is flat however long a run: the rings share a fixed budget of
// samples, a window's latency is read from its steps' histograms, and
// closed windows older than a minute wait in a private temporary file
// until Finish reads them back into the Run (spill.go).
package metrics

import (
	"fmt"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/result"
)

// Histogram geometry shared by every histogram stampede writes.
const (
	LowestUS  = 1
	HighestUS = 3_600_000_000 // 1 h
	SigFigs   = 3
)

// NewHist returns an empty histogram with the shared geometry.
func NewHist() *hdr.Histogram { return hdr.New(LowestUS, HighestUS, SigFigs) }

// RecordUS records v microseconds, clamping into the trackable range so a
// pathological value is counted rather than lost.
func RecordUS(h *hdr.Histogram, v int64) {
	if v < LowestUS {
		v = LowestUS
	} else if v > HighestUS {
		v = HighestUS
	}
	_ = h.RecordValue(v) // cannot fail inside the range
}

// Decode parses an encoded histogram; "" is an empty histogram.
func Decode(s string) (*hdr.Histogram, error) {
	if s == "" {
		return NewHist(), nil
	}
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("cannot decode histogram: %w", err)
	}
	return h, nil
}

// MergeEncoded decodes and merges encoded histograms into one.
func MergeEncoded(encs ...string) (*hdr.Histogram, error) {
	out := NewHist()
	for _, e := range encs {
		if e == "" {
			continue
		}
		h, err := Decode(e)
		if err != nil {
			return nil, err
		}
		out.Merge(h)
	}
	return out, nil
}

// Percentiles is the standard set, in milliseconds, read from h (µs).
func Percentiles(h *hdr.Histogram) result.Latency {
	if h == nil || h.TotalCount() == 0 {
		return result.Latency{}
	}
	q := h.ValueAtPercentiles([]float64{50, 90, 95, 99, 99.9})
	return result.Latency{
		Min:    ms(h.Min()),
		Mean:   h.Mean() / 1000,
		Stddev: h.StdDev() / 1000,
		P50:    ms(q[50]),
		P90:    ms(q[90]),
		P95:    ms(q[95]),
		P99:    ms(q[99]),
		P999:   ms(q[99.9]),
		Max:    ms(h.Max()),
	}
}

func ms(us int64) float64 { return float64(us) / 1000 }
