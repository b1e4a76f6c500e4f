package ws_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/proto"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

// Both load models run a WebSocket conversation per iteration through the
// real engine: every iteration connects, round-trips and closes, and the
// Run counts the messages.
func TestModelsRunConversations(t *testing.T) {
	base := startShop(t)
	for _, load := range []string{"{vus: 3, iterations: 30, duration: 30s}", "{rate: 20, duration: 1s, max_vus: 10}"} {
		t.Run(load, func(t *testing.T) {
			r := runEngine(t, `target: {base_url: `+base+`}
load: `+load+`
scenarios:
  - name: live
    steps:
      - ws: {connect: /ws/stock}
      - name: subscribe
        ws: {send: '{"subscribe": {{ random_int(1, 20) }}}', expect: {json: [{path: type, equals: stock}]}}
`)
			var conn, sub *result.StepResult
			for i := range r.Steps {
				switch r.Steps[i].Step {
				case "subscribe":
					sub = &r.Steps[i]
				default:
					conn = &r.Steps[i]
				}
			}
			if conn == nil || sub == nil || conn.Kind != "ws" {
				t.Fatalf("steps %+v", r.Steps)
			}
			if conn.Errors+sub.Errors != 0 {
				t.Fatalf("errors: %+v", r.Errors)
			}
			if sub.Requests < 10 || sub.MessagesOut != sub.Requests || sub.MessagesIn < sub.Requests {
				t.Errorf("subscribe: %d round trips, %d messages out, %d in", sub.Requests, sub.MessagesOut, sub.MessagesIn)
			}
			if sub.Latency.P50 <= 0 || conn.Phases.Connect <= 0 {
				t.Errorf("round trip p50 %v ms, connect %v ms", sub.Latency.P50, conn.Phases.Connect)
			}
		})
	}
}

func runEngine(t *testing.T, doc string) *result.Run {
	t.Helper()
	p, err := plan.Parse("t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	test, layout, err := proto.Compile(p, proto.Options{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	eng := load.New(test, load.Options{
		Model: result.Model(p.Load.Model), Levels: suite.Levels(p.Load), Iterations: p.Load.Iterations,
		MaxVUs: p.Load.MaxVUs, PreVUs: p.Load.PreVUs, GracefulStop: 10 * time.Second, Seed: 1,
	})
	r := &result.Run{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := eng.Run(ctx, layout, r); err != nil {
		t.Fatalf("run: %v", err)
	}
	if r.Aborted {
		t.Fatalf("aborted: %s", strings.Join([]string{r.AbortReason}, ""))
	}
	return r
}
