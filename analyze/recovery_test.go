package analyze

import (
	"math/rand/v2"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

func TestRecoveryReference(t *testing.T) {
	// Reference by counting: the smallest p99 with at least 90% of the
	// windows at or below it.
	slow := func(ws []result.Window) float64 {
		best := -1.0
		for _, c := range ws {
			n := 0
			for _, w := range ws {
				if w.P99 <= c.P99 {
					n++
				}
			}
			if 10*n >= 9*len(ws) && (best < 0 || c.P99 < best) {
				best = c.P99
			}
		}
		return best
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 10; n <= 40; n += 7 {
		var ws []result.Window
		for i := range n {
			ws = append(ws, result.Window{TS: float64(i), Requests: 100, Errors: int64(i % 2), P99: 2 + 3*rng.Float64()})
		}
		ws = append(ws, result.Window{TS: 99}) // no requests: left out
		ref, err := RecoveryReference(ws)
		if err != nil {
			t.Fatal(err)
		}
		if want := slow(ws[:n]); ref.P99 != want {
			t.Errorf("n=%d: reference p99 %v, counting gives %v", n, ref.P99, want)
		}
		if want := float64(n/2) / float64(100*n); ref.ErrorRate != want {
			t.Errorf("n=%d: error rate %v, want %v", n, ref.ErrorRate, want)
		}
	}
	few := []result.Window{{Requests: 10, P99: 3}, {Requests: 10, P99: 5}, {Requests: 10, P99: 4}}
	if ref, _ := RecoveryReference(few); ref.P99 != 5 {
		t.Errorf("fewer than 10 windows: reference %v, want the maximum 5", ref.P99)
	}
	if _, err := RecoveryReference([]result.Window{{TS: 1}}); err == nil {
		t.Error("no requests: want an error")
	}
}

func TestRecovery(t *testing.T) {
	ref := RecoveryRef{P99: 10, ErrorRate: 0}
	rule := RecoveryRule{Tolerance: 0.10, Windows: 3}
	w := func(ts, p99 float64, errs int64) result.Window {
		return result.Window{TS: ts, Requests: 1000, Errors: errs, P99: p99}
	}
	cases := []struct {
		name string
		ws   []result.Window
		at   float64
		ok   bool
	}{
		{"at once", []result.Window{w(0, 9, 0), w(1, 10, 0), w(2, 11, 0)}, 0, true},
		{"after a slow start", []result.Window{w(0, 200, 0), w(1, 50, 0), w(2, 10, 0), w(3, 10, 0), w(4, 10, 0)}, 2, true},
		{"a relapse restarts the streak", []result.Window{w(0, 10, 0), w(1, 10, 0), w(2, 12, 0), w(3, 10, 0), w(4, 10, 0), w(5, 10, 0)}, 3, true},
		{"errors keep it from recovering", []result.Window{w(0, 10, 5), w(1, 10, 5), w(2, 10, 5)}, 0, false},
		{"the error floor allows one in a thousand", []result.Window{w(0, 10, 1), w(1, 10, 1), w(2, 10, 0)}, 0, true},
		{"an empty window is no evidence", []result.Window{w(0, 10, 0), {TS: 1}, w(2, 10, 0), w(3, 10, 0), w(4, 10, 0)}, 2, true},
		{"never", []result.Window{w(0, 30, 0), w(1, 30, 0), w(2, 30, 0), w(3, 30, 0)}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at, ok := Recovery(ref, rule, c.ws)
			if ok != c.ok || (ok && at != c.at) {
				t.Errorf("Recovery = %v, %v; want %v, %v", at, ok, c.at, c.ok)
			}
		})
	}
	// The tracker stops at the streak and stays recovered.
	tr := RecoveryTracker{Rule: rule, Ref: ref}
	for i, win := range []result.Window{w(0, 50, 0), w(1, 10, 0), w(2, 10, 0), w(3, 10, 0)} {
		if got := tr.Add(win); got != (i == 3) {
			t.Errorf("Add(window %d) = %v", i, got)
		}
	}
	if !tr.Add(w(4, 500, 50)) {
		t.Error("a recovered tracker must stay recovered")
	}
	if at, ok := tr.Recovered(); !ok || at != 1 {
		t.Errorf("Recovered = %v, %v", at, ok)
	}
}
