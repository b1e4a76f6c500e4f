package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// Recover closes every running run whose writer is gone as an aborted Run
// rebuilt from its stored windows, and returns their ids. A writer on this
// host is gone when its process no longer exists (or the pid now belongs to
// a process started later); a writer on another host is gone when its
// heartbeat is older than Options.StaleAfter. Two processes recovering at
// once close each run once.
func (s *Store) Recover(ctx context.Context) ([]string, error) {
	type cand struct {
		id, host  string
		pid       int64
		start, hb int64
	}
	rs, err := s.db.query(ctx, `SELECT id, writer_host, writer_pid, writer_start, heartbeat_us
FROM runs WHERE state = $1 ORDER BY started_us`, StateRunning)
	if err != nil {
		return nil, err
	}
	var cands []cand
	for rs.Next() {
		var c cand
		if err := rs.Scan(&c.id, &c.host, &c.pid, &c.start, &c.hb); err != nil {
			rs.Close()
			return nil, err
		}
		cands = append(cands, c)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	// One run that cannot be recovered (its stored document unreadable)
	// must not keep every later one running: each is tried, and the
	// failures are returned together.
	var ids []string
	var errs []error
	for _, c := range cands {
		if err := ctx.Err(); err != nil {
			return ids, errors.Join(append(errs, err)...)
		}
		reason, gone := s.writerGone(c.host, int(c.pid), c.start, c.hb)
		if !gone {
			continue
		}
		ok, err := s.recoverOne(ctx, c.id, reason)
		if err != nil {
			errs = append(errs, fmt.Errorf("run %s: %w", c.id, err))
			continue
		}
		if ok {
			ids = append(ids, c.id)
		}
	}
	return ids, errors.Join(errs...)
}

// writerGone decides whether the writer of a running run has stopped, and
// says how it knows.
func (s *Store) writerGone(host string, pid int, start, heartbeatUS int64) (string, bool) {
	if host == s.hostname && pid > 0 {
		if running, known := alive(pid, start); known {
			if running {
				return "", false
			}
			return fmt.Sprintf("its writer (pid %d on %s) ended without finishing it", pid, host), true
		}
	}
	age := s.now().Sub(time.UnixMicro(heartbeatUS))
	if age > s.staleAfter {
		return fmt.Sprintf("its writer on %s stopped writing %s ago", orUnknown(host), age.Round(time.Second)), true
	}
	return "", false
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown host"
	}
	return s
}

func (s *Store) recoverOne(ctx context.Context, id, reason string) (bool, error) {
	recovered := false
	err := s.db.tx(ctx, func(q querier) error {
		skel, state, err := loadDoc(ctx, q, id)
		if err != nil {
			return err
		}
		if state != StateRunning {
			return nil // another process closed it first
		}
		ws, unreadable, err := loadWindows(ctx, q, id)
		if err != nil {
			return err
		}
		r := buildPartial(skel, ws)
		if unreadable > 0 {
			r.Warnings = append(r.Warnings, unreadableWindows(unreadable))
		}
		r.Aborted = true
		r.AbortReason = "recovered: " + reason
		r.Warnings = append(r.Warnings, fmt.Sprintf("run recovered after %s: its summary was rebuilt from %d stored one-second windows", reason, len(ws)))
		switch err := s.update(ctx, q, r, StateRecovered, StateRunning); {
		case errors.Is(err, errLost):
			return nil
		case err != nil:
			return err
		}
		recovered = true
		return nil
	})
	return recovered, err
}

// loadDoc reads a run's stored document and state.
func loadDoc(ctx context.Context, q querier, id string) (*result.Run, string, error) {
	var docText, state string
	if err := queryRow(ctx, q, `SELECT doc, state FROM runs WHERE id = $1`, []any{id}, &docText, &state); err != nil {
		return nil, "", notFound(err, "run "+id)
	}
	r, err := result.Decode(strings.NewReader(docText))
	if err != nil {
		return nil, "", fmt.Errorf("run %s: %w", id, err)
	}
	return r, state, nil
}

// unreadableWindows is the warning of a Run rebuilt without n of its
// stored windows.
func unreadableWindows(n int) string {
	return fmt.Sprintf("%d stored windows could not be read (not a window's JSON) and were left out", n)
}

