package sql

import (
	"context"
	stdsql "database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"
	"modernc.org/sqlite"

	"github.com/stampede-perf/stampede/plan"
)

// Defaults for what a database declaration leaves out.
const (
	// DefaultMaxPool caps the default pool size (one connection per VU):
	// PostgreSQL's own default max_connections is 100.
	DefaultMaxPool = 100
	// cleanupTimeout bounds a rollback made to hand a connection back
	// clean after a failure.
	cleanupTimeout = 5 * time.Second
)

// Options are what every SQL step of a plan shares.
type Options struct {
	// Getenv expands ${NAME} in DSNs.
	Getenv func(string) string
	// Slot is the index of the VU slot holding the VU's Session.
	Slot int
	// Timeout is the statement timeout of databases and steps that set
	// none (the plan's target.timeout).
	Timeout time.Duration
	// VUs is the most VUs the run will have: the default pool size, up
	// to DefaultMaxPool.
	VUs int
}

// Databases are a plan's declared databases. Each is a connection pool
// opened when a VU first uses it; all are closed when the last Session
// is closed, so a compiled plan that never runs opens nothing, and a run
// leaves no connection behind. Declare is not safe for concurrent use;
// everything else is.
type Databases struct {
	opts   Options
	dbs    []*database
	index  map[string]int
	failed map[string]bool // declared, but Declare reported a problem

	mu   sync.Mutex // guards refs and the opening and closing of pools
	refs int        // live sessions
}

// database is one declared database and, once opened, its pool.
type database struct {
	name     string
	driver   string
	dsn      string // expanded; never printed
	size     int
	minSize  int
	timeout  time.Duration // statement timeout
	acquire  time.Duration // wait for a pool connection
	dialect  dialect
	pgConfig *pgxpool.Config
	stdConn  driver.Connector

	mu   sync.Mutex          // serializes opening; see Databases.mu for closing
	open atomic.Pointer[dbh] // the open pool, nil until first use
}

// dbh holds an open pool behind an atomic pointer.
type dbh struct{ p pool }

// pool is an open connection pool of one driver family.
type pool interface {
	acquire(ctx context.Context) (conn, error)
	// full reports whether every connection the pool may have is in use:
	// an acquire that timed out then waited for the pool, not the
	// network.
	full() bool
	close()
}

// conn is one connection taken from a pool, with at most one open
// transaction. It is used by one VU at a time.
type conn interface {
	// run executes st with args, adding its row count to out and taking
	// the columns out wants from its first row.
	run(ctx context.Context, st *statement, args []any, out *outcome) error
	// begin opens a transaction; txCtx lives as long as the transaction
	// may (database/sql ends a transaction when its context ends), ctx
	// bounds the BEGIN itself.
	begin(txCtx, ctx context.Context, iso string) error
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
	inTx() bool
	// deadline makes statements on the connection fail at t (zero: no
	// limit) and reports whether the connection can; one that cannot
	// takes its timeout from the context.
	deadline(t time.Time) bool
	// interrupt fails the statement in flight now; called from another
	// goroutine. A connection without deadlines ignores it (its context
	// ends instead).
	interrupt()
	release()
}

// NewDatabases returns an empty set; Declare adds to it.
func NewDatabases(o Options) *Databases {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	return &Databases{opts: o, index: map[string]int{}, failed: map[string]bool{}}
}

// ErrDatabase is returned by Compile for a step whose database Declare
// rejected: the problem has been reported once, by Declare.
var ErrDatabase = errors.New("the step's database was declared with a problem")

// Declare checks and adds one database: its driver, its DSN (with ${NAME}
// expanded; the DSN is parsed here, but nothing connects) and its pool
// settings. Errors never quote the DSN.
func (d *Databases) Declare(name string, def *plan.Database) error {
	err := d.declare(name, def)
	if err != nil {
		d.failed[name] = true
	}
	return err
}

func (d *Databases) declare(name string, def *plan.Database) error {
	if def == nil {
		return errors.New("empty database: set dsn")
	}
	db := &database{name: name, driver: def.Driver, size: def.Pool, minSize: def.MinPool,
		timeout: def.Timeout.D(), acquire: def.AcquireTimeout.D()}
	if db.driver == "" {
		db.driver = Postgres
	}
	dsn, err := plan.ExpandDSN(def.DSN, d.opts.Getenv)
	if err != nil {
		return err
	}
	db.dsn = dsn
	if db.size < 0 || db.minSize < 0 || db.timeout < 0 || db.acquire < 0 {
		return errors.New("pool, min_pool, timeout and acquire_timeout must not be negative")
	}
	if db.size == 0 {
		db.size = min(max(d.opts.VUs, 1), DefaultMaxPool)
	}
	if db.minSize > db.size {
		return fmt.Errorf("min_pool %d is more than pool %d", db.minSize, db.size)
	}
	if db.timeout == 0 {
		db.timeout = d.opts.Timeout
	}
	if db.acquire == 0 {
		db.acquire = db.timeout
	}
	switch db.driver {
	case Postgres:
		db.dialect = postgresDialect
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return fmt.Errorf("cannot parse the PostgreSQL DSN: %s", scrub(err.Error(), dsn))
		}
		cfg.MaxConns, cfg.MinConns = int32(db.size), int32(db.minSize)
		db.pgConfig = cfg
	case MySQL:
		db.dialect = mysqlDialect
		native, err := mysqlDSN(dsn)
		if err != nil {
			return err
		}
		cfg, err := mysql.ParseDSN(native)
		if err != nil {
			return fmt.Errorf("cannot parse the MySQL DSN: %s", scrub(err.Error(), dsn))
		}
		if db.stdConn, err = mysql.NewConnector(cfg); err != nil {
			return fmt.Errorf("cannot use the MySQL DSN: %s", scrub(err.Error(), dsn))
		}
	case SQLite:
		db.dialect = sqliteDialect
		c, err := sqlite.NewConnector(sqliteDSN(dsn))
		if err != nil {
			return fmt.Errorf("cannot parse the SQLite DSN: %s", scrub(err.Error(), dsn))
		}
		db.stdConn = c
	default:
		return fmt.Errorf("unknown driver %q (use postgres, mysql or sqlite)", db.driver)
	}
	if _, dup := d.index[name]; dup {
		return fmt.Errorf("database %q declared twice", name)
	}
	d.index[name] = len(d.dbs)
	d.dbs = append(d.dbs, db)
	return nil
}

