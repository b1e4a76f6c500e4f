package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
)

// querier is the little the store asks of a database: one SQL code path
// (with $1-style parameters, which both engines accept) over two engines.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (rowsAffected int64, err error)
	query(ctx context.Context, q string, args ...any) (rows, error)
}

// database is a querier that also runs transactions and can be closed.
type database interface {
	querier
	// tx runs fn in one transaction, committed when fn returns nil.
	tx(ctx context.Context, fn func(q querier) error) error
	close() error
}

// rows is the cursor both engines return.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// queryRow runs q and scans its first row into dest; no row is
// sql.ErrNoRows.
func queryRow(ctx context.Context, q querier, sqlText string, args []any, dest ...any) error {
	rs, err := q.query(ctx, sqlText, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	if !rs.Next() {
		if err := rs.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rs.Scan(dest...); err != nil {
		return err
	}
	rs.Close()
	return rs.Err()
}

// sqlDB is SQLite through database/sql.
type sqlDB struct{ db *sql.DB }

type sqlExecer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

type sqlQuerier struct{ x sqlExecer }

func (s sqlQuerier) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.x.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlQuerier) query(ctx context.Context, q string, args ...any) (rows, error) {
	rs, err := s.x.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

func (s sqlDB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return sqlQuerier{s.db}.exec(ctx, q, args...)
}

func (s sqlDB) query(ctx context.Context, q string, args ...any) (rows, error) {
	return sqlQuerier{s.db}.query(ctx, q, args...)
}

func (s sqlDB) tx(ctx context.Context, fn func(querier) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(sqlQuerier{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s sqlDB) close() error { return s.db.Close() }

// pgDB is PostgreSQL through pgx's native connections, held in a small
// pool of its own: a pgx.Conn serves one goroutine at a time.
type pgDB struct {
	cfg   *pgx.ConnConfig
	slots chan struct{} // one token per open or opening connection

	mu     sync.Mutex // guards idle and closed
	idle   []*pgx.Conn
	closed bool
}

const pgMaxConns = 4

func newPgDB(cfg *pgx.ConnConfig) *pgDB {
	return &pgDB{cfg: cfg, slots: make(chan struct{}, pgMaxConns)}
}

var errClosed = errors.New("store is closed")

func (p *pgDB) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, errClosed
	}
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !c.IsClosed() {
			p.mu.Unlock()
			return c, nil
		}
	}
	p.mu.Unlock()
	c, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

// release returns c to the pool unless it is broken or mid-transaction.
func (p *pgDB) release(c *pgx.Conn) {
	defer func() { <-p.slots }()
	if c.IsClosed() || c.PgConn().TxStatus() != 'I' {
		_ = c.Close(context.Background())
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = c.Close(context.Background())
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func (p *pgDB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer p.release(c)
	tag, err := c.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (p *pgDB) query(ctx context.Context, q string, args ...any) (rows, error) {
	c, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := c.Query(ctx, q, args...)
	if err != nil {
		p.release(c)
		return nil, err
	}
	return &pgRows{Rows: rs, done: func() { p.release(c) }}, nil
}

// pgRows hands its connection back when closed.
type pgRows struct {
	pgx.Rows
	done func() // nil once called
}

func (r *pgRows) Close() {
	r.Rows.Close()
	if r.done != nil {
		r.done()
		r.done = nil
	}
}

func (p *pgDB) tx(ctx context.Context, fn func(querier) error) error {
	c, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer p.release(c)
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(pgTx{tx}); err != nil {
		_ = tx.Rollback(context.Background())
		return err
	}
	return tx.Commit(ctx)
}

func (p *pgDB) close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	var errs []error
	for _, c := range idle {
		errs = append(errs, c.Close(context.Background()))
	}
	return errors.Join(errs...)
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (t pgTx) query(ctx context.Context, q string, args ...any) (rows, error) {
	rs, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

var (
	_ database = sqlDB{}
	_ database = (*pgDB)(nil)
	_ querier  = pgTx{}
)

// wrapf adds what was being done to err.
func wrapf(err error, format string, a ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(a, err)...)
}
