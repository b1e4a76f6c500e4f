package sql

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/stampede-perf/stampede/metrics"
)

// Classify maps a database error to its kind: the SQLSTATE of a
// PostgreSQL error, the error number of a MySQL one, the result code of a
// SQLite one, else the network or context error underneath.
func Classify(err error) metrics.ErrKind {
	var pg *pgconn.PgError
	var my *mysql.MySQLError
	var lite *sqlite.Error
	switch {
	case err == nil:
		return metrics.KindNone
	case errors.As(err, &pg):
		return pgKind(pg.Code)
	case errors.As(err, &my):
		return mysqlKind(my.Number)
	case errors.As(err, &lite):
		return sqliteKind(lite.Code())
	}
	return netKind(err)
}

// pgKind maps an SQLSTATE (PostgreSQL Appendix A).
func pgKind(code string) metrics.ErrKind {
	switch {
	case code == "40P01": // deadlock_detected
		return metrics.KindDeadlock
	case code == "40001": // serialization_failure
		return metrics.KindSerialization
	case code == "57014": // query_canceled: statement_timeout or a cancel request
		return metrics.KindTimeout
	case code == "55P03": // lock_not_available: lock_timeout, NOWAIT
		return metrics.KindLockTimeout
	case code == "53300", code == "57P03": // too_many_connections, cannot_connect_now
		return metrics.KindConnRefused
	case strings.HasPrefix(code, "08"), code == "57P01", code == "57P02": // connection exception, admin/crash shutdown
		return metrics.KindConnReset
	}
	return metrics.KindSQL
}

// mysqlKind maps a MySQL server error number.
func mysqlKind(n uint16) metrics.ErrKind {
	switch n {
	case 1213: // ER_LOCK_DEADLOCK
		return metrics.KindDeadlock
	case 1205: // ER_LOCK_WAIT_TIMEOUT
		return metrics.KindLockTimeout
	case 3024, 1317: // max_execution_time exceeded, query interrupted
		return metrics.KindTimeout
	case 1040, 1203: // too many connections, too many user connections
		return metrics.KindConnRefused
	}
	return metrics.KindSQL
}

// sqliteKind maps a SQLite result code (extended codes keep the primary
// code in their low byte).
func sqliteKind(code int) metrics.ErrKind {
	switch code & 0xff {
	case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED: the busy timeout ran out
		return metrics.KindLockTimeout
	case 9: // SQLITE_INTERRUPT: the context ended
		return metrics.KindTimeout
	case 14: // SQLITE_CANTOPEN
		return metrics.KindConnRefused
	}
	return metrics.KindSQL
}

func netKind(err error) metrics.ErrKind {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return metrics.KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return metrics.KindConnRefused
	case errors.As(err, &dnsErr):
		return metrics.KindDNS
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return metrics.KindConnReset
	case errors.As(err, &netErr) && netErr.Timeout(), pgconn.Timeout(err):
		return metrics.KindTimeout
	}
	return metrics.KindOther
}
