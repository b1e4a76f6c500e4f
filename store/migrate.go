package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFiles embed.FS

// migration is one schema version: the statements that reach it from the
// version before.
type migration struct {
	version    int
	name       string
	statements []string
}

// migrations returns the ordered migrations of a dialect. Files are named
// NNN_name.sql and must be numbered 1, 2, 3… without gaps.
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s/%s: name is not NNN_name.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, statements: splitSQL(string(b))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations/%s: expected version %d, found %d", dialect, i+1, m.version)
		}
	}
	return ms, nil
}

// splitSQL splits a migration file into statements: comment lines are
// dropped and a statement ends with a semicolon at the end of a line.
func splitSQL(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}

// migrationLockKey is the PostgreSQL advisory lock that serialises
// concurrent migrations (an arbitrary constant: "stampede" in ASCII).
const migrationLockKey = 0x7374616d70656465

// migrate brings the schema to the latest version in one transaction.
// Concurrent openers queue: SQLite's transaction starts with the write lock,
// PostgreSQL's takes an advisory lock before looking at the version.
func migrate(ctx context.Context, db database, dialect string, now time.Time) error {
	ms, err := migrations(dialect)
	if err != nil {
		return err
	}
	return migrateTo(ctx, db, dialect, ms, now)
}

func migrateTo(ctx context.Context, db database, dialect string, ms []migration, now time.Time) error {
	return db.tx(ctx, func(q querier) error {
		if dialect == Postgres {
			if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
				return err
			}
		}
		if _, err := q.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    applied_us  BIGINT NOT NULL
)`); err != nil {
			return err
		}
		var cur int
		if err := queryRow(ctx, q, `SELECT COALESCE(MAX(version), 0) FROM schema_version`, nil, &cur); err != nil {
			return err
		}
		if cur > len(ms) {
			return fmt.Errorf("%w: schema version %d, this stampede knows up to %d; upgrade stampede", ErrSchemaTooNew, cur, len(ms))
		}
		for _, m := range ms[cur:] {
			for _, st := range m.statements {
				if _, err := q.exec(ctx, st); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
				}
			}
			if _, err := q.exec(ctx, `INSERT INTO schema_version (version, applied_us) VALUES ($1, $2)`,
				int64(m.version), now.UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	})
}
