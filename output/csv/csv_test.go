package csv

import (
	encsv "encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/result"
)

func update(ts float64) *output.Update {
	w := result.Window{TS: ts, Requests: 30, RPS: 30, VUs: 2, Steps: []result.StepWindow{
		{Index: 0, Requests: 20, Errors: 1, P50: 1.5, P95: 3, P99: 4},
		{Index: 1, Requests: 10, P50: 2, P95: 5, P99: 6}}}
	return &output.Update{Time: time.Unix(1_800_000_000+int64(ts), 0), TS: ts, Phase: "load", VUs: 2, Window: w,
		Steps: []output.StepName{{Scenario: "s", Step: "a, quoted \"one\"", Kind: "http"}, {Scenario: "s", Step: "b", Kind: "sql"}},
		Hists: make([]*hdr.Histogram, 2)}
}

// The file stops at its bound on a whole window, stays a valid CSV, and
// Close says from which window on rows are missing.
func TestBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	s, err := newSink(path, 600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var fed int
	for i := range 20 {
		if err := s.Update(update(float64(i))); err != nil {
			t.Fatal(err)
		}
		fed++
	}
	err = s.Close(nil)
	if err == nil || !strings.Contains(err.Error(), "bound") {
		t.Fatalf("Close: %v", err)
	}
	fi, _ := os.Stat(path)
	if fi.Size() > 600 {
		t.Fatalf("%d bytes past the bound of 600", fi.Size())
	}
	f, _ := os.Open(path)
	defer f.Close()
	rows, err := encsv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if (len(rows)-1)%2 != 0 || len(rows) < 3 || len(rows)-1 >= 2*fed {
		t.Fatalf("%d rows: want whole windows of 2 rows, fewer than all %d windows", len(rows)-1, fed)
	}
	if rows[1][4] != "a, quoted \"one\"" {
		t.Fatalf("name %q", rows[1][4])
	}
}

// Standard output and a missing directory are refused before the run.
func TestRefused(t *testing.T) {
	for _, p := range []string{"-", filepath.Join(t.TempDir(), "no", "such", "dir.csv")} {
		if _, err := New(p, nil); err == nil {
			t.Errorf("%s: accepted", p)
		}
	}
}
