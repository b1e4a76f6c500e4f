package suite

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
)

// TestStressRateMustBeSustained: with a latency limit too lax to see a
// modest overload (p99 < 10 s in front of a 60 ms service), a rate step
// holds only when the server completes what it is sent. The server's
// capacity is set by construction (two workers, 60 ms each: 33.3
// requests/s), so a step that held above it measured the capacity
// itself, and the search must report it within 5% — not a level up to
// twice the capacity whose efficiency stayed above half the first
// step's, and not a rate up to 5% under it.
func TestStressRateMustBeSustained(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 45 s of real load")
	}
	t.Parallel()
	const workers, service = 2, 60 * time.Millisecond
	capacity := float64(workers) / service.Seconds()
	srv, _ := workerServer(t, workers, service, 0, 0, 1<<40) // never degrades
	p := testPlan(srv.URL, &plan.Tests{
		CoolDown: plan.Duration(500 * time.Millisecond),
		Stress: &plan.StressSpec{Variant: "rate", Start: 15, Factor: 2, Max: 1000, Bisect: 8, Precision: 0.05, Budget: plan.Duration(2 * time.Minute),
			Hold: plan.Duration(3 * time.Second), Warmup: plan.Duration(time.Second), P99: plan.Duration(10 * time.Second), Efficiency: 0.5},
		Recovery: &plan.RecoverySpec{Skip: true},
	})
	p.Target.Timeout = plan.Duration(20 * time.Second)
	run, err := Test(context.Background(), p, Options{Only: []string{"stress"}})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Stress
	if s == nil {
		t.Fatalf("no stress section: %+v", run.Phases)
	}
	logCurve(t, s)
	t.Logf("breaking point %.2f (%s: %s), last good %.2f, max sustained %.2f req/s; warnings %q",
		s.BreakingPoint, s.Limit, s.Why, s.LastGood, s.MaxThroughputRPS, s.Warnings)
	if s.Limit != analyze.LimitThroughput {
		t.Fatalf("limit %q, want throughput (the latency limit is far off; the server falls behind the rate)", s.Limit)
	}
	if r := s.MaxThroughputRPS / capacity; r < 0.95 || r > 1.05 {
		t.Errorf("maximum sustained throughput %.2f/s is %.2f× the constructed capacity %.2f/s, want within ±5%%", s.MaxThroughputRPS, r, capacity)
	}
	// Every step that held completed what it was sent (give or take a
	// request at each window's edge); the break is a rate the server
	// completed less than DeliveredShare of.
	for _, pt := range s.Curve {
		if pt.OK && pt.RPS < analyze.DeliveredShare*pt.Offered-1 {
			t.Errorf("the step at %.2f/s held with %.2f/s completed", pt.Load, pt.RPS)
		}
	}
	// The search's steps bound their iterations in flight by default —
	// StressPoolHeadroom times the rate's needs at an iteration of 60 ms
	// and a little more, at least MinStressPool — and stay within it.
	for _, pt := range s.Curve {
		most := max(MinStressPool, int(math.Ceil(StressPoolHeadroom*pt.Load*0.08)))
		if pt.MaxVUs < MinStressPool || pt.MaxVUs > most || pt.VUs > pt.MaxVUs {
			t.Errorf("the step at %.2f/s ran %d VUs within a bound of %d, want a bound from %d to %d", pt.Load, pt.VUs, pt.MaxVUs, MinStressPool, most)
		}
	}
	if s.BreakingPoint < capacity || s.BreakingPoint > 1.15*capacity || s.LastGood > s.BreakingPoint {
		t.Errorf("breaking point %.2f/s, last good %.2f/s: want the break between the capacity %.2f/s and 15%% above it", s.BreakingPoint, s.LastGood, capacity)
	}
}
