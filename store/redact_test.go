package store

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// No location shape puts its password in an error or in Location, and a
// libpq keyword/value string is PostgreSQL, never a SQLite file whose name
// holds the password.
func TestLocationsNeverShowPasswords(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, dsn := range []string{
		"postgres://u:s3cret@127.0.0.1:notaport/db",
		"postgres://u@127.0.0.1:1/db?sslmode=disable&password=s3cret&connect_timeout=1",
		"mysql://u:s3cret@127.0.0.1/db",
		"sqlite://u:s3cret@/tmp/history.db",
		"u:s3cret@tcp(127.0.0.1:3306)/db",
		"host=127.0.0.1 port=1 user=u password=s3cret dbname=db connect_timeout=1",
		"host=127.0.0.1 port=1 password='s3cret word' connect_timeout=1",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := Open(ctx, dsn)
		cancel()
		if err == nil {
			loc := s.Location()
			s.Close()
			t.Errorf("Open(%s) succeeded at %s", loc, loc)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	ents, _ := os.ReadDir(".")
	for _, e := range ents {
		t.Errorf("%s was created: a connection string was taken for a file", e.Name())
	}
	for _, dsn := range []string{"host=db dbname=perf", "dbname=perf", "user=u password=p host=h"} {
		if !IsPostgres(dsn) {
			t.Errorf("IsPostgres(%q) = false, want a keyword/value string to be PostgreSQL", dsn)
		}
	}
	for _, dsn := range []string{"history.db", "./host=1/history.db", "dir/x=y.db"} {
		if IsPostgres(dsn) {
			t.Errorf("IsPostgres(%q) = true", dsn)
		}
	}
}

// The history never keeps a credential of the target URL.
func TestTargetIsStoredRedacted(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir()+"/h.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	id, err := s.Begin(ctx, Meta{Plan: "p", Kind: "load", Target: "http://u:s3cret@127.0.0.1:8080/?token=t0k3n"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Resolve(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.Target, "s3cret") || strings.Contains(r.Target, "t0k3n") {
		t.Errorf("stored target %q", r.Target)
	}
}

// A new history is private to its owner: directory 0700, files 0600.
func TestNewHistoryIsPrivate(t *testing.T) {
	dir := t.TempDir() + "/.stampede"
	s, err := Open(context.Background(), dir+"/history.db")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(context.Background(), Meta{Plan: "p", Kind: "load"}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, _ := e.Info()
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	if len(ents) == 0 {
		t.Fatal("no history file")
	}
}
