package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

func TestStartAndNewDatabase(t *testing.T) {
	srv := Start(t)
	a, b := srv.NewDatabase(t), srv.NewDatabase(t)
	if a == b {
		t.Fatalf("two databases share one URL: %s", a)
	}
	for _, u := range []string{a, b} {
		if err := Ping(context.Background(), u); err != nil {
			t.Fatalf("ping %s: %v", u, err)
		}
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ in, name, want, why string }{
		{"postgres://u@h:1/postgres?sslmode=disable", "x", "postgres://u@h:1/x?sslmode=disable", "query kept"},
		{"postgresql://u:p@h:1", "x", "postgresql://u:p@h:1/x", "no database, no query"},
		{"postgres://u@h:1/db", "y", "postgres://u@h:1/y", "database replaced"},
	} {
		if got := withDatabase(tc.in, tc.name); got != tc.want {
			t.Errorf("%s: withDatabase(%q, %q) = %q, want %q", tc.why, tc.in, tc.name, got, tc.want)
		}
	}
}

func TestOptions(t *testing.T) {
	if os.Getenv(EnvURL) != "" {
		t.Skip("options apply to throwaway clusters, not to the server in " + EnvURL)
	}
	srv := Start(t, WithPreload("pg_stat_statements"), WithSetting("max_connections", "23"))
	cfg, err := pgx.ParseConfig(srv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	var maxConns, preload string
	if err := db.QueryRow("SELECT current_setting('max_connections'), current_setting('shared_preload_libraries')").Scan(&maxConns, &preload); err != nil {
		t.Fatal(err)
	}
	if maxConns != "23" || preload != "pg_stat_statements" {
		t.Errorf("max_connections %s, shared_preload_libraries %q; want 23 and pg_stat_statements (later settings win)", maxConns, preload)
	}
}
