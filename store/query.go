package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/stampede-perf/stampede/result"
)

// Entry is one run as the history lists it: the columns kept beside the
// document. Metrics are zero while a run is still running.
type Entry struct {
	ID        string
	Plan      string
	PlanHash  string
	Kind      string
	Phase     string // the run's only phase, when it had exactly one
	StartedAt time.Time
	EndedAt   time.Time // zero while running
	State     string    // StateRunning, StateFinished or StateRecovered
	RPS       float64
	P50       float64 // ms
	P95       float64 // ms
	P99       float64 // ms
	ErrorRate float64 // 0..1
	Verdict   string
	Aborted   bool
	Git       *result.Git
	Tags      map[string]string
}

// Filter selects history entries. Empty fields match everything.
type Filter struct {
	Plan   string
	Kind   string
	Limit  int       // 0: no limit
	Before time.Time // only runs started strictly before, when set
}

const entryColumns = `id, plan, plan_hash, kind, phase, started_us, ended_us, state, rps, p50_ms, p95_ms,
    p99_ms, error_rate, verdict, aborted, git_commit, git_branch, tags`

func scanEntry(rs rows) (Entry, error) {
	var (
		e                           Entry
		started                     int64
		ended                       sql.NullInt64
		rps, p50, p95, p99, errRate sql.NullFloat64
		commit, branch, tags        sql.NullString
	)
	if err := rs.Scan(&e.ID, &e.Plan, &e.PlanHash, &e.Kind, &e.Phase, &started, &ended, &e.State,
		&rps, &p50, &p95, &p99, &errRate, &e.Verdict, &e.Aborted, &commit, &branch, &tags); err != nil {
		return e, err
	}
	e.StartedAt = time.UnixMicro(started).UTC()
	if ended.Valid {
		e.EndedAt = time.UnixMicro(ended.Int64).UTC()
	}
	e.RPS, e.P50, e.P95, e.P99, e.ErrorRate = rps.Float64, p50.Float64, p95.Float64, p99.Float64, errRate.Float64
	if commit.Valid || branch.Valid {
		e.Git = &result.Git{Commit: commit.String, Branch: branch.String}
	}
	if tags.Valid && tags.String != "" {
		if err := json.Unmarshal([]byte(tags.String), &e.Tags); err != nil {
			return e, fmt.Errorf("tags of run %s: %w", e.ID, err)
		}
	}
	return e, nil
}

func (s *Store) entries(ctx context.Context, where string, args []any, tail string) ([]Entry, error) {
	q := `SELECT ` + entryColumns + ` FROM runs`
	if where != "" {
		q += ` WHERE ` + where
	}
	q += ` ` + tail
	rs, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, wrapf(err, "cannot read run history %s", s.location)
	}
	defer rs.Close()
	var out []Entry
	for rs.Next() {
		e, err := scanEntry(rs)
		if err != nil {
			return nil, wrapf(err, "cannot read run history %s", s.location)
		}
		out = append(out, e)
	}
	return out, wrapf(rs.Err(), "cannot read run history %s", s.location)
}

// List returns the runs that f selects, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Entry, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.Plan != "" {
		add("plan = $%d", f.Plan)
	}
	if f.Kind != "" {
		add("kind = $%d", f.Kind)
	}
	if !f.Before.IsZero() {
		add("started_us < $%d", f.Before.UnixMicro())
	}
	tail := `ORDER BY started_us DESC, id DESC`
	if f.Limit > 0 {
		tail += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	return s.entries(ctx, strings.Join(conds, " AND "), args, tail)
}

