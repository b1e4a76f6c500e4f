package suite

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/plan"
)

// A watcher that is slow to start (a heap profile taking 1.5 s) does not
// make the load's first iterations late: the load starts on the next whole
// second of the watchers' clock, and their points are moved onto the
// load's. Were the schedule delayed, the first 75 iterations would start
// up to 1.5 s late; the bound, half of that, leaves room for a busy
// host's stalls, which are not what is tested.
func TestSlowWatchStartDoesNotDelayTheSchedule(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond) // the target's slowness, not synchronization
		http.Error(w, "no profile here", http.StatusNotFound)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	p := &plan.Plan{
		Name:      "slow watch",
		Target:    plan.Target{BaseURL: srv.URL},
		Scenarios: []*plan.Scenario{{Name: "s", Weight: 1, Steps: []*plan.Step{{Name: "get", Method: "GET", Path: "/"}}}},
		Load:      plan.LoadSpec{Rate: 50, Duration: plan.Duration(2 * time.Second)},
		System:    &plan.System{Pprof: srv.URL + "/debug/pprof"},
	}
	p.ApplyDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	run, err := RunLoad(context.Background(), p, LoadOptions{ProfileDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if run.Summary.Requests < 95 {
		t.Fatalf("%d requests of 100", run.Summary.Requests)
	}
	if lag := run.Summary.StartLag.P99; lag > 750 {
		t.Fatalf("start lag p99 %.1f ms: the watch's start-up delayed the schedule", lag)
	}
	if run.System == nil {
		t.Fatal("no system section")
	}
	for _, pt := range run.System.Timeline {
		if pt.TS < 0 || pt.TS > run.Summary.DurationS+1 {
			t.Fatalf("a watch point at %.3f s lies outside the load (0–%.1f s)", pt.TS, run.Summary.DurationS)
		}
	}
}
