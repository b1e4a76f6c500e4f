package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/result"
)

// Run states.
const (
	StateRunning   = "running"   // begun, not finished
	StateFinished  = "finished"  // Finish stored the final Run
	StateRecovered = "recovered" // the writer vanished; Recover closed it
)

// Meta is what is known of a run when it begins.
type Meta struct {
	Plan      string
	PlanHash  string
	Kind      string // "load", "test", "bench"
	Target    string
	StartedAt time.Time // zero: now
	Tags      map[string]string
	Host      *result.Host
	Git       *result.Git
	// Steps names the steps that Window.Steps indexes refer to, so a run
	// recovered after a crash can still name them. Only Scenario, Step and
	// Kind are kept.
	Steps []result.StepResult
	// WriterHost and WriterPID identify the writing process; zero values
	// mean this process on this host.
	WriterHost string
	WriterPID  int
}

var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// newID returns a sortable, readable run id: UTC start time and 32 random
// bits, e.g. 20260102-150405-1a2b3c4d.
func newID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Begin records the start of a run and returns its id. Until Finish, the
// run is "running" and owned by the writer named in m.
func (s *Store) Begin(ctx context.Context, m Meta) (string, error) {
	if m.Kind == "" {
		return "", errors.New("cannot begin a run without a kind")
	}
	if m.StartedAt.IsZero() {
		m.StartedAt = s.now()
	}
	var writerStart int64
	if m.WriterPID == 0 {
		m.WriterPID = os.Getpid()
		writerStart = processStart(m.WriterPID)
	}
	if m.WriterHost == "" {
		m.WriterHost = s.hostname
	}
	skel := &result.Run{
		Version: result.Version, Kind: m.Kind, Plan: m.Plan, PlanHash: m.PlanHash,
		Target: redact.String(m.Target), StartedAt: m.StartedAt, Tags: m.Tags, Host: m.Host, Git: m.Git,
	}
	for _, st := range m.Steps {
		skel.Steps = append(skel.Steps, result.StepResult{Scenario: st.Scenario, Step: st.Step, Kind: st.Kind})
	}
	for attempt := 0; ; attempt++ {
		id := newID(m.StartedAt)
		skel.ID = id
		cols, err := columnsOf(skel, StateRunning)
		if err != nil {
			return "", err
		}
		n, err := s.db.exec(ctx, `INSERT INTO runs (id, plan, plan_hash, kind, phase, started_us, ended_us,
    git_commit, git_branch, host, tags, rps, p50_ms, p95_ms, p99_ms, error_rate, verdict, aborted, doc,
    state, writer_host, writer_pid, writer_start, heartbeat_us)
VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $10, NULL, NULL, NULL, NULL, NULL, '', FALSE, $11,
    $12, $13, $14, $15, $16)
ON CONFLICT (id) DO NOTHING`,
			id, cols.plan, cols.planHash, cols.kind, cols.phase, cols.startedUS,
			cols.gitCommit, cols.gitBranch, cols.host, cols.tags, cols.doc,
			StateRunning, m.WriterHost, int64(m.WriterPID), writerStart, s.now().UnixMicro())
		if err != nil {
			return "", wrapf(err, "cannot record the start of a run in %s", s.location)
		}
		if n == 1 {
			return id, nil
		}
		if attempt == 3 {
			return "", fmt.Errorf("cannot record the start of a run in %s: no free run id", s.location)
		}
	}
}

