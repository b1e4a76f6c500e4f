package suite

import (
	"context"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// The points OnSystem hears while a protocol runs are on the protocol's
// clock: each is a point of the finished test's timeline, at the same
// t_s, in order.
func TestProtocolOnSystemOnTheTestClock(t *testing.T) {
	srv, _ := serialServer(t, time.Millisecond, 0, 0)
	p := testPlan(srv.URL, &plan.Tests{Profile: "quick"})
	p.System = &plan.System{Process: &plan.ProcessRef{PID: int32(os.Getpid())}}
	var (
		mu   sync.Mutex
		live []result.SystemPoint
	)
	run, err := Test(context.Background(), p, Options{TimeScale: 0.2, Only: []string{"baseline"},
		OnSystem: func(pt result.SystemPoint) {
			mu.Lock()
			live = append(live, pt)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(live) < 3 || run.System == nil {
		t.Fatalf("%d points heard live, system %v", len(live), run.System != nil)
	}
	for i, pt := range live {
		if i > 0 && pt.TS < live[i-1].TS {
			t.Errorf("point %d at %.3f s after one at %.3f s", i, pt.TS, live[i-1].TS)
		}
		found := false
		for _, q := range run.System.Timeline {
			if math.Abs(q.TS-pt.TS) < 0.002 && q.RSSMB == pt.RSSMB {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("live point %d (t %.3f s, RSS %.1f MB) is not in the test's timeline", i, pt.TS, pt.RSSMB)
		}
	}
}
