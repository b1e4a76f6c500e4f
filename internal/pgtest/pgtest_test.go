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

// TestLaunchAndClose: a cluster launched outside a test's cleanup takes
// its settings, serves, and after Close neither runs nor leaves its
// directory behind.
func TestLaunchAndClose(t *testing.T) {
	if _, err := findBinDir(os.Getenv(EnvBinDir)); err != nil {
		t.Skip("no PostgreSQL binaries: ", err)
	}
	c, err := Launch("", WithSetting("max_connections", "31"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	var maxConns string
	err = conn.QueryRow(ctx, "SELECT current_setting('max_connections')").Scan(&maxConns)
	conn.Close(ctx)
	c.Close()
	if err != nil || maxConns != "31" {
		t.Fatalf("max_connections %q (%v), want 31", maxConns, err)
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("the cluster's directory %s is still there (%v)", c.dir, err)
	}
	if err := Ping(ctx, c.URL); err == nil {
		t.Errorf("the cluster still answers at %s after Close", c.URL)
	}
	if _, err := Launch(t.TempDir()); err == nil {
		t.Error("Launch from a directory without initdb succeeded")
	}
}
