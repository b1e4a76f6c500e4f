package load

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Profile is a piecewise-linear load level over time: users for the closed
// model, iterations per second for the open model. It is pure data so load
// shapes are testable without running anything.
type Profile struct {
	segs []seg
}

type seg struct {
	start, end time.Duration
	from, to   float64
	area       float64 // cumulative area (arrivals) before start
}

// Level is one stage: ramp to Target over Ramp, then hold for Hold.
type Level struct {
	Target float64
	Ramp   time.Duration
	Hold   time.Duration
}

// NewProfile builds a profile that starts at zero (or, when the first
// level has no ramp, at its target).
func NewProfile(levels []Level) Profile {
	var p Profile
	var t time.Duration
	cur := 0.0
	for i, l := range levels {
		if l.Ramp > 0 {
			p.add(t, t+l.Ramp, cur, l.Target)
			t += l.Ramp
		} else if i == 0 {
			cur = l.Target
		}
		cur = l.Target
		if l.Hold > 0 {
			p.add(t, t+l.Hold, cur, cur)
			t += l.Hold
		}
	}
	return p
}

func (p *Profile) add(start, end time.Duration, from, to float64) {
	area := 0.0
	if n := len(p.segs); n > 0 {
		s := p.segs[n-1]
		area = s.area + (s.from+s.to)/2*s.end.Seconds() - (s.from+s.to)/2*s.start.Seconds()
	}
	p.segs = append(p.segs, seg{start: start, end: end, from: from, to: to, area: area})
}

// Duration is the profile's total length.
func (p Profile) Duration() time.Duration {
	if len(p.segs) == 0 {
		return 0
	}
	return p.segs[len(p.segs)-1].end
}

// Peak is the highest level.
func (p Profile) Peak() float64 {
	m := 0.0
	for _, s := range p.segs {
		m = math.Max(m, math.Max(s.from, s.to))
	}
	return m
}

// PeakAt is when the profile first reaches its peak level: the start of
// the steady part of the load.
func (p Profile) PeakAt() time.Duration {
	peak := p.Peak()
	for _, s := range p.segs {
		if s.from == peak {
			return s.start
		}
		if s.to == peak {
			return s.end
		}
	}
	return 0
}

// At is the level at t (0 past the end).
func (p Profile) At(t time.Duration) float64 {
	for _, s := range p.segs {
		if t >= s.start && t < s.end {
			f := float64(t-s.start) / float64(s.end-s.start)
			return s.from + (s.to-s.from)*f
		}
	}
	return 0
}

// Area is the integral of the level from 0 to t: the expected number of
// arrivals by t when the level is a rate per second.
func (p Profile) Area(t time.Duration) float64 {
	a := 0.0
	for _, s := range p.segs {
		if t <= s.start {
			break
		}
		end := s.end
		if t < end {
			end = t
		}
		u := (end - s.start).Seconds()
		slope := (s.to - s.from) / (s.end - s.start).Seconds()
		a = s.area + s.from*u + slope*u*u/2
	}
	return a
}

// Invert returns the time at which Area reaches x, and false when it never
// does within the profile.
func (p Profile) Invert(x float64) (time.Duration, bool) {
	for _, s := range p.segs {
		length := (s.end - s.start).Seconds()
		total := s.area + (s.from+s.to)/2*length
		if x > total || (x == total && s.from+s.to == 0) {
			continue
		}
		d := x - s.area
		if d <= 0 {
			return s.start, true
		}
		a := s.from
		b := (s.to - s.from) / length
		// u solves a·u + b·u²/2 = d; this form is stable for b → 0.
		u := 2 * d / (a + math.Sqrt(a*a+2*b*d))
		if math.IsNaN(u) || math.IsInf(u, 0) {
			continue
		}
		t := s.start + time.Duration(math.Round(u*float64(time.Second)))
		if t > s.end {
			t = s.end
		}
		return t, true
	}
	return 0, false
}

// Segment is one part of a test split over several processes: part K
// (0-based) of N equal parts. Every executor stripes its global sequence
// (VU j, iteration i) so that part K takes the members with index ≡ K mod
// N; the union of all parts is exactly the whole test.
type Segment struct {
	K, N int
}

// Whole is the segment that is the whole test.
var Whole = Segment{K: 0, N: 1}

// ParseSegment reads "k/n" with 1 ≤ k ≤ n (1-based, as users count).
func ParseSegment(s string) (Segment, error) {
	if s == "" {
		return Whole, nil
	}
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return Segment{}, fmt.Errorf("segment %q: want k/n with 1 ≤ k ≤ n, e.g. 2/4 for the second of four parts", s)
	}
	return Segment{K: k - 1, N: n}, nil
}

// String is the 1-based "k/n" form.
func (g Segment) String() string {
	if g.N <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", g.K+1, g.N)
}

// Share is how many of the first total members (VUs) belong to g.
func (g Segment) Share(total int) int {
	if g.N <= 1 {
		return total
	}
	if total <= g.K {
		return 0
	}
	return (total-g.K-1)/g.N + 1
}

// Global maps the segment's local index to the global index.
func (g Segment) Global(local int64) int64 {
	if g.N <= 1 {
		return local
	}
	return local*int64(g.N) + int64(g.K)
}

// IterationsCap bounds a run given only an iteration count.
const IterationsCap = 24 * time.Hour
