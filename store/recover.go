package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
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
	var ids []string
	for _, c := range cands {
		reason, gone := s.writerGone(c.host, int(c.pid), c.start, c.hb)
		if !gone {
			continue
		}
		ok, err := s.recoverOne(ctx, c.id, reason)
		if err != nil {
			return ids, fmt.Errorf("run %s: %w", c.id, err)
		}
		if ok {
			ids = append(ids, c.id)
		}
	}
	return ids, nil
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
		ws, err := loadWindows(ctx, q, id)
		if err != nil {
			return err
		}
		r := buildPartial(skel, ws)
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

// loadWindows reads a running run's stored windows in the order appended.
func loadWindows(ctx context.Context, q querier, id string) ([]result.Window, error) {
	rs, err := q.query(ctx, `SELECT doc FROM run_windows WHERE run_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var ws []result.Window
	for rs.Next() {
		var d string
		if err := rs.Scan(&d); err != nil {
			return nil, err
		}
		var w result.Window
		if err := json.Unmarshal([]byte(d), &w); err != nil {
			return nil, fmt.Errorf("stored window of run %s: %w", id, err)
		}
		ws = append(ws, w)
	}
	return ws, rs.Err()
}

// windowS is the length of one window.
const windowS = 1.0

// buildPartial makes the Run that a run's stored windows support: the
// Begin record (skel) plus the windows as its series, the counts summed,
// and the percentiles read from the merge of the windows' histograms. It
// does not mark the run aborted; the caller decides.
func buildPartial(skel *result.Run, ws []result.Window) *result.Run {
	r := *skel
	r.Series = ws
	r.Steps = append([]result.StepResult(nil), skel.Steps...)
	var (
		sum      result.Summary
		hists    []string
		lastEnd  float64
		errKinds = map[string]int64{}
		stepH    = map[int][]string{}
	)
	for _, w := range ws {
		sum.Requests += w.Requests
		sum.Errors += w.Errors
		if w.VUs > sum.MaxVUs {
			sum.MaxVUs = w.VUs
		}
		if end := w.TS + windowS; end > lastEnd {
			lastEnd = end
		}
		if w.Hist != "" {
			hists = append(hists, w.Hist)
		}
		for k, n := range w.ErrKinds {
			errKinds[k] += n
		}
		for _, sw := range w.Steps {
			if sw.Index < 0 || sw.Index > 10_000 {
				r.Warnings = append(r.Warnings, fmt.Sprintf("window at %gs names step %d, which does not exist", w.TS, sw.Index))
				continue
			}
			for len(r.Steps) <= sw.Index {
				r.Steps = append(r.Steps, result.StepResult{Step: fmt.Sprintf("step %d", len(r.Steps))})
			}
			st := &r.Steps[sw.Index]
			st.Requests += sw.Requests
			st.Errors += sw.Errors
			if sw.Hist != "" {
				stepH[sw.Index] = append(stepH[sw.Index], sw.Hist)
			}
		}
	}
	sum.DurationS = lastEnd
	if sum.DurationS > 0 {
		sum.RPS = float64(sum.Requests) / sum.DurationS
	}
	if sum.Requests > 0 {
		sum.ErrorRate = float64(sum.Errors) / float64(sum.Requests)
	}
	if h, err := metrics.MergeEncoded(hists...); err != nil {
		r.Warnings = append(r.Warnings, "latency percentiles unavailable: "+err.Error())
	} else if h.TotalCount() > 0 {
		sum.Latency = metrics.Percentiles(h)
		sum.Hist = metrics.Encode(h)
	} else if sum.Requests > 0 {
		r.Warnings = append(r.Warnings, "latency percentiles unavailable: the stored windows carry no histograms")
	}
	for i := range r.Steps {
		st := &r.Steps[i]
		if sum.DurationS > 0 {
			st.RPS = float64(st.Requests) / sum.DurationS
		}
		h, err := metrics.MergeEncoded(stepH[i]...)
		if err != nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("step %s/%s: latency percentiles unavailable: %v", st.Scenario, st.Step, err))
			continue
		}
		if h.TotalCount() > 0 {
			st.Latency = metrics.Percentiles(h)
			st.Hist = metrics.Encode(h)
		}
	}
	for k, n := range errKinds {
		r.Errors = append(r.Errors, result.ErrorCount{Kind: k, Count: n})
	}
	sort.Slice(r.Errors, func(i, j int) bool {
		if r.Errors[i].Count != r.Errors[j].Count {
			return r.Errors[i].Count > r.Errors[j].Count
		}
		return r.Errors[i].Kind < r.Errors[j].Kind
	})
	r.Summary = sum
	if !r.StartedAt.IsZero() {
		r.EndedAt = r.StartedAt.Add(time.Duration(sum.DurationS * float64(time.Second)))
	}
	return &r
}
