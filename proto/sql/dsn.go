package sql

import (
	"errors"
	"net/url"
	"strings"

	"github.com/stampede-perf/stampede/internal/redact"
)

// Drivers this package runs.
const (
	Postgres = "postgres"
	MySQL    = "mysql"
	SQLite   = "sqlite"
)

// DriverFor guesses the driver of a DSN from its form: postgres:// and
// postgresql:// URLs and "host=… dbname=…" keyword strings are
// PostgreSQL; mysql:// URLs and "user:pass@tcp(host)/db" are MySQL;
// sqlite: and file: URLs and paths ending in .db, .sqlite or .sqlite3 are
// SQLite. It returns "" when it cannot tell.
func DriverFor(dsn string) string {
	lower := strings.ToLower(strings.TrimSpace(dsn))
	path, _, _ := strings.Cut(lower, "?")
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return Postgres
	case strings.HasPrefix(lower, "mysql://"), strings.Contains(lower, "@tcp("), strings.Contains(lower, "@unix("):
		return MySQL
	case strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"), lower == ":memory:",
		strings.HasSuffix(path, ".db"), strings.HasSuffix(path, ".sqlite"), strings.HasSuffix(path, ".sqlite3"):
		return SQLite
	case strings.Contains(lower, "host=") || strings.Contains(lower, "dbname="):
		return Postgres
	}
	return ""
}

// Redact returns dsn with its password replaced by xxxxx, for the rare
// message that must say which database it means.
func Redact(dsn string) string {
	return redact.String(dsn)
}

// scrub removes dsn's password from a message (a driver's error may
// quote the connection string).
func scrub(msg, dsn string) string {
	return redact.Scrub(msg, dsn)
}

// password finds the password in a URL, a keyword string or a MySQL DSN.
func password(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			return pw
		}
		return ""
	}
	for _, f := range strings.Fields(dsn) {
		if k, v, ok := strings.Cut(f, "="); ok && strings.EqualFold(k, "password") {
			return strings.Trim(v, "'")
		}
	}
	// user:password@protocol(address)/dbname
	if at := strings.LastIndex(dsn, "@"); at > 0 {
		if _, pw, ok := strings.Cut(dsn[:at], ":"); ok {
			return pw
		}
	}
	return ""
}

// mysqlDSN turns a mysql://user:pass@host:port/db?params URL into the
// driver's own form; other DSNs pass through.
func mysqlDSN(dsn string) (string, error) {
	if !strings.HasPrefix(strings.ToLower(dsn), "mysql://") {
		return dsn, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", errors.New("the mysql:// DSN is not a valid URL")
	}
	var b strings.Builder
	if u.User != nil {
		b.WriteString(u.User.Username())
		if pw, ok := u.User.Password(); ok {
			b.WriteString(":" + pw)
		}
		b.WriteByte('@')
	}
	host := u.Host
	if u.Port() == "" {
		host += ":3306"
	}
	b.WriteString("tcp(" + host + ")/" + strings.TrimPrefix(u.Path, "/"))
	if u.RawQuery != "" {
		b.WriteString("?" + u.RawQuery)
	}
	return b.String(), nil
}

// sqliteDSN drops a sqlite: scheme, which the driver does not take.
func sqliteDSN(dsn string) string {
	if rest, ok := strings.CutPrefix(dsn, "sqlite://"); ok {
		return rest
	}
	if rest, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		return rest
	}
	return dsn
}
