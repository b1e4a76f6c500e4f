package output

import (
	"math"
	"sync"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/metrics"
)

// Exponential is a latency histogram in base-2 exponential buckets of
// seconds: the form of Prometheus's native histograms and OpenTelemetry's
// exponential histograms, both of which the live outputs export. It is
// made from the run's own HDR histograms once a window, so the outputs
// cost nothing per request.
type Exponential struct {
	// Scale sets the base, 2^(2^-Scale): at MaxScale, 3, each bucket is
	// about 9% wider than the one before (Prometheus's schema 3).
	Scale int32
	// Offset is the index of Counts[0]. Counts[i] counts the values in
	// (base^(Offset+i), base^(Offset+i+1)], OpenTelemetry's convention;
	// Prometheus numbers the same bucket Offset+i+1.
	Offset int32
	Counts []uint64
	Count  uint64
	Sum    float64 // seconds
	// Min and Max are the least and greatest values, in seconds.
	Min, Max float64
	// Classic are the counts of values ≤ each of the bounds asked for: a
	// classic histogram's cumulative buckets.
	Classic []uint64
}

// Bounds of the exponential form.
const (
	// MaxScale is the finest scale used.
	MaxScale = 3
	// MaxBuckets is the most buckets one histogram holds; a wider spread
	// lowers the scale (each step halves the resolution) until it fits.
	MaxBuckets = 160
)

// ExponentialOf converts h (microseconds, as the run records) into
// exponential buckets of seconds, and counts the values under each of
// bounds (seconds, ascending) for classic buckets. Each HDR bucket's
// values are counted at its middle, within the run's own three
// significant digits.
func ExponentialOf(h *hdr.Histogram, bounds []float64) Exponential {
	e := Exponential{Scale: MaxScale, Classic: make([]uint64, len(bounds))}
	if h == nil || h.TotalCount() == 0 {
		return e
	}
	mid := func(lo, hi int64) float64 { return float64(lo+(hi-lo)/2) / 1e6 }
	first := true
	metrics.EachBucket(h, func(lo, hi, _ int64) {
		if first {
			e.Min, first = mid(lo, hi), false
		}
		e.Max = mid(lo, hi)
	})
	// Lower the scale until the spread fits; an index at scale s−1 is the
	// one at s shifted right by one.
	shift := int32(0)
	minIdx, maxIdx := index(e.Min, MaxScale), index(e.Max, MaxScale)
	for e.Scale > -4 && maxIdx>>shift-minIdx>>shift+1 > MaxBuckets {
		e.Scale--
		shift++
	}
	e.Offset = minIdx >> shift
	e.Counts = make([]uint64, maxIdx>>shift-e.Offset+1)
	under := make([]uint64, len(bounds)+1) // values in (bounds[j-1], bounds[j]]
	j := 0
	metrics.EachBucket(h, func(lo, hi, n int64) {
		v := mid(lo, hi)
		e.Counts[index(v, MaxScale)>>shift-e.Offset] += uint64(n)
		e.Count += uint64(n)
		e.Sum += v * float64(n)
		for j < len(bounds) && v > bounds[j] {
			j++
		}
		under[j] += uint64(n)
	})
	var cum uint64
	for j := range bounds {
		cum += under[j]
		e.Classic[j] = cum
	}
	return e
}

// index is the bucket of v > 0 at scale: base^index < v ≤ base^(index+1).
func index(v float64, scale int32) int32 { // scale ≥ 0
	return int32(math.Ceil(math.Log2(v)*float64(int64(1)<<scale))) - 1
}

// Latencies holds each series' last conversion and the values of its
// labels (Update.Values), in the order the series were first seen: what
// a sink hands its exporter. K names a series: a StepName for the steps'
// latency, a HopName for the hops'. Set is called from the Fan's
// goroutine, Each from a scrape's or an export's; both lock.
type Latencies[K comparable] struct {
	mu    sync.Mutex // guards hists and order
	hists map[K]labelled
	order []K
}

type labelled struct {
	values []string
	e      Exponential
}

// Set keeps e as name's histogram, with the values of its labels.
func (l *Latencies[K]) Set(name K, values []string, e Exponential) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hists == nil {
		l.hists = map[K]labelled{}
	}
	if _, ok := l.hists[name]; !ok {
		l.order = append(l.order, name)
	}
	l.hists[name] = labelled{values, e}
}

// Each calls fn with every series' histogram and label values, holding
// the lock.
func (l *Latencies[K]) Each(fn func(name K, values []string, e Exponential)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, name := range l.order {
		h := l.hists[name]
		fn(name, h.values, h.e)
	}
}