// loadWindows reads a running run's stored windows in the order appended,
// and counts those it cannot read: a window torn or corrupted on disk
// loses that second, not the run.
func loadWindows(ctx context.Context, q querier, id string) (ws []result.Window, unreadable int, err error) {
	rs, err := q.query(ctx, `SELECT doc FROM run_windows WHERE run_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, 0, err
	}
	defer rs.Close()
	for rs.Next() {
		var d string
		if err := rs.Scan(&d); err != nil {
			return nil, 0, err
		}
		var w result.Window
		if err := json.Unmarshal([]byte(d), &w); err != nil {
			unreadable++
			continue
		}
		ws = append(ws, w)
	}
	return ws, unreadable, rs.Err()
}

// buildPartial makes the Run that a run's stored windows support: the
// Begin record (skel) plus the windows as its series, folded by
// metrics.Summarize into the summary, the steps' counts and percentiles
// and the errors by kind. What cannot be read (a corrupt histogram, a
// step index out of range, a window that starts before the run or later
// than a time can say) becomes a warning. It does not mark the run
// aborted; the caller decides.
func buildPartial(skel *result.Run, ws []result.Window) *result.Run {
	r := *skel
	ws, dropped := inRun(ws)
	r.Series = ws
	r.Steps = append([]result.StepResult(nil), skel.Steps...)
	sp, err := metrics.Summarize(ws)
	r.Warnings = append(r.Warnings, dropped...)
	r.Warnings = append(r.Warnings, warnings(err)...)
	sum := sp.Summary
	// A recovered run lasted from its start to the end of its last
	// window, whatever windows are missing in between.
	sum.DurationS = sp.EndS
	sum.RPS = 0
	if sum.DurationS > 0 {
		sum.RPS = float64(sum.Requests) / sum.DurationS
	}
	if sum.Hist == "" && sum.Requests > 0 && sp.HistErr == nil {
		r.Warnings = append(r.Warnings, "latency percentiles unavailable: the stored windows carry no histograms")
	}
	for _, st := range sp.Steps {
		for len(r.Steps) <= st.Index {
			r.Steps = append(r.Steps, result.StepResult{Step: fmt.Sprintf("step %d", len(r.Steps))})
		}
		m := &r.Steps[st.Index]
		m.Requests += st.Requests
		m.Errors += st.Errors
		if st.Hist != "" {
			m.Latency, m.Hist = st.Latency, st.Hist
		}
	}
	if sum.DurationS > 0 {
		for i := range r.Steps {
			r.Steps[i].RPS = float64(r.Steps[i].Requests) / sum.DurationS
		}
	}
	r.Errors = append(append([]result.ErrorCount(nil), skel.Errors...), sp.Errors...)
	r.Summary = sum
	if !r.StartedAt.IsZero() {
		r.EndedAt = r.StartedAt.Add(time.Duration(sum.DurationS * float64(time.Second)))
	}
	return &r
}

// maxWindowS is the latest start of a window that a run's end, its start
// plus the last window's end, can be computed from: a time.Duration holds
// some 292 years.
var maxWindowS = math.Floor(time.Duration(math.MaxInt64).Seconds()) - 1

// inRun returns the windows that start within a run, and a warning for
// each run of windows left out: one starting before the run or too late
// for the run's end to be a time is corrupt, and would make the run end
// before it began or its document fail to encode.
func inRun(ws []result.Window) ([]result.Window, []string) {
	var bad []string
	kept := ws[:0:0]
	for _, w := range ws {
		if w.TS >= 0 && w.TS <= maxWindowS {
			kept = append(kept, w)
			continue
		}
		if len(bad) < 3 {
			bad = append(bad, fmt.Sprintf("stored window at %gs lies outside the run: left out", w.TS))
		}
	}
	if len(kept) == len(ws) {
		return ws, nil
	}
	if n := len(ws) - len(kept); n > len(bad) {
		bad = append(bad, fmt.Sprintf("%d stored windows lie outside the run in all: left out", n))
	}
	return kept, bad
}

// warnings lists the problems of a joined error, one line each.
func warnings(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}
