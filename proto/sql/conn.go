package sql

import (
	"context"
	stdsql "database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// errRolledBack reports a COMMIT that the database turned into a
// rollback because a statement of the transaction had failed.
var errRolledBack = errors.New("commit rolled back: a statement of the transaction failed")

// pgConn is a connection of a pgxpool.
type pgConn struct {
	c  *pgxpool.Conn
	tx pgx.Tx
}

func (c *pgConn) run(ctx context.Context, st *statement, args []any, out *outcome) error {
	// Statements of an open transaction run on its connection as well;
	// pgx.Tx adds nothing for them.
	rows, err := c.c.Query(ctx, st.text, args...)
	if err != nil {
		return err
	}
	first := true
	for rows.Next() {
		if first && out.missing() {
			vals, err := rows.Values()
			if err != nil {
				rows.Close()
				return err
			}
			fds := rows.FieldDescriptions()
			out.take(len(vals), func(i int) string { return fds[i].Name }, func(i int) any { return vals[i] })
		}
		first = false
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	out.rows += rows.CommandTag().RowsAffected()
	return nil
}

func (c *pgConn) begin(_, ctx context.Context, iso string) error {
	tx, err := c.c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.TxIsoLevel(iso)})
	if err != nil {
		return err
	}
	c.tx = tx
	return nil
}

func (c *pgConn) commit(ctx context.Context) error {
	tx := c.tx
	c.tx = nil
	err := tx.Commit(ctx)
	if errors.Is(err, pgx.ErrTxCommitRollback) {
		return errRolledBack
	}
	return err
}

func (c *pgConn) rollback(ctx context.Context) error {
	tx := c.tx
	c.tx = nil
	return tx.Rollback(ctx)
}

func (c *pgConn) inTx() bool { return c.tx != nil }

// deadline sets the socket's deadline, which fails a read or write in
// progress, as pgx itself does when a context ends; pgx then closes the
// connection and the pool discards it.
func (c *pgConn) deadline(t time.Time) bool {
	c.c.Conn().PgConn().Conn().SetDeadline(t)
	return true
}

func (c *pgConn) interrupt() { c.c.Conn().PgConn().Conn().SetDeadline(time.Unix(1, 0)) }

// release hands the connection back, without a deadline; pgxpool
// destroys one that is not idle (a transaction left open, a query cut
// off).
func (c *pgConn) release() {
	c.c.Conn().PgConn().Conn().SetDeadline(time.Time{})
	c.c.Release()
}

// stdConn is a database/sql connection (MySQL, SQLite).
type stdConn struct {
	c    *stdsql.Conn
	tx   *stdsql.Tx
	vals []any
	ptrs []any
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error)
}

func (c *stdConn) run(ctx context.Context, st *statement, args []any, out *outcome) error {
	var q querier = c.c
	if c.tx != nil {
		q = c.tx
	}
	if !st.rows {
		res, err := q.ExecContext(ctx, st.text, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil {
			out.rows += n
		}
		return nil
	}
	rows, err := q.QueryContext(ctx, st.text, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		if n == 0 && out.missing() {
			cols, err := rows.Columns()
			if err != nil {
				return err
			}
			c.vals = append(c.vals[:0], make([]any, len(cols))...)
			c.ptrs = c.ptrs[:0]
			for i := range c.vals {
				c.ptrs = append(c.ptrs, &c.vals[i])
			}
			if err := rows.Scan(c.ptrs...); err != nil {
				return err
			}
			out.take(len(cols), func(i int) string { return cols[i] }, func(i int) any { return c.vals[i] })
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	out.rows += n
	return nil
}

func (c *stdConn) begin(txCtx, _ context.Context, iso string) error {
	var opts *stdsql.TxOptions
	switch iso {
	case "read committed":
		opts = &stdsql.TxOptions{Isolation: stdsql.LevelReadCommitted}
	case "repeatable read":
		opts = &stdsql.TxOptions{Isolation: stdsql.LevelRepeatableRead}
	case "serializable":
		opts = &stdsql.TxOptions{Isolation: stdsql.LevelSerializable}
	}
	tx, err := c.c.BeginTx(txCtx, opts)
	if err != nil {
		return err
	}
	c.tx = tx
	return nil
}

func (c *stdConn) commit(context.Context) error {
	tx := c.tx
	c.tx = nil
	return tx.Commit()
}

func (c *stdConn) rollback(context.Context) error {
	tx := c.tx
	c.tx = nil
	return tx.Rollback()
}

func (c *stdConn) inTx() bool { return c.tx != nil }

func (c *stdConn) deadline(time.Time) bool { return false }

func (c *stdConn) interrupt() {}

func (c *stdConn) release() {
	if c.tx != nil {
		c.tx.Rollback()
		c.tx = nil
	}
	c.c.Close()
}

// take copies the wanted columns of one row into o, for columns not found
// in an earlier result. NULL counts as no value, as JSON null does for
// HTTP extractors, so a missing id fails the extraction instead of
// feeding "" to the next step.
func (o *outcome) take(n int, name func(int) string, val func(int) any) {
	for i := range n {
		col := name(i)
		for j, w := range o.want {
			if o.found[j] || w != col {
				continue
			}
			if s, ok := text(val(i)); ok {
				o.vals[j], o.found[j] = s, true
			}
		}
	}
}

// text renders a column value the way the database would print it.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case []byte:
		return string(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int16:
		return strconv.FormatInt(int64(x), 10), true
	case int8:
		return strconv.FormatInt(int64(x), 10), true
	case int:
		return strconv.Itoa(x), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return x.Format(time.RFC3339Nano), true
	case [16]byte: // uuid
		h := hex.EncodeToString(x[:])
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
	case *big.Int:
		return x.String(), true
	case driver.Valuer: // pgtype.Numeric and friends
		dv, err := x.Value()
		if err != nil {
			return "", false
		}
		if _, again := dv.(driver.Valuer); again {
			return fmt.Sprint(dv), dv != nil
		}
		return text(dv)
	case fmt.Stringer:
		return x.String(), true
	}
	return fmt.Sprint(v), true
}