// AppendWindows stores windows of a running run and refreshes its
// heartbeat; with no windows it is only a heartbeat. Each call is one
// transaction: what it stored survives a crash of the writer.
func (s *Store) AppendWindows(ctx context.Context, id string, ws []result.Window) error {
	docs := make([]string, len(ws))
	for i := range ws {
		b, err := json.Marshal(&ws[i])
		if err != nil {
			return fmt.Errorf("cannot encode window %d of run %s: %w", i, id, err)
		}
		docs[i] = string(b)
	}
	err := s.db.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `UPDATE runs SET heartbeat_us = $1 WHERE id = $2`, s.now().UnixMicro(), id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("run %s: %w", id, ErrNotFound)
		}
		if len(docs) == 0 {
			return nil
		}
		var next int64
		if err := queryRow(ctx, q, `SELECT COALESCE(MAX(seq), 0) FROM run_windows WHERE run_id = $1`, []any{id}, &next); err != nil {
			return err
		}
		for _, d := range docs {
			next++
			if _, err := q.exec(ctx, `INSERT INTO run_windows (run_id, seq, doc) VALUES ($1, $2, $3)`, id, next, d); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapf(err, "cannot store windows of run %s in %s", id, s.location)
}

// Finish stores the final Run of a run begun with Begin, replacing its
// windows (the Run's series holds them). Fields the Run leaves empty (plan,
// kind, host, git, tags, steps) are taken from the Begin record; a Run with
// no series gets the stored windows. run itself is not modified. Finishing
// a run that Recover already closed replaces the recovered document with
// the real one.
func (s *Store) Finish(ctx context.Context, id string, run *result.Run) error {
	if run == nil {
		return errors.New("cannot finish a run without its result")
	}
	err := s.db.tx(ctx, func(q querier) error {
		var docText string
		if err := queryRow(ctx, q, `SELECT doc FROM runs WHERE id = $1`, []any{id}, &docText); err != nil {
			return notFound(err, "run "+id)
		}
		skel, err := result.Decode(bytesReader(docText))
		if err != nil {
			return err
		}
		r := *run
		r.ID = id
		fillFrom(&r, skel)
		if len(r.Series) == 0 {
			ws, unreadable, err := loadWindows(ctx, q, id)
			if err != nil {
				return err
			}
			r.Series = ws
			if unreadable > 0 {
				r.Warnings = append(r.Warnings, unreadableWindows(unreadable))
			}
		}
		return s.update(ctx, q, &r, StateFinished, "")
	})
	return wrapf(err, "cannot store the result of run %s in %s", id, s.location)
}

// Save stores a complete Run in one step (an import, or a run that was not
// written incrementally) and returns its id: run.ID when it is a valid id
// not yet stored, else a new one.
func (s *Store) Save(ctx context.Context, run *result.Run) (string, error) {
	if run == nil {
		return "", errors.New("cannot save a nil run")
	}
	r := *run
	if r.Version == 0 {
		r.Version = result.Version
	}
	if r.Kind == "" {
		return "", errors.New("cannot save a run without a kind")
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 || !validID.MatchString(r.ID) {
			r.ID = newID(r.StartedAt)
		}
		cols, err := columnsOf(&r, StateFinished)
		if err != nil {
			return "", err
		}
		n, err := s.db.exec(ctx, `INSERT INTO runs (id, plan, plan_hash, kind, phase, started_us, ended_us,
    git_commit, git_branch, host, tags, rps, p50_ms, p95_ms, p99_ms, error_rate, verdict, aborted, doc,
    state, writer_host, writer_pid, writer_start, heartbeat_us)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
    $20, '', 0, 0, 0)
ON CONFLICT (id) DO NOTHING`,
			r.ID, cols.plan, cols.planHash, cols.kind, cols.phase, cols.startedUS, cols.endedUS,
			cols.gitCommit, cols.gitBranch, cols.host, cols.tags,
			r.Summary.RPS, r.Summary.Latency.P50, r.Summary.Latency.P95, r.Summary.Latency.P99,
			r.Summary.ErrorRate, string(r.Verdict), r.Aborted, cols.doc, StateFinished)
		if err != nil {
			return "", wrapf(err, "cannot save run in %s", s.location)
		}
		if n == 1 {
			return r.ID, nil
		}
		if attempt == 3 {
			return "", fmt.Errorf("cannot save run in %s: no free run id", s.location)
		}
	}
}

