package suite

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/plan"
)

// TestBaselineLevelsRampAndPause: each baseline level ramps up on its
// own — the 8-user level over 4 s, so its first second has at most a
// quarter of its users and the ramp reaches all 8 — and the target
// rests for the pause between levels (the injected sleep sees exactly
// that pause, once, and the progress says so).
func TestBaselineLevelsRampAndPause(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	p := testPlan(srv.URL, &plan.Tests{
		Baseline: &plan.BaselineSpec{Levels: []int{1, 8}, Duration: plan.Duration(time.Second),
			RampUp: []plan.Duration{0, plan.Duration(4 * time.Second)}, Pause: plan.Duration(3 * time.Second)},
	})
	var mu sync.Mutex
	var slept []time.Duration
	var details []string
	run, err := Test(context.Background(), p, Options{Only: []string{"baseline"},
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			return nil
		},
		Progress: func(pg Progress) {
			if pg.Window == nil {
				details = append(details, pg.Phase+": "+pg.Detail)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if got := phaseNames(run.Phases); !slices.Equal(got, []string{"baseline-1", "baseline-8"}) {
		t.Fatalf("phases %v", got)
	}
	if !slices.Equal(slept, []time.Duration{3 * time.Second}) {
		t.Errorf("slept %v, want the 3s pause once, between the levels", slept)
	}
	if !slices.Contains(details, "baseline-8: pause 3s") {
		t.Errorf("progress %q does not announce the pause", details)
	}
	top := run.Phases[1]
	var vus []int
	for _, w := range top.Series {
		vus = append(vus, w.VUs)
	}
	for len(vus) > 0 && vus[len(vus)-1] == 0 {
		vus = vus[:len(vus)-1] // the users stopped before the last window closed
	}
	t.Logf("baseline-8 VUs by window: %v", vus)
	// A linear ramp of 8 users over 4 s has 8·t/4 of them at t: at most
	// 2 by the end of the first window (one more for rounding), all 8 by
	// the end, never fewer than before until all 8 run (the window in
	// which they stop counts fewer).
	top8 := slices.Index(vus, 8)
	if top8 < 3 || vus[0] > 3 || !slices.IsSorted(vus[:top8+1]) {
		t.Errorf("baseline-8 VUs %v: want a ramp from ≤ 3 to 8 over 4 or more windows", vus)
	}
	for _, w := range run.Phases[0].Series {
		if w.VUs > 1 {
			t.Errorf("baseline-1 window at %.0f s has %d VUs: a level of one user has no ramp", w.TS, w.VUs)
		}
	}
}
