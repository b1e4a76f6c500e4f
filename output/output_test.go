package output

import (
	"errors"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
)

// collect is a sink that keeps every update.
type collect struct {
	updates []*Update
	closed  *result.Run
}

func (c *collect) Update(u *Update) error { c.updates = append(c.updates, u); return nil }
func (c *collect) Close(r *result.Run) error {
	c.closed = r
	return nil
}

func snap(start time.Time, req int64, errs map[string]int64, dropped int64) *result.Run {
	st := result.StepResult{Scenario: "s", Step: "get", Kind: "http", Requests: req}
	for k, n := range errs {
		st.Errs = append(st.Errs, result.ErrorCount{Kind: k, Status: 500, Count: n})
	}
	return &result.Run{StartedAt: start, Steps: []result.StepResult{st}, Summary: result.Summary{Dropped: dropped}}
}

// The increments a sink adds up equal the counts of every load, across
// the restart of counts at a new load (a test's next phase), whatever
// the new load's first count is.
func TestFanIncrementsAcrossLoads(t *testing.T) {
	c := &collect{}
	f := NewFan(c)
	t1, t2 := time.Unix(1000, 0), time.Unix(2000, 0)
	loads := []struct {
		start time.Time
		req   []int64
		errs  []int64
		drop  []int64
	}{
		{t1, []int64{10, 25, 40}, []int64{0, 2, 3}, []int64{0, 0, 4}},
		// Its first snapshot counts more than the last of the load before:
		// a test of "fewer than before" would miss the restart.
		{t2, []int64{50, 90}, []int64{1, 1}, []int64{0, 2}},
	}
	var wantReq, wantErr, wantDrop int64
	ts := 0.0
	for _, l := range loads {
		for i := range l.req {
			w := result.Window{TS: ts, VUs: 3, Phase: "load"}
			f.Window(w, snap(l.start, l.req[i], map[string]int64{"http_5xx": l.errs[i]}, l.drop[i]))
			ts++
		}
		wantReq += l.req[len(l.req)-1]
		wantErr += l.errs[len(l.errs)-1]
		wantDrop += l.drop[len(l.drop)-1]
	}
	final := &result.Run{}
	if err := f.Close(final); err != nil {
		t.Fatal(err)
	}
	if c.closed != final {
		t.Fatal("the sink was not closed with the final run")
	}
	var gotReq, gotErr, gotDrop int64
	for _, u := range c.updates {
		for _, r := range u.NewRequests {
			gotReq += r.Count
		}
		for _, e := range u.NewErrors {
			if e.Kind != "http_5xx" {
				t.Fatalf("kind %q", e.Kind)
			}
			gotErr += e.Count
		}
		gotDrop += u.NewDropped
	}
	if gotReq != wantReq || gotErr != wantErr || gotDrop != wantDrop {
		t.Fatalf("increments add to %d requests, %d errors, %d dropped; the loads counted %d, %d, %d",
			gotReq, gotErr, gotDrop, wantReq, wantErr, wantDrop)
	}
	if len(c.updates) != 5 || c.updates[4].Time.Sub(c.updates[0].Time) != 4*time.Second {
		t.Fatalf("%d updates; the last %v after the first", len(c.updates), c.updates[len(c.updates)-1].Time.Sub(c.updates[0].Time))
	}
}

// Past MaxSteps, steps share one label; the label sets stay bounded
// whatever the plan.
func TestFanBoundsSteps(t *testing.T) {
	c := &collect{}
	f := NewFan(c)
	run := &result.Run{StartedAt: time.Unix(1, 0)}
	w := result.Window{}
	for i := range MaxSteps + 50 {
		run.Steps = append(run.Steps, result.StepResult{Scenario: "s", Step: "step", Requests: 1})
		w.Steps = append(w.Steps, result.StepWindow{Index: i, Requests: 1})
	}
	f.Window(w, run)
	if err := f.Close(nil); err != nil {
		t.Fatal(err)
	}
	u := c.updates[0]
	if len(u.Steps) != MaxSteps+1 || u.StepOf(MaxSteps+10).Step != OtherStep {
		t.Fatalf("%d step names; step %d is %q", len(u.Steps), MaxSteps+10, u.StepOf(MaxSteps+10).Step)
	}
	var sum int64
	for _, r := range u.NewRequests {
		if r.Step > MaxSteps {
			t.Fatalf("a count for step %d", r.Step)
		}
		sum += r.Count
	}
	if sum != int64(MaxSteps+50) {
		t.Fatalf("%d requests counted of %d", sum, MaxSteps+50)
	}
}

// blocked is a sink that holds the fan until released.
type blocked struct{ release chan struct{} }

func (b *blocked) Update(*Update) error { <-b.release; return nil }
func (b *blocked) Close(*result.Run) error {
	return errors.New("closed")
}

// A sink that falls behind never blocks the collector: windows beyond
// the queue are counted as lost, and Close says so beside the sink's
// own error.
func TestFanNeverBlocks(t *testing.T) {
	b := &blocked{release: make(chan struct{})}
	f := NewFan(b)
	n := queueLen + 10
	for i := range n {
		f.Window(result.Window{TS: float64(i)}, nil) // returns although nothing is taken
	}
	close(b.release)
	err := f.Close(nil)
	if err == nil {
		t.Fatal("no error")
	}
	f.mu.Lock()
	lost := f.lost
	f.mu.Unlock()
	if lost < int64(n-queueLen-1) || lost > int64(n) {
		t.Fatalf("%d lost of %d with a queue of %d", lost, n, queueLen)
	}
}
