package sql

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/tmpl"
)

// Step is one compiled SQL step. It is immutable and shared by every VU;
// per-VU state lives in the VU's Session.
type Step struct {
	name     string
	db       *database
	dbi      int
	slot     int
	vars     []variable
	stmts    []*statement
	tx       bool // stmts run in a transaction of their own
	begin    bool
	commit   bool
	rollback bool
	iso      string
	mode     any // a pgx.QueryExecMode put before the args, or nil
	timeout  time.Duration
	want     []string // columns to extract …
	into     []string // … into these variables
	check    *tmpl.Check
}

type variable struct {
	name string
	val  *tmpl.Template
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// Compile builds a step from its plan form. dbs holds the plan's
// databases (the step names one); c compiles templates.
func Compile(s *plan.Step, c *tmpl.Compiler, dbs *Databases) (*Step, error) {
	q := s.SQL
	if q == nil {
		return nil, errors.New("not an SQL step")
	}
	dbi, ok := dbs.lookup(q.DB)
	switch {
	case !ok && dbs.failed[q.DB]:
		return nil, ErrDatabase
	case !ok:
		return nil, fmt.Errorf("sql.db: unknown database %q", q.DB)
	}
	db := dbs.dbs[dbi]
	st := &Step{name: s.Name, db: db, dbi: dbi, slot: dbs.opts.Slot, begin: q.Begin, commit: q.Commit,
		rollback: q.Rollback, tx: len(q.Tx) > 0, timeout: s.Timeout.D()}
	if st.timeout <= 0 {
		st.timeout = db.timeout
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case q.Query != "" && len(q.Tx) > 0:
		bad("sql: set query or tx, not both")
	case st.tx && (q.Begin || q.Commit || q.Rollback):
		bad("sql.tx runs in a transaction of its own: begin, commit and rollback do not apply")
	case q.Commit && q.Rollback:
		bad("sql: set commit or rollback, not both")
	case q.Begin && (q.Commit || q.Rollback):
		bad("sql: a step that begins a transaction cannot also end it (use tx for a transaction in one step)")
	case q.Query == "" && !st.tx && !q.Begin && !q.Commit && !q.Rollback:
		bad("sql.query: required (or tx, or begin/commit/rollback)")
	case len(q.Args) > 0 && st.tx:
		bad("sql.args apply to query; in tx statements write the values inline, e.g. WHERE id = {{ id }}")
	}
	switch strings.ToLower(q.Isolation) {
	case "":
	case "read committed", "repeatable read", "serializable":
		st.iso = strings.ToLower(q.Isolation)
		if !st.tx && !q.Begin {
			bad("sql.isolation applies to a step that opens a transaction (tx or begin)")
		}
		if db.driver == SQLite {
			bad("sql.isolation: SQLite transactions are always serializable; leave it out")
		}
	default:
		bad("sql.isolation: unknown level %q (use read committed, repeatable read or serializable)", q.Isolation)
	}
	if q.Prepared != nil {
		switch {
		case db.driver != Postgres && *q.Prepared:
			bad("sql.prepared: true applies to PostgreSQL; %s statements are sent as written (MySQL: add interpolateParams=true to the DSN to save round trips)", db.driver)
		case db.driver == Postgres && *q.Prepared:
			st.mode = pgx.QueryExecModeCacheStatement
		case db.driver == Postgres:
			st.mode = pgx.QueryExecModeExec
		}
	}
	for _, k := range slices.Sorted(maps.Keys(q.Vars)) {
		if !varName.MatchString(k) {
			bad("sql.vars.%s: not a variable name (letters, digits, _ and -, starting with a letter or _)", k)
			continue
		}
		t, err := c.Compile(q.Vars[k])
		if err != nil {
			bad("sql.vars.%s: %w", k, err)
			continue
		}
		st.vars = append(st.vars, variable{name: k, val: t})
	}
	if q.Query != "" {
		stmt, err := compileStatement(q.Query, q.Args, db.dialect, c)
		if err != nil {
			bad("sql.query: %w", err)
		} else {
			st.stmts = append(st.stmts, stmt)
		}
	}
	for i, raw := range q.Tx {
		stmt, err := compileStatement(raw, nil, db.dialect, c)
		if err != nil {
			bad("sql.tx[%d]: %w", i, err)
			continue
		}
		st.stmts = append(st.stmts, stmt)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Extract)) {
		x, err := tmpl.CompileExtractor(s.Extract[k])
		if err != nil {
			bad("extract.%s: %w", k, err)
			continue
		}
		if x.Column() == "" {
			bad("extract.%s: SQL steps extract with column: (the first row's value of that column)", k)
			continue
		}
		st.want = append(st.want, x.Column())
		st.into = append(st.into, k)
	}
	if ch := s.Check; ch != nil {
		if len(ch.Status) > 0 || ch.BodyContains != "" || len(ch.JSON) > 0 {
			bad("check: status, body_contains and json apply to HTTP steps; SQL steps check rows or min_rows")
		}
		k, err := tmpl.CompileCheck(&plan.Check{Rows: ch.Rows, MinRows: ch.MinRows})
		if err != nil {
			bad("check: %w", err)
		}
		st.check = k
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return st, nil
}

// Vars lists the variables the step's templates read that it does not set
// itself: the ones an earlier step must extract (or the plan define).
func (st *Step) Vars() []string {
	own := map[string]bool{}
	var out []string
	for _, v := range st.vars {
		out = append(out, v.val.Vars()...)
	}
	for _, v := range st.vars {
		own[v.name] = true
	}
	for _, s := range st.stmts {
		for _, a := range s.args {
			for _, name := range a.Vars() {
				if !own[name] {
					out = append(out, name)
				}
			}
		}
	}
	return out
}

// Sets lists the variables the step gives values: its vars and its
// extractors.
func (st *Step) Sets() []string {
	var out []string
	for _, v := range st.vars {
		out = append(out, v.name)
	}
	return append(out, st.into...)
}

// Session is one VU's database state: the connection each database's
// open transaction holds between a begin step and its commit or
// rollback, and scratch space reused by every step. It belongs to one VU;
// Close is called once, when the VU ends.
type Session struct {
	dbs    *Databases
	held   []held // by database index
	vals   []string
	args   []any
	out    outcome
	closed bool

	mu      sync.Mutex  // guards active, for Interrupt
	active  conn        // the connection running statements, if any
	stopped atomic.Bool // set by Interrupt: no statement starts after it
}

// errInterrupted ends a step cut short by Interrupt.
var errInterrupted = errors.New("interrupted")

// activate records c as the connection running the step's statements
// (nil when done), so that Interrupt can cut it short. It fails once
// Interrupt was called: checked after the statement deadline is set, so
// that an Interrupt racing with the start of a step is never lost.
func (ss *Session) activate(c conn) error {
	ss.mu.Lock()
	ss.active = c
	ss.mu.Unlock()
	if c != nil && ss.stopped.Load() {
		return errInterrupted
	}
	return nil
}

// Interrupt aborts the statement in flight, if any, and every later one:
// a hard stop. It is safe to call from any goroutine.
func (ss *Session) Interrupt() {
	ss.stopped.Store(true)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.active != nil {
		ss.active.interrupt()
	}
}

var _ load.Interrupter = (*Session)(nil)

// held is a connection kept by an explicit transaction. A transaction
// never outlives the iteration that began it: one left open (a missing
// commit) is rolled back when the VU next uses the database.
type held struct {
	c    conn
	iter int64
}

// Close rolls back open transactions, hands their connections back and,
// for the last session, closes the pools.
func (ss *Session) Close() error {
	if ss.closed {
		return nil
	}
	ss.closed = true
	for i := range ss.held {
		ss.drop(context.Background(), &ss.held[i])
	}
	ss.dbs.release()
	return nil
}

// drop rolls back a held transaction and releases its connection. When
// ctx has ended (a hard stop) it releases at once: the pool discards a
// connection left inside a transaction.
func (ss *Session) drop(ctx context.Context, h *held) {
	if h.c == nil {
		return
	}
	cleanup(ctx, h.c)
	h.c.release()
	h.c = nil
}

// cleanup rolls back c's transaction, if any, on a short fresh deadline.
func cleanup(ctx context.Context, c conn) {
	if !c.inTx() || ctx.Err() != nil {
		return
	}
	c.deadline(time.Now().Add(cleanupTimeout))
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	c.rollback(rctx)
	cancel()
}

// Do runs the step once. See load.Step.
func (st *Step) Do(ctx context.Context, vu *load.VU, s *metrics.Sample) (send, end time.Time) {
	ss := vu.Slots[st.slot].(*Session)
	state, _ := vu.State.(*tmpl.State)
	if state != nil && len(st.vars) > 0 {
		// Every value is drawn before any is set, so the order of vars
		// does not matter.
		ss.vals = ss.vals[:0]
		for _, v := range st.vars {
			ss.vals = append(ss.vals, v.val.String(state))
		}
		for i, v := range st.vars {
			state.Set(v.name, ss.vals[i])
		}
	}
	ss.args = ss.args[:0]
	for _, stmt := range st.stmts {
		if st.mode != nil {
			ss.args = append(ss.args, st.mode)
		}
		for _, a := range stmt.args {
			ss.args = append(ss.args, st.arg(a.String(state)))
		}
	}
	if now, failed := vu.FailMissing(st.name, s); failed {
		return now, now
	}
	ss.out.reset(st.want)
	send = time.Now()
	kind, err := st.run(ctx, vu, ss, s, send)
	end = time.Now()
	s.Rows = metrics.Clamp32(ss.out.rows)
	if err != nil {
		if kind == metrics.KindNone {
			kind = Classify(err)
		}
		s.Kind = kind
		if vu.WantExample(kind) {
			vu.Example(kind, fmt.Sprintf("%s: %s", st.name, scrub(err.Error(), st.db.dsn)))
		}
		return send, end
	}
	if ok, reason := st.check.CheckRows(int(min(ss.out.rows, 1<<31-1))); !ok {
		s.Kind = metrics.KindCheckFailed
		if vu.WantExample(s.Kind) {
			vu.Example(s.Kind, fmt.Sprintf("%s: %s", st.name, reason))
		}
		return send, end
	}
	for i, name := range st.into {
		if !ss.out.found[i] {
			s.Kind = metrics.KindExtractFailed
			if vu.WantExample(s.Kind) {
				vu.Example(s.Kind, fmt.Sprintf("%s: no row with a non-null %q to extract into %q", st.name, st.want[i], name))
			}
			return send, end
		}
		if state != nil {
			state.Set(name, ss.out.vals[i])
		}
	}
	return send, end
}

// arg is the value bound for one parameter. PostgreSQL gets text and
// casts it to the parameter's type; for database/sql drivers an integer
// is sent as one, since SQLite and MySQL accept no text where LIMIT wants
// a number.
func (st *Step) arg(v string) any {
	if st.db.driver != Postgres {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && strconv.FormatInt(n, 10) == v {
			return n
		}
	}
	return v
}

// run acquires a connection (or takes the VU's held one), runs the
// statements and settles the transaction. A non-zero kind overrides the
// classification of err.
func (st *Step) run(ctx context.Context, vu *load.VU, ss *Session, s *metrics.Sample, send time.Time) (metrics.ErrKind, error) {
	h := &ss.held[st.dbi]
	if h.c != nil && h.iter != vu.Iter {
		ss.drop(ctx, h) // left open by an earlier iteration
	}
	if st.begin && h.c != nil {
		return metrics.KindSQL, errors.New("begin: a transaction is already open in this iteration (end it with commit or rollback first)")
	}
	if (st.commit || st.rollback) && h.c == nil {
		return metrics.KindSQL, errors.New("no open transaction to end (its begin step failed or did not run in this iteration)")
	}
	c := h.c
	own := c == nil
	if own {
		p, err := st.db.pool()
		if err != nil {
			return metrics.KindOther, err
		}
		actx, cancel := context.WithTimeout(ctx, st.db.acquire)
		c, err = p.acquire(actx)
		timedOut := ctx.Err() == nil && actx.Err() != nil
		cancel()
		s.PoolWaitUS = metrics.Micros(time.Since(send))
		if err != nil {
			if timedOut {
				if p.full() {
					return metrics.KindPoolExhausted, fmt.Errorf("no free connection in the pool of %d within %s", st.db.size, st.db.acquire)
				}
				return metrics.KindTimeout, fmt.Errorf("no new connection within %s: %w", st.db.acquire, err)
			}
			return metrics.KindNone, err
		}
	}
	// A connection that enforces the statement timeout itself (pgx, by a
	// deadline on its socket) is given a context that cannot end, which
	// spares pgx watching a context for every statement; Interrupt cuts
	// it short on a hard stop. Others get the timeout as a context.
	xctx := context.Background()
	cancel := context.CancelFunc(func() {})
	if !c.deadline(time.Now().Add(st.timeout)) {
		xctx, cancel = context.WithTimeout(ctx, st.timeout)
	}
	err := ss.activate(c)
	if err == nil {
		err = st.exec(ctx, xctx, c, ss, vu, h)
	}
	ss.activate(nil)
	cancel()
	if err != nil && h.c == c {
		// A failed statement ends the held transaction: PostgreSQL
		// refuses anything but a rollback after it anyway.
		h.c = nil
	}
	if h.c == c {
		c.deadline(time.Time{}) // held for the transaction's next step
		return metrics.KindNone, nil
	}
	if err != nil {
		cleanup(ctx, c)
	}
	c.release()
	return metrics.KindNone, err
}

// exec runs the step's work on c. It leaves c held in h after a begin
// and takes it out after a commit or rollback.
func (st *Step) exec(ctx, xctx context.Context, c conn, ss *Session, vu *load.VU, h *held) error {
	if st.begin {
		if err := c.begin(ctx, xctx, st.iso); err != nil {
			return err
		}
		h.c, h.iter = c, vu.Iter
	}
	ownTx := st.tx && !c.inTx() // inside begin…commit a tx step joins the open transaction
	if ownTx {
		if err := c.begin(ctx, xctx, st.iso); err != nil {
			return err
		}
	}
	args := ss.args
	for _, stmt := range st.stmts {
		n := len(stmt.args)
		if st.mode != nil {
			n++
		}
		if err := c.run(xctx, stmt, args[:n], &ss.out); err != nil {
			return err
		}
		args = args[n:]
	}
	switch {
	case ownTx:
		return c.commit(xctx)
	case st.commit, st.rollback:
		h.c = nil // run releases it
		if st.commit {
			return c.commit(xctx)
		}
		return c.rollback(xctx)
	}
	return nil
}
