package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/stampede-perf/stampede/internal/redact"
)

// Errors callers can test for with errors.Is.
var (
	// ErrInvalidDSN: the store location cannot be used as given.
	ErrInvalidDSN = errors.New("invalid run history location")
	// ErrNotFound: no such run, baseline or file.
	ErrNotFound = errors.New("not found")
	// ErrSchemaTooNew: the database was written by a newer stampede.
	ErrSchemaTooNew = errors.New("run history was written by a newer stampede")
	// ErrNotComplete: the run is still running or was aborted, so it cannot
	// serve as a baseline.
	ErrNotComplete = errors.New("run is not complete")
	// ErrPlanMismatch: a baseline must be a run of its own plan.
	ErrPlanMismatch = errors.New("run belongs to another plan")
)

// EnvStore is the environment variable that overrides the default location.
const EnvStore = "STAMPEDE_STORE"

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options tune Open. The zero value is what the command line uses.
type Options struct {
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// StaleAfter is how old the heartbeat of a run written from another
	// host must be before Recover treats its writer as gone. Zero is
	// DefaultStaleAfter.
	StaleAfter time.Duration
	// NoRecover skips the Recover that Open otherwise runs.
	NoRecover bool
	// Hostname is this host's name as writers record it; "" asks the OS.
	Hostname string
}

// DefaultStaleAfter is the default Options.StaleAfter: long enough for a
// phase that appends no windows for a while, short enough that a CI job's
// next run recovers a crashed predecessor.
const DefaultStaleAfter = 5 * time.Minute

// Store is a run history. It is safe for concurrent use; see the package
// documentation for the one ordering rule.
type Store struct {
	db         database
	dialect    string
	location   string // for messages: the path, or the URL without password
	now        func() time.Time
	staleAfter time.Duration
	hostname   string
	recovered  []string // set once by Open
	recoverErr error    // set once by Open
}

// IsPostgres reports whether dsn names a PostgreSQL database: a
// postgres:// or postgresql:// URL, or a libpq keyword/value string
// ("host=db dbname=perf password=…"), which is never taken for a file
// name.
func IsPostgres(dsn string) bool {
	l := strings.ToLower(strings.TrimSpace(dsn))
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://") || isKeywordValue(l)
}

// libpqKeywords are the connection keywords that mark a keyword/value
// string.
var libpqKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true,
	"passfile": true, "service": true, "sslmode": true, "sslcert": true, "sslkey": true, "sslrootcert": true,
	"sslpassword": true, "connect_timeout": true, "application_name": true, "target_session_attrs": true,
	"options": true, "channel_binding": true, "gssencmode": true, "krbsrvname": true,
}

// isKeywordValue reports whether l (lower case) starts like a libpq
// keyword/value string: its first word is a connection keyword and "=".
func isKeywordValue(l string) bool {
	if strings.Contains(l, "://") {
		return false
	}
	k, _, ok := strings.Cut(l, "=")
	return ok && libpqKeywords[strings.TrimSpace(k)]
}

// DefaultDSN is where history lives when no --store flag is given: the
// STAMPEDE_STORE environment variable, else .stampede/history.db in the
// plan's directory, else in the current directory (ad-hoc runs). getenv may
// be nil.
func DefaultDSN(planFile string, getenv func(string) string) string {
	if getenv != nil {
		if v := strings.TrimSpace(getenv(EnvStore)); v != "" {
			return v
		}
	}
	dir := "."
	if planFile != "" {
		dir = filepath.Dir(planFile)
	}
	return filepath.Join(dir, ".stampede", "history.db")
}

// Open opens (creating if needed) the history at dsn, migrates its schema
// to the current version and recovers runs whose writer is gone.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenWith(ctx, dsn, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s := &Store{now: opts.Now, staleAfter: opts.StaleAfter, hostname: opts.Hostname}
	if s.now == nil {
		s.now = time.Now
	}
	if s.staleAfter <= 0 {
		s.staleAfter = DefaultStaleAfter
	}
	if s.hostname == "" {
		s.hostname, _ = os.Hostname()
	}
	var err error
	s.db, s.dialect, s.location, err = openDB(dsn)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.db, s.dialect, s.now()); err != nil {
		s.db.close()
		return nil, fmt.Errorf("cannot open run history %s: %w", s.location, err)
	}
	if !opts.NoRecover {
		// A run that cannot be recovered stays as it is, said by
		// RecoverErr: the history stays usable for every other run.
		s.recovered, s.recoverErr = s.Recover(ctx)
	}
	return s, nil
}

// openDB connects to the database dsn names, without touching its schema.
func openDB(dsn string) (db database, dialect, location string, err error) {
	if IsPostgres(dsn) {
		db, err = openPostgres(dsn)
		return db, Postgres, redact.String(dsn), err
	}
	db, err = openSQLite(dsn)
	return db, SQLite, redact.String(dsn), err
}

func openPostgres(dsn string) (database, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password included.
		return nil, fmt.Errorf("%w: %s: not a valid PostgreSQL URL or keyword/value string", ErrInvalidDSN, redact.String(dsn))
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "stampede"
	}
	return newPgDB(cfg), nil
}

func openSQLite(path string) (database, error) {
	switch {
	case strings.TrimSpace(path) == "":
		return nil, fmt.Errorf("%w: empty path", ErrInvalidDSN)
	case strings.Contains(path, "://"):
		scheme, _, _ := strings.Cut(path, "://")
		return nil, fmt.Errorf("%w: %s: unsupported scheme %q (use a file path for SQLite or postgres://… for PostgreSQL)", ErrInvalidDSN, redact.String(path), scheme)
	case strings.ContainsAny(path, "?#"), strings.HasPrefix(path, ":"), strings.HasPrefix(path, "file:"):
		return nil, fmt.Errorf("%w: %s: a SQLite store is a plain file path", ErrInvalidDSN, redact.String(path))
	case redact.String(path) != path:
		return nil, fmt.Errorf("%w: %s: a SQLite store is a plain file path; this looks like a connection string with a password (use postgres://… for PostgreSQL)", ErrInvalidDSN, redact.String(path))
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is a directory", ErrInvalidDSN, path)
	}
	// The history is private to its owner: its directory and file are
	// created 0700 and 0600 (SQLite gives its -wal and -shm files the
	// file's mode).
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the directory of run history %s: %w", path, err)
	}
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	// busy_timeout first (the driver orders it so): the other pragmas and
	// every writer then wait for a lock instead of failing. _txlock makes
	// each transaction BEGIN IMMEDIATE, so two writers never deadlock
	// upgrading read locks.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidDSN, path, err)
	}
	db.SetMaxOpenConns(pgMaxConns)
	return sqlDB{db}, nil
}

// Close releases the store's connections.
func (s *Store) Close() error { return s.db.close() }

// Dialect is SQLite or Postgres.
func (s *Store) Dialect() string { return s.dialect }

// Location is where the history lives, printable (no password).
func (s *Store) Location() string { return s.location }

// Recovered lists the runs that Open found abandoned and closed as aborted.
func (s *Store) Recovered() []string { return append([]string(nil), s.recovered...) }

// RecoverErr is why Open could not recover some unfinished runs (each
// named), nil when it recovered them all or did not try.
func (s *Store) RecoverErr() error { return s.recoverErr }

// SchemaVersion is the schema version of the open database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := queryRow(ctx, s.db, `SELECT COALESCE(MAX(version), 0) FROM schema_version`, nil, &v)
	return v, err
}
