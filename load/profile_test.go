package load

import (
	"math"
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
