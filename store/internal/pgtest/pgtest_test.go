package pgtest

import (
	"context"
	"testing"
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
