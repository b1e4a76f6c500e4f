package load

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestProfileShapes(t *testing.T) {
	s := time.Second
	tests := []struct {
		name   string
		levels []Level
		at     time.Duration
		want   float64
		area   float64 // Area(at)
	}{
		{"constant level starts at once", []Level{{Target: 100, Hold: 10 * s}}, 0, 100, 0},
		{"constant level midway", []Level{{Target: 100, Hold: 10 * s}}, 5 * s, 100, 500},
		{"ramp from zero is linear", []Level{{Target: 100, Ramp: 10 * s, Hold: 10 * s}}, 5 * s, 50, 125},
		{"hold after ramp", []Level{{Target: 100, Ramp: 10 * s, Hold: 10 * s}}, 15 * s, 100, 500 + 500},
		{"ramp down to zero", []Level{{Target: 10, Hold: 2 * s}, {Target: 0, Ramp: 2 * s}}, 3 * s, 5, 20 + 7.5},
		{"past the end is zero", []Level{{Target: 10, Hold: 2 * s}}, 3 * s, 0, 20},
		{"step up without ramp", []Level{{Target: 10, Hold: 2 * s}, {Target: 30, Hold: 2 * s}}, 3 * s, 30, 20 + 30},
	}
	for _, tc := range tests {
		p := NewProfile(tc.levels)
		if got := p.At(tc.at); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: At(%v) = %v, want %v", tc.name, tc.at, got, tc.want)
		}
		if got := p.Area(tc.at); math.Abs(got-tc.area) > 1e-9 {
			t.Errorf("%s: Area(%v) = %v, want %v", tc.name, tc.at, got, tc.area)
		}
	}
}

// Invert must undo Area everywhere, including on ramps, so intended start
// times follow the profile exactly.
func TestProfileInvertUndoesArea(t *testing.T) {
	p := NewProfile([]Level{{Target: 200, Ramp: 3 * time.Second, Hold: 2 * time.Second}, {Target: 50, Ramp: time.Second, Hold: time.Second}, {Target: 0, Ramp: 2 * time.Second}})
	for ms := 0; ms < int(p.Duration()/time.Millisecond); ms += 7 {
		at := time.Duration(ms) * time.Millisecond
		x := p.Area(at)
		if p.At(at) == 0 && ms > 0 {
			continue // a flat zero stretch has no unique inverse
		}
		got, ok := p.Invert(x)
		if !ok {
			t.Fatalf("Invert(Area(%v)=%v) not found", at, x)
		}
		if d := got - at; d > time.Microsecond || d < -time.Microsecond {
			t.Fatalf("Invert(Area(%v)) = %v", at, got)
		}
	}
	if _, ok := p.Invert(p.Area(p.Duration()) + 1); ok {
		t.Fatal("Invert beyond the total arrivals must report false")
	}
}

// The parts of a segmented test add up to the whole, for every size.
func TestSegmentsPartitionTheWhole(t *testing.T) {
	for n := 1; n <= 7; n++ {
		for total := 0; total <= 50; total++ {
			sum := 0
			seen := map[int64]bool{}
			for k := 0; k < n; k++ {
				g := Segment{K: k, N: n}
				share := g.Share(total)
				sum += share
				for l := 0; l < share; l++ {
					j := g.Global(int64(l))
					if j >= int64(total) || seen[j] {
						t.Fatalf("n=%d total=%d: part %d maps local %d to %d (dup or out of range)", n, total, k, l, j)
					}
					seen[j] = true
				}
			}
			if sum != total {
				t.Fatalf("n=%d total=%d: shares add to %d", n, total, sum)
			}
		}
	}
}

func TestParseSegment(t *testing.T) {
	tests := []struct {
		in   string
		want Segment
		ok   bool
	}{
		{"", Whole, true},
		{"2/4", Segment{K: 1, N: 4}, true},
		{"1/1", Segment{K: 0, N: 1}, true},
		{"0/4", Segment{}, false},
		{"5/4", Segment{}, false},
		{"a/b", Segment{}, false},
		{"3", Segment{}, false},
	}
	for _, tc := range tests {
		got, err := ParseSegment(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseSegment(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestDitheredSchedule: dithered constant arrivals keep the count, the
// order and each arrival within its own slot, and spread over the phase
// of a 4 ms scheduler tick that, at 250 per second, they would otherwise
// all share.
func TestDitheredSchedule(t *testing.T) {
	const rate = 250
	p := NewProfile([]Level{{Target: rate, Hold: 10 * time.Second}})
	plain := &schedule{p: p, seg: Segment{K: 0, N: 1}, end: p.Duration()}
	dith := &schedule{p: p, seg: Segment{K: 0, N: 1}, end: p.Duration(), dither: 12345, area: p.Area(p.Duration())}
	if plain.planned() != dith.planned() {
		t.Fatalf("planned %d dithered, %d exact", dith.planned(), plain.planned())
	}
	slot := time.Second / rate
	tick := 4 * time.Millisecond
	var bins, exactBins [4]int
	var prev time.Duration = -1
	n := 0
	for {
		at, ok := dith.claim()
		exact, eok := plain.claim()
		if ok != eok {
			t.Fatalf("iteration %d: dithered ok %v, exact ok %v", n, ok, eok)
		}
		if !ok {
			break
		}
		if at < exact || at >= exact+slot || at <= prev {
			t.Fatalf("iteration %d at %v: outside its slot [%v, %v) or not after %v", n, at, exact, exact+slot, prev)
		}
		prev = at
		bins[(at%tick)*4/tick]++
		exactBins[(exact%tick)*4/tick]++
		n++
	}
	if n != rate*10 {
		t.Fatalf("%d iterations, want %d", n, rate*10)
	}
	for i, c := range bins {
		// Uniform phases put n/4 in each quarter of the tick; 5 sd of a
		// binomial is about 4% of n at this n.
		if d := float64(c) - float64(n)/4; math.Abs(d) > 5*math.Sqrt(float64(n)*0.25*0.75) {
			t.Errorf("quarter %d of the tick holds %d of %d dithered arrivals", i, c, n)
		}
	}
	if slices.Max(exactBins[:]) != n {
		t.Errorf("exact arrivals at 250/s should all share one phase of a 4 ms tick: %v", exactBins)
	}
}
