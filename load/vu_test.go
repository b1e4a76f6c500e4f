package load

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/racedetect"
	"github.com/stampede-perf/stampede/metrics"
)

// nopStep completes at once, as fast as a step can.
type nopStep struct{}

func (nopStep) Do(_ context.Context, _ *VU, s *metrics.Sample) (time.Time, time.Time) {
	now := time.Now()
	s.BytesIn = 1
	return now, now
}

// An iteration allocates nothing of its own: its samples go from the VU to
// its ring by copy.
func TestIterationAllocatesNothing(t *testing.T) {
	racedetect.Skip(t, "the race detector changes allocation counts")
	vu := NewTestVU(1, nil, nil)
	vu.ring = metrics.NewRing(1 << 14) // room for every sample: nothing drains it
	vu.test = &Test{Scenarios: []Scenario{{Name: "s", Weight: 1, Steps: []Step{nopStep{}, nopStep{}}, Think: make([]Think, 2)}}}
	var stopping atomic.Bool
	ctx, start := context.Background(), time.Now()
	if n := testing.AllocsPerRun(1000, func() { vu.iterate(ctx, &stopping, start) }); n != 0 {
		t.Fatalf("an iteration allocates %v times", n)
	}
	if vu.Iter != 1001 {
		t.Fatalf("%d iterations ran, want 1001", vu.Iter)
	}
}
