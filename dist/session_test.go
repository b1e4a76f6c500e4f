package dist

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// window is a one-second window of n requests, each of latency lat µs.
func window(t *testing.T, ts float64, n int64, lat int64) result.Window {
	t.Helper()
	h := metrics.NewHist()
	for range n {
		metrics.RecordUS(h, lat)
	}
	enc, err := metrics.Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	return result.Window{TS: ts, Requests: n, Hist: enc, Steps: []result.StepWindow{{Index: 0, Requests: n, Hist: enc}}}
}

// TestSessionInProcess runs a coordinator and two agents in this process
// (runners that emit known windows), so the race detector sees the
// protocol: every window is merged, in order, exactly. The second agent
// joins later than the heartbeat: the first one, waiting, must not count
// its coordinator lost meanwhile.
func TestSessionInProcess(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // guards merged
	var merged []result.Window
	c, err := NewCoordinator(lis, Config{Agents: 2, Version: "v", Token: "t", Wait: 20 * time.Second, Lead: 50 * time.Millisecond, Heartbeat: time.Second,
		OnWindow: func(w result.Window) string {
			mu.Lock()
			merged = append(merged, w)
			mu.Unlock()
			return ""
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	type res struct {
		r   *AgentResult
		err error
	}
	results := make(chan res, 2)
	for i := range 2 {
		go func() {
			if i == 1 {
				time.Sleep(2500 * time.Millisecond) // a late joiner, past the first one's heartbeat
			}
			r, err := RunAgent(ctx, AgentConfig{Coordinator: lis.Addr().String(), Token: "t", Version: "v", Index: i, Wait: 10 * time.Second,
				Prepare: func(job *Job) (Runner, error) {
					return func(ctx context.Context, start time.Time, on func(result.Window)) (*result.Run, error) {
						run := &result.Run{Version: result.Version, Kind: "load", Plan: "p", Segment: job.Segment}
						for s := range 3 {
							w := window(t, float64(s), int64(10*(i+1)), int64(1000*(i+1)))
							on(w)
							run.Series = append(run.Series, w)
						}
						return run, nil
					}, nil
				}})
			results <- res{r, err}
		}()
	}
	out, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if r := <-results; r.err != nil || r.r.Run == nil {
			t.Fatalf("agent: %v", r.err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(merged) != 3 {
		t.Fatalf("%d merged windows, want 3", len(merged))
	}
	for i, w := range merged {
		if w.TS != float64(i) || w.Requests != 30 {
			t.Errorf("window %d: t %v, %d requests; want t %d, 30", i, w.TS, w.Requests, i)
		}
		// 10 requests at 1 ms and 20 at 2 ms: p50 is 2 ms, exactly.
		if w.P50 != 2 || w.Max < 2 {
			t.Errorf("window %d: p50 %v max %v, want 2 ms", i, w.P50, w.Max)
		}
	}
	for _, p := range out.Parts {
		if p.Run == nil || p.Lost || len(p.Windows) != 3 {
			t.Errorf("part %s: run %v, lost %v, %d windows", p.Segment, p.Run != nil, p.Lost, len(p.Windows))
		}
	}
}

// TestMergerLateAndLost: a second is merged once every live agent sent
// it, or once it waited lateWindow, in time order; a dropped agent is no
// longer waited for.
func TestMergerLateAndLost(t *testing.T) {
	t0 := time.Unix(0, 0)
	m := newMerger(2)
	got, _ := m.add(0, window(t, 0, 1, 100), t0)
	if len(got) != 0 {
		t.Fatalf("merged before the second agent's window: %v", got)
	}
	got, _ = m.add(0, window(t, 1, 1, 100), t0)
	if len(got) != 0 {
		t.Fatalf("merged t=1 before t=0")
	}
	got, _ = m.ready(t0.Add(lateWindow), false)
	if len(got) != 2 || got[0].TS != 0 || got[1].TS != 1 {
		t.Fatalf("after the wait: %d windows", len(got))
	}
	if got, _ = m.add(1, window(t, 0, 1, 100), t0.Add(lateWindow)); len(got) != 0 || m.late != 1 {
		t.Errorf("a window after its second was merged: %d merged, late %d", len(got), m.late)
	}
	m.add(0, window(t, 2, 1, 100), t0)
	got, _ = m.drop(1, t0)
	if len(got) != 1 || got[0].TS != 2 {
		t.Errorf("after the other agent was dropped: %v", got)
	}
}

// TestLiveMatchesSummarize: the live merged run's percentiles are those
// of Summarize over the same windows (the one fold of windows).
func TestLiveMatchesSummarize(t *testing.T) {
	l := NewLive("p", "open", []result.StepResult{{Scenario: "s", Step: "get"}}, nil)
	var ws []result.Window
	for i := range 5 {
		w := window(t, float64(i), int64(5+i), int64(300*(i+1)))
		ws = append(ws, w)
		if _, err := l.Add(w); err != nil {
			t.Fatal(err)
		}
	}
	snap, _ := l.Add(window(t, 5, 1, 50))
	ws = append(ws, window(t, 5, 1, 50))
	sp, err := metrics.Summarize(ws)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Summary.Latency != sp.Summary.Latency || snap.Summary.Requests != sp.Summary.Requests {
		t.Errorf("live %+v, Summarize %+v", snap.Summary.Latency, sp.Summary.Latency)
	}
	if snap.Steps[0].Latency != sp.Steps[0].Latency {
		t.Errorf("step: live %+v, Summarize %+v", snap.Steps[0].Latency, sp.Steps[0].Latency)
	}
}

// TestRefusals: a wrong token and another version are refused with one
// line on each side, and the coordinator gives up at its deadline.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, token, version, agentSays, coordSays string
	}{
		{"wrong token", "guess", "v", "refused this agent: wrong token", "wrong token"},
		{"version", "t", "w", "version mismatch: agent is stampede w", "version mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex // guards logs
			var logs []string
			c, err := NewCoordinator(lis, Config{Agents: 1, Version: "v", Token: "t", Wait: 2 * time.Second,
				Logf: func(f string, a ...any) { mu.Lock(); logs = append(logs, fmt.Sprintf(f, a...)); mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			agentErr := make(chan error, 1)
			go func() {
				_, err := RunAgent(context.Background(), AgentConfig{Coordinator: lis.Addr().String(), Token: tc.token, Version: tc.version,
					Index: -1, Wait: 5 * time.Second, Prepare: func(*Job) (Runner, error) { return nil, errors.New("not reached") }})
				agentErr <- err
			}()
			_, err = c.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.coordSays) || strings.Contains(err.Error(), "\n") {
				t.Errorf("coordinator: %v", err)
			}
			if err := <-agentErr; err == nil || !strings.Contains(err.Error(), tc.agentSays) || strings.Contains(err.Error(), "\n") {
				t.Errorf("agent: %v", err)
			}
		})
	}
}

// TestClockSkew: an agent whose clock runs 250 ms ahead is measured so
// (within its round trip), warned about, and starts on the same instant
// as the others: the start it is given, read on its own clock, is 250 ms
// later than theirs.
func TestClockSkew(t *testing.T) {
	const skew = 250 * time.Millisecond
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCoordinator(lis, Config{Agents: 2, Version: "v", Token: "t", Wait: 20 * time.Second, Lead: 200 * time.Millisecond, Heartbeat: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	starts := make([]time.Time, 2) // each agent's start, on the coordinator's clock
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			offset := time.Duration(0)
			if i == 1 {
				offset = skew
			}
			_, err := RunAgent(ctx, AgentConfig{Coordinator: lis.Addr().String(), Token: "t", Version: "v", Index: i, Wait: 10 * time.Second,
				Now: func() time.Time { return time.Now().Add(offset) },
				Prepare: func(job *Job) (Runner, error) {
					return func(ctx context.Context, start time.Time, on func(result.Window)) (*result.Run, error) {
						starts[i] = start.Add(-offset)
						return &result.Run{Version: result.Version, Kind: "load", Plan: "p", Segment: job.Segment}, nil
					}, nil
				}})
			errs <- err
		}()
	}
	out, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("agent: %v", err)
		}
	}
	var skewed *Part
	for i := range out.Parts {
		p := &out.Parts[i]
		if d := (p.Offset - skew).Abs(); d <= p.RTT/2+2*time.Millisecond {
			skewed = p
		} else if p.Offset.Abs() > p.RTT/2+2*time.Millisecond {
			t.Errorf("part %s: offset %v, its clock is the coordinator's", p.Segment, p.Offset)
		}
	}
	if skewed == nil {
		t.Fatalf("no part measured %v ahead: %+v", skew, out.Parts)
	}
	warned := false
	for _, w := range out.Warnings {
		warned = warned || strings.Contains(w, "agent "+skewed.Segment+" ") && strings.Contains(w, "its clock is "+skewed.Offset.Round(time.Millisecond).String()+" off")
	}
	if !warned {
		t.Errorf("no warning of the skew: %q", out.Warnings)
	}
	if d := starts[1].Sub(starts[0]).Abs(); d > 5*time.Millisecond {
		t.Errorf("the agents started %v apart on one clock; want the same instant", d)
	}
}