// Entry returns the history entry of one run.
func (s *Store) Entry(ctx context.Context, id string) (Entry, error) {
	es, err := s.entries(ctx, `id = $1`, []any{id}, "")
	if err != nil {
		return Entry{}, err
	}
	if len(es) == 0 {
		return Entry{}, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	return es[0], nil
}

// Get returns the Run document of a run. A run still in progress comes
// back as what its stored windows support so far, with a warning saying so.
func (s *Store) Get(ctx context.Context, id string) (*result.Run, error) {
	var (
		r   *result.Run
		err error
	)
	err = s.db.tx(ctx, func(q querier) error {
		skel, state, err := loadDoc(ctx, q, id)
		if err != nil {
			return err
		}
		if state != StateRunning {
			r = skel
			r.ID = id
			return nil
		}
		ws, unreadable, err := loadWindows(ctx, q, id)
		if err != nil {
			return err
		}
		r = buildPartial(skel, ws)
		if unreadable > 0 {
			r.Warnings = append(r.Warnings, unreadableWindows(unreadable))
		}
		r.Warnings = append(r.Warnings, "run still in progress: this is what its first windows show")
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, wrapf(err, "cannot read run %s from %s", id, s.location)
	}
	return r, nil
}

// SetBaseline makes run id the baseline of plan. The run must belong to
// plan and be complete: neither running nor aborted.
func (s *Store) SetBaseline(ctx context.Context, plan, id string) error {
	err := s.db.tx(ctx, func(q querier) error {
		var runPlan, state string
		var aborted bool
		if err := queryRow(ctx, q, `SELECT plan, state, aborted FROM runs WHERE id = $1`, []any{id}, &runPlan, &state, &aborted); err != nil {
			return notFound(err, "run "+id)
		}
		switch {
		case runPlan != plan:
			return fmt.Errorf("run %s is of plan %q, not %q: %w", id, runPlan, plan, ErrPlanMismatch)
		case state == StateRunning:
			return fmt.Errorf("run %s is still running: %w", id, ErrNotComplete)
		case aborted:
			return fmt.Errorf("run %s was aborted: %w", id, ErrNotComplete)
		}
		_, err := q.exec(ctx, `INSERT INTO baselines (plan, run_id, set_us) VALUES ($1, $2, $3)
ON CONFLICT (plan) DO UPDATE SET run_id = excluded.run_id, set_us = excluded.set_us`, plan, id, s.now().UnixMicro())
		return err
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotComplete) || errors.Is(err, ErrPlanMismatch) {
		return err
	}
	return wrapf(err, "cannot set the baseline of plan %q in %s", plan, s.location)
}

// Baseline returns the id of plan's baseline run.
func (s *Store) Baseline(ctx context.Context, plan string) (string, error) {
	var id string
	if err := queryRow(ctx, s.db, `SELECT run_id FROM baselines WHERE plan = $1`, []any{plan}, &id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("no baseline for plan %q: %w", plan, ErrNotFound)
		}
		return "", wrapf(err, "cannot read baselines from %s", s.location)
	}
	return id, nil
}

// Baselines returns the baseline run of every plan that has one, by plan.
func (s *Store) Baselines(ctx context.Context) ([]Entry, error) {
	return s.entries(ctx, `id IN (SELECT run_id FROM baselines)`, nil, `ORDER BY plan, id`)
}

// Latest returns the id of the newest run of plan that is not still
// running ("" plan: of any plan).
func (s *Store) Latest(ctx context.Context, plan string) (string, error) {
	where, args := `state <> $1`, []any{StateRunning}
	if plan != "" {
		where += ` AND plan = $2`
		args = append(args, plan)
	}
	es, err := s.entries(ctx, where, args, `ORDER BY started_us DESC, id DESC LIMIT 1`)
	if err != nil {
		return "", err
	}
	if len(es) == 0 {
		if plan == "" {
			return "", fmt.Errorf("no runs in %s: %w", s.location, ErrNotFound)
		}
		return "", fmt.Errorf("no runs of plan %q in %s: %w", plan, s.location, ErrNotFound)
	}
	return es[0].ID, nil
}

// Plans returns the name of every plan with a run in the history, sorted.
func (s *Store) Plans(ctx context.Context) ([]string, error) {
	rs, err := s.db.query(ctx, `SELECT DISTINCT plan FROM runs ORDER BY plan`)
	if err != nil {
		return nil, wrapf(err, "cannot read run history %s", s.location)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var p string
		if err := rs.Scan(&p); err != nil {
			return nil, wrapf(err, "cannot read run history %s", s.location)
		}
		out = append(out, p)
	}
	return out, wrapf(rs.Err(), "cannot read run history %s", s.location)
}

// PlanName finds the plan of the history that name means: the plan of
// that exact name; else the one whose name matches it ignoring case;
// else the only one whose name begins with it, ignoring case; else the
// only one with a word that does ("shop" finds "Demo shop, standard
// mix"). When nothing matches, or several plans do, the error lists the
// candidates (ErrNotFound, ErrAmbiguousPlan).
func (s *Store) PlanName(ctx context.Context, name string) (string, error) {
	plans, err := s.Plans(ctx)
	if err != nil {
		return "", err
	}
	got, candidates := MatchPlan(plans, name)
	switch {
	case got != "":
		return got, nil
	case len(candidates) > 1:
		return "", fmt.Errorf("plan %q matches %d plans in %s: %s: %w", name, len(candidates), s.location, quoteList(candidates), ErrAmbiguousPlan)
	case len(plans) == 0:
		return "", fmt.Errorf("no runs of plan %q in %s: the history has no runs: %w", name, s.location, ErrNotFound)
	}
	return "", fmt.Errorf("no runs of plan %q in %s; known plans: %s: %w", name, s.location, quoteList(plans), ErrNotFound)
}

// ErrAmbiguousPlan: a plan name given by prefix matches several plans.
var ErrAmbiguousPlan = errors.New("ambiguous plan name")

// MatchPlan picks the plan of plans that name means (see PlanName):
// the match, or "" and the plans that matched equally well when there
// were several (none: nothing matched).
func MatchPlan(plans []string, name string) (string, []string) {
	want := strings.ToLower(strings.TrimSpace(name))
	if want == "" {
		return "", nil
	}
	tests := []func(p string) bool{
		func(p string) bool { return p == name },
		func(p string) bool { return strings.ToLower(p) == want },
		func(p string) bool { return strings.HasPrefix(strings.ToLower(p), want) },
		func(p string) bool {
			return slices.ContainsFunc(planWords(p), func(w string) bool { return strings.HasPrefix(w, want) })
		},
	}
	for _, match := range tests {
		var hits []string
		for _, p := range plans {
			if match(p) {
				hits = append(hits, p)
			}
		}
		switch len(hits) {
		case 0:
			continue
		case 1:
			return hits[0], nil
		default:
			return "", hits
		}
	}
	return "", nil
}

// planWords are a plan name's words, lower case, from the first letter
// or digit of each run of them: "Demo shop, standard mix" → demo, shop,
// standard mix, mix (each word to the end of the name, so a query of
// several words matches too).
func planWords(p string) []string {
	lower := strings.ToLower(p)
	var out []string
	prev := ' '
	for i, r := range lower {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		if word && !(unicode.IsLetter(prev) || unicode.IsDigit(prev)) {
			out = append(out, lower[i:])
		}
		prev = r
	}
	return out
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// Resolve finds the Run a reference names:
//
//	latest           the newest run (not still running)
//	latest:PLAN      the newest run of PLAN (a plan name as PlanName takes it)
//	baseline         the baseline of the newest run's plan
//	baseline:PLAN    the baseline of PLAN
//	ID               a stored run
//	PATH             a Run JSON file
func (s *Store) Resolve(ctx context.Context, ref string) (*result.Run, error) {
	kw, plan, hasPlan := strings.Cut(ref, ":")
	if (kw == "latest" || kw == "baseline") && plan != "" {
		name, err := s.PlanName(ctx, plan)
		if err != nil {
			return nil, err
		}
		plan = name
	}
	switch kw {
	case "latest":
		id, err := s.Latest(ctx, plan)
		if err != nil {
			return nil, err
		}
		return s.Get(ctx, id)
	case "baseline":
		if !hasPlan {
			id, err := s.Latest(ctx, "")
			if err != nil {
				return nil, err
			}
			e, err := s.Entry(ctx, id)
			if err != nil {
				return nil, err
			}
			plan = e.Plan
		}
		id, err := s.Baseline(ctx, plan)
		if err != nil {
			return nil, err
		}
		return s.Get(ctx, id)
	}
	r, err := s.Get(ctx, ref)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return r, err
	}
	if fi, statErr := os.Stat(ref); statErr == nil && !fi.IsDir() {
		return result.ReadFile(ref)
	}
	return nil, fmt.Errorf("%q is neither a run in %s nor a file: %w", ref, s.location, ErrNotFound)
}

// notFound turns "no row" into ErrNotFound about what.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}

func bytesReader(s string) io.Reader { return strings.NewReader(s) }