// update rewrites a run's document, its columns and its state, and drops
// its pending windows. A non-empty onlyIf makes it conditional on the
// current state (0 rows then means someone else got there first).
func (s *Store) update(ctx context.Context, q querier, r *result.Run, state, onlyIf string) error {
	cols, err := columnsOf(r, state)
	if err != nil {
		return err
	}
	args := []any{r.ID, cols.plan, cols.planHash, cols.kind, cols.phase, cols.startedUS, cols.endedUS,
		cols.gitCommit, cols.gitBranch, cols.host, cols.tags,
		r.Summary.RPS, r.Summary.Latency.P50, r.Summary.Latency.P95, r.Summary.Latency.P99,
		r.Summary.ErrorRate, string(r.Verdict), r.Aborted, cols.doc, state, s.now().UnixMicro()}
	stmt := `UPDATE runs SET plan = $2, plan_hash = $3, kind = $4, phase = $5, started_us = $6, ended_us = $7,
    git_commit = $8, git_branch = $9, host = $10, tags = $11, rps = $12, p50_ms = $13, p95_ms = $14,
    p99_ms = $15, error_rate = $16, verdict = $17, aborted = $18, doc = $19, state = $20, heartbeat_us = $21
WHERE id = $1`
	if onlyIf != "" {
		stmt += ` AND state = $22`
		args = append(args, onlyIf)
	}
	n, err := q.exec(ctx, stmt, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		if onlyIf != "" {
			return errLost
		}
		return fmt.Errorf("run %s: %w", r.ID, ErrNotFound)
	}
	_, err = q.exec(ctx, `DELETE FROM run_windows WHERE run_id = $1`, r.ID)
	return err
}

// errLost: a conditional update found the run no longer in the expected
// state.
var errLost = errors.New("run changed state")

// columns are the values stored beside the document.
type columns struct {
	plan, planHash, kind, phase string
	startedUS                   int64
	endedUS                     any // int64 or nil
	gitCommit, gitBranch        any // string or nil
	host, tags                  any // JSON text or nil
	doc                         string
}

func columnsOf(r *result.Run, state string) (columns, error) {
	c := columns{plan: r.Plan, planHash: r.PlanHash, kind: r.Kind, startedUS: r.StartedAt.UnixMicro()}
	if len(r.Phases) == 1 {
		c.phase = r.Phases[0].Name
	}
	if !r.EndedAt.IsZero() && state != StateRunning {
		c.endedUS = r.EndedAt.UnixMicro()
	}
	if r.Git != nil {
		c.gitCommit, c.gitBranch = nullString(r.Git.Commit), nullString(r.Git.Branch)
	}
	if r.Host != nil {
		b, err := json.Marshal(r.Host)
		if err != nil {
			return c, err
		}
		c.host = string(b)
	}
	if len(r.Tags) > 0 {
		b, err := json.Marshal(r.Tags)
		if err != nil {
			return c, err
		}
		c.tags = string(b)
	}
	doc := *r
	doc.Target = redact.String(r.Target) // the history never keeps a credential
	b, err := json.Marshal(&doc)
	if err != nil {
		return c, fmt.Errorf("cannot encode run %s: %w", r.ID, err)
	}
	c.doc = string(b)
	return c, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// fillFrom completes r with what Begin recorded and r leaves empty.
func fillFrom(r, skel *result.Run) {
	if r.Version == 0 {
		r.Version = result.Version
	}
	if r.Kind == "" {
		r.Kind = skel.Kind
	}
	if r.Plan == "" {
		r.Plan = skel.Plan
	}
	if r.PlanHash == "" {
		r.PlanHash = skel.PlanHash
	}
	if r.Target == "" {
		r.Target = skel.Target
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = skel.StartedAt
	}
	if r.Tags == nil {
		r.Tags = skel.Tags
	}
	if r.Host == nil {
		r.Host = skel.Host
	}
	if r.Git == nil {
		r.Git = skel.Git
	}
	if len(r.Steps) == 0 {
		r.Steps = skel.Steps
	}
}
