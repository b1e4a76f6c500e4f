package metrics

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/internal/racedetect"
	"github.com/stampede-perf/stampede/result"
)

// refWindow is one window of raw samples, the truth a result.Window
// summarises.
type refWindow struct {
	ts    float64
	vus   int
	steps map[int][]int64 // latencies (µs) by step index
	errs  map[int]int64   // errors by step index
	kinds map[string]int64
}

// encodeValues records vals into a fresh histogram and encodes it.
func encodeValues(t *testing.T, vals []int64) string {
	t.Helper()
	h := NewHist()
	for _, v := range vals {
		RecordUS(h, v)
	}
	s, err := Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// toWindow is what the collector would have written for rw.
func toWindow(t *testing.T, rw refWindow) result.Window {
	w := result.Window{TS: rw.ts, VUs: rw.vus, ErrKinds: rw.kinds}
	var all []int64
	idx := make([]int, 0, len(rw.steps))
	for i := range rw.steps {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		vals := rw.steps[i]
		all = append(all, vals...)
		w.Requests += int64(len(vals))
		w.Errors += rw.errs[i]
		w.Steps = append(w.Steps, result.StepWindow{Index: i, Requests: int64(len(vals)), Errors: rw.errs[i], Hist: encodeValues(t, vals)})
	}
	w.Hist = encodeValues(t, all)
	return w
}

// refLatency is the slow, obviously right latency of raw samples: every
// value recorded one by one into one histogram (for the mean and standard
// deviation, which HDR defines on its buckets), and each percentile the
// nearest-rank order statistic of the sorted samples, widened to the top of
// its HDR bucket (what a 3-significant-digit histogram can say).
func refLatency(vals []int64) result.Latency {
	if len(vals) == 0 {
		return result.Latency{}
	}
	h := NewHist()
	for _, v := range vals {
		RecordUS(h, v)
	}
	s := append([]int64(nil), vals...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	bucket := func(v int64) *struct{ lo, hi int64 } {
		one := NewHist()
		RecordUS(one, v)
		return &struct{ lo, hi int64 }{one.Min(), one.Max()}
	}
	at := func(q float64) float64 {
		rank := int64(q/100*float64(len(s)) + 0.5)
		rank = max(1, min(rank, int64(len(s))))
		return ms(bucket(s[rank-1]).hi)
	}
	return result.Latency{Min: ms(bucket(s[0]).lo), Mean: h.Mean() / 1000, Stddev: h.StdDev() / 1000,
		P50: at(50), P90: at(90), P95: at(95), P99: at(99), P999: at(99.9), Max: ms(bucket(s[len(s)-1]).hi)}
}

func randomRefWindows(rng *rand.Rand, n int) []refWindow {
	out := make([]refWindow, n)
	kinds := []string{"timeout", "http_5xx", "connection_reset"}
	for i := range out {
		rw := refWindow{ts: float64(i + rng.IntN(2)*10), vus: rng.IntN(50), steps: map[int][]int64{}, errs: map[int]int64{}}
		for st := 0; st < 3; st++ {
			if rng.IntN(4) == 0 {
				continue // this step ran nothing in this window
			}
			k := 1 + rng.IntN(300)
			vals := make([]int64, k)
			for j := range vals {
				switch rng.IntN(50) {
				case 0:
					vals[j] = HighestUS // a timeout at the top of the range
				case 1:
					vals[j] = 1
				default:
					vals[j] = int64(math.Exp(rng.NormFloat64()*2+8)) + 1
				}
			}
			rw.steps[st] = vals
			rw.errs[st] = int64(rng.IntN(k + 1))
		}
		if rng.IntN(3) == 0 {
			rw.kinds = map[string]int64{kinds[rng.IntN(len(kinds))]: int64(1 + rng.IntN(9))}
		}
		out[i] = rw
	}
	return out
}

// Summarize agrees with sums by hand and with percentiles read off every
// raw sample at once.
func TestSummarizeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	// The reference sorts every value: under the race detector's
	// slowdown a quarter of the trials (the same first ten) cover the
	// shapes; a plain `go test` runs all forty.
	trials := 40
	if racedetect.Enabled {
		trials = 10
	}
	for trial := 0; trial < trials; trial++ {
		n := rng.IntN(12) // zero windows included
		refs := randomRefWindows(rng, n)
		ws := make([]result.Window, n)
		for i, rw := range refs {
			ws[i] = toWindow(t, rw)
		}
		sp, err := Summarize(ws)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		var (
			all      []int64
			byStep   = map[int][]int64{}
			stepErrs = map[int]int64{}
			errs     int64
			maxVUs   int
			end      float64
			kinds    = map[string]int64{}
		)
		for _, rw := range refs {
			for i, vals := range rw.steps {
				all = append(all, vals...)
				byStep[i] = append(byStep[i], vals...)
				stepErrs[i] += rw.errs[i]
				errs += rw.errs[i]
			}
			maxVUs = max(maxVUs, rw.vus)
			end = max(end, rw.ts+1)
			for k, c := range rw.kinds {
				kinds[k] += c
			}
		}
		s := sp.Summary
		if s.Requests != int64(len(all)) || s.Errors != errs || s.MaxVUs != maxVUs || sp.EndS != end || s.DurationS != float64(n) {
			t.Fatalf("trial %d: counts %d/%d vus %d end %g dur %g, want %d/%d %d %g %d", trial,
				s.Requests, s.Errors, s.MaxVUs, sp.EndS, s.DurationS, len(all), errs, maxVUs, end, n)
		}
		if n > 0 && (s.RPS != float64(len(all))/float64(n) || (len(all) > 0 && s.ErrorRate != float64(errs)/float64(len(all)))) {
			t.Fatalf("trial %d: rps %g error rate %g", trial, s.RPS, s.ErrorRate)
		}
		if want := refLatency(all); s.Latency != want {
			t.Fatalf("trial %d: latency\n got %+v\nwant %+v", trial, s.Latency, want)
		}
		checkHist(t, s.Hist, all)
		if len(sp.Steps) != len(byStep) {
			t.Fatalf("trial %d: %d steps, want %d", trial, len(sp.Steps), len(byStep))
		}
		for j, st := range sp.Steps {
			if j > 0 && sp.Steps[j-1].Index >= st.Index {
				t.Fatalf("trial %d: steps out of order: %+v", trial, sp.Steps)
			}
			vals := byStep[st.Index]
			if st.Requests != int64(len(vals)) || st.Errors != stepErrs[st.Index] {
				t.Fatalf("trial %d step %d: %d/%d, want %d/%d", trial, st.Index, st.Requests, st.Errors, len(vals), stepErrs[st.Index])
			}
			if want := refLatency(vals); st.Latency != want {
				t.Fatalf("trial %d step %d: latency\n got %+v\nwant %+v", trial, st.Index, st.Latency, want)
			}
			checkHist(t, st.Hist, vals)
		}
		if len(sp.Errors) != len(kinds) {
			t.Fatalf("trial %d: errors %+v, want %v", trial, sp.Errors, kinds)
		}
		for j, e := range sp.Errors {
			if e.Count != kinds[e.Kind] || (j > 0 && sp.Errors[j-1].Count < e.Count) {
				t.Fatalf("trial %d: errors %+v, want %v, most frequent first", trial, sp.Errors, kinds)
			}
		}
	}
}

// checkHist says whether enc holds exactly the samples vals.
func checkHist(t *testing.T, enc string, vals []int64) {
	t.Helper()
	got, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := NewHist()
	for _, v := range vals {
		RecordUS(want, v)
	}
	if !got.Equals(want) {
		t.Fatalf("merged histogram holds %d values, want the %d samples", got.TotalCount(), len(vals))
	}
}

// What cannot be read is reported, one problem each, and the rest is
// still summed.
func TestSummarizeReportsWhatItCannotRead(t *testing.T) {
	good := toWindow(t, refWindow{ts: 0, steps: map[int][]int64{0: {100, 200}, 1: {300}}})
	bad := toWindow(t, refWindow{ts: 1, steps: map[int][]int64{0: {400}}})
	bad.Hist = "not-a-histogram"
	bad.Steps = append(bad.Steps, result.StepWindow{Index: -1, Requests: 5})
	sp, err := Summarize([]result.Window{good, bad})
	if err == nil || sp.HistErr == nil {
		t.Fatalf("want an error, got %v (hist %v)", err, sp.HistErr)
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 2 || !strings.Contains(err.Error(), "names step -1") {
		t.Fatalf("want two problems (the histogram, the step index), got %d: %v", n, err)
	}
	if sp.Summary.Requests != 4 || sp.Summary.Latency != (result.Latency{}) {
		t.Fatalf("want counts and no latency, got %+v", sp.Summary)
	}
	if len(sp.Steps) != 2 || sp.Steps[0].Requests != 3 || sp.Steps[0].Latency != refLatency([]int64{100, 200, 400}) {
		t.Fatalf("steps = %+v", sp.Steps)
	}
}
