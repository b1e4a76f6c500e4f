package metrics

import (
	"cmp"
	"slices"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/result"
)

// A step that follows redirects makes more than one exchange; each
// followed hop is an entry of its own under the step: the status that
// asked for it and where it led (`GET /login → 302 /home`), with its own
// count, errors and latency histogram. Hops are few and dynamic (where a
// redirect leads is known only from its Location), so they do not ride
// in the fixed-size Sample: the VU reports each through Collector.Hop,
// which locks. A step keeps at most MaxHops entries; the hops past them
// share the entry OtherHop.

// MaxHops is how many hop entries a step keeps, the shared one included.
const MaxHops = 16

// OtherHop is the destination of the entry (status 0: any) shared by a
// step's hops past the first MaxHops-1 destinations.
const OtherHop = "(other destinations)"

type hopKey struct {
	status int
	to     string
}

type hopAgg struct {
	key              hopKey
	lat              *hdr.Histogram
	requests, errors int64
}

// hopTable is every step's hop entries, in the order first seen.
type hopTable struct {
	mu    sync.Mutex // guards steps
	steps map[int][]*hopAgg
}

// Hop records one followed redirect of step (the layout's global step
// index): the status that asked for it, the path (or, on another origin,
// the URL without its query) it led to, the time of its exchange and
// whether that exchange failed. Safe for concurrent use.
func (c *Collector) Hop(step, status int, to string, d time.Duration, failed bool) {
	if step < 0 || step >= len(c.steps) {
		return
	}
	t := &c.hops
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.steps == nil {
		t.steps = map[int][]*hopAgg{}
	}
	hs := t.steps[step]
	k := hopKey{status, to}
	i := slices.IndexFunc(hs, func(h *hopAgg) bool { return h.key == k })
	if i < 0 && len(hs) >= MaxHops-1 { // the last entry is the shared one
		k = hopKey{0, OtherHop} // of any status
		i = slices.IndexFunc(hs, func(h *hopAgg) bool { return h.key == k })
	}
	if i < 0 {
		hs = append(hs, &hopAgg{key: k, lat: NewHist()})
		t.steps[step] = hs
		i = len(hs) - 1
	}
	h := hs[i]
	h.requests++
	if failed {
		h.errors++
	}
	RecordUS(h.lat, int64(Micros(d)))
}

// hopResults are step's hop entries as the Run holds them.
func (c *Collector) hopResults(step int, durS float64) []result.HopResult {
	t := &c.hops
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []result.HopResult
	for _, h := range t.steps[step] {
		hr := result.HopResult{Status: h.key.status, To: h.key.to, Requests: h.requests, Errors: h.errors,
			Latency: Percentiles(h.lat), Hist: MustEncode(h.lat)}
		if durS > 0 {
			hr.RPS = float64(h.requests) / durS
		}
		out = append(out, hr)
	}
	sortHops(out)
	return out
}

// sortHops puts the most followed hops first, and the shared entry last.
func sortHops(hs []result.HopResult) {
	slices.SortStableFunc(hs, func(a, b result.HopResult) int {
		if ao, bo := a.To == OtherHop, b.To == OtherHop; ao != bo {
			if ao {
				return 1
			}
			return -1
		}
		return cmp.Compare(b.Requests, a.Requests)
	})
}

// mergeHops adds the hop entries of one step over the parts of a run, in
// the order first seen.
func mergeHops(parts [][]result.HopResult, durationS float64) ([]result.HopResult, error) {
	var out []result.HopResult
	var hists [][]string
	for _, hs := range parts {
		for _, h := range hs {
			i := slices.IndexFunc(out, func(o result.HopResult) bool { return o.Status == h.Status && o.To == h.To })
			if i < 0 {
				out = append(out, result.HopResult{Status: h.Status, To: h.To})
				hists = append(hists, nil)
				i = len(out) - 1
			}
			out[i].Requests += h.Requests
			out[i].Errors += h.Errors
			hists[i] = append(hists[i], h.Hist)
		}
	}
	for i := range out {
		var err error
		if out[i].Latency, out[i].Hist, err = Combine(hists[i]...); err != nil {
			return nil, err
		}
		if durationS > 0 {
			out[i].RPS = float64(out[i].Requests) / durationS
		}
	}
	sortHops(out)
	return out, nil
}
