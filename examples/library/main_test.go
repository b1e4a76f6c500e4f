package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/store"
)

// The example records two one-second loads against its own loopback
// server; the second is compared with the first, and the history holds
// both, concluded.
func TestExampleRecordsAndCompares(t *testing.T) {
	db := filepath.Join(t.TempDir(), "history.db")
	idRe := regexp.MustCompile(`recorded as run (\S+) in `)
	var ids []string
	for i := range 2 {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"-store", db, "-rate", "20", "-duration", "1s"}, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out.String())
		}
		m := idRe.FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("run %d printed no id:\n%s", i+1, out.String())
		}
		ids = append(ids, m[1])
		compared := strings.Contains(out.String(), "compared with "+ids[0])
		if compared != (i == 1) {
			t.Errorf("run %d: compared with the first run: %v, want %v\n%s", i+1, compared, i == 1, out.String())
		}
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, id := range ids {
		r, err := s.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		e, err := s.Entry(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != store.StateFinished || r.Verdict == "" || len(r.NotEvaluated) == 0 || r.Summary.Requests == 0 || (r.Comparison != nil) != (i == 1) {
			t.Errorf("run %d in the history: state %s, verdict %q, %d rules not evaluated, %d requests, compared %v",
				i+1, e.State, r.Verdict, len(r.NotEvaluated), r.Summary.Requests, r.Comparison != nil)
		}
	}
}

// Out-of-range settings are refused before anything runs.
func TestExampleBounds(t *testing.T) {
	for _, args := range [][]string{{"-rate", "0"}, {"-rate", "5000"}, {"-duration", "2h"}, {"-duration", "10ms"}} {
		var out bytes.Buffer
		err := run(context.Background(), append(args, "-store", filepath.Join(t.TempDir(), "h.db")), &out)
		if err == nil || !strings.Contains(err.Error(), "want 1–1000 requests/s") {
			t.Errorf("%v: %v", args, err)
		}
	}
}