// lookup returns the index of a declared database.
func (d *Databases) lookup(name string) (int, bool) {
	i, ok := d.index[name]
	return i, ok
}

// NewSession returns one VU's database state; the VU closes it when it
// ends (it is an io.Closer in the VU's slots).
func (d *Databases) NewSession() *Session {
	d.mu.Lock()
	d.refs++
	d.mu.Unlock()
	return &Session{dbs: d, held: make([]held, len(d.dbs))}
}

// release forgets a session; the last one closes the pools.
func (d *Databases) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refs--
	if d.refs == 0 {
		d.closeLocked()
	}
}

// Close closes every open pool now. Sessions still in use get errors;
// a later session opens the pools again.
func (d *Databases) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closeLocked()
}

func (d *Databases) closeLocked() {
	for _, db := range d.dbs {
		db.mu.Lock()
		if h := db.open.Swap(nil); h != nil {
			h.p.close()
		}
		db.mu.Unlock()
	}
}

// pool returns the database's pool, opening it on first use. Opening
// connects nothing by itself (beyond min_pool connections made in the
// background); connections are made as acquires need them.
func (db *database) pool() (pool, error) {
	if h := db.open.Load(); h != nil {
		return h.p, nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if h := db.open.Load(); h != nil {
		return h.p, nil
	}
	var p pool
	switch db.driver {
	case Postgres:
		pp, err := pgxpool.NewWithConfig(context.Background(), db.pgConfig.Copy())
		if err != nil {
			return nil, fmt.Errorf("cannot open the pool of database %q: %s", db.name, scrub(err.Error(), db.dsn))
		}
		p = &pgPool{pp}
	default:
		p = newStdPool(db.stdConn, db.size, db.minSize)
	}
	db.open.Store(&dbh{p})
	return p, nil
}

// outcome is what the statements of one step produced.
type outcome struct {
	rows  int64
	want  []string // columns to extract, from the first row that has them
	vals  []string
	found []bool
}

func (o *outcome) reset(want []string) {
	o.rows = 0
	o.want = want
	if cap(o.vals) < len(want) {
		o.vals = make([]string, len(want))
		o.found = make([]bool, len(want))
	}
	o.vals, o.found = o.vals[:len(want)], o.found[:len(want)]
	clear(o.vals)
	clear(o.found)
}

// missing reports whether a wanted column has not been found yet.
func (o *outcome) missing() bool {
	for _, f := range o.found {
		if !f {
			return true
		}
	}
	return false
}

// pgPool is a pgxpool: PostgreSQL's first-class path, with pgx's
// per-connection statement cache making statements prepared by default.
type pgPool struct{ p *pgxpool.Pool }

func (p *pgPool) acquire(ctx context.Context) (conn, error) {
	c, err := p.p.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{c: c}, nil
}

func (p *pgPool) full() bool {
	s := p.p.Stat()
	return s.AcquiredConns() >= s.MaxConns()
}

func (p *pgPool) close() { p.p.Close() }

// stdPool is a database/sql pool (MySQL, SQLite).
type stdPool struct {
	db   *stdsql.DB
	size int
}

func newStdPool(c driver.Connector, size, minSize int) *stdPool {
	db := stdsql.OpenDB(c)
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	p := &stdPool{db: db, size: size}
	if minSize > 0 {
		go p.warm(minSize)
	}
	return p
}

// warm opens n connections in the background and leaves them idle, as
// pgxpool does for min_pool.
func (p *stdPool) warm(n int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var cs []*stdsql.Conn
	for range n {
		c, err := p.db.Conn(ctx)
		if err != nil {
			break
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		c.Close()
	}
}

func (p *stdPool) acquire(ctx context.Context) (conn, error) {
	c, err := p.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &stdConn{c: c}, nil
}

func (p *stdPool) full() bool { return p.db.Stats().InUse >= p.size }

func (p *stdPool) close() { p.db.Close() }
