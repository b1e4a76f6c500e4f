package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/suite"
)

// A run that sets no thresholds is judged by the default SLO: a target
// that fails every request fails the run, and the summary says which SLO
// did it and how to change it. --no-default-slo and any threshold of the
// user's own leave the default out.
func TestDefaultSLO(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			w.Write([]byte("ok"))
			return
		}
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	defer srv.Close()
	base := []string{"run", "--iterations", "20", "--vus", "2", "-q"}
	cases := []struct {
		why       string
		url       string
		args      []string
		code      int
		note      bool // the summary names the default SLO
		defaulted bool // the default SLO is among the thresholds
	}{
		{"every request fails and nobody set an SLO", "/err", nil, 1, true, true},
		{"the default SLO holds on a healthy target", "/ok", nil, 0, true, true},
		{"--no-default-slo: no SLO, nothing fails", "/err", []string{"--no-default-slo"}, 0, false, false},
		{"an SLO of the user's own replaces the default", "/err", []string{"--threshold", "p99 < 10s"}, 0, false, false},
		{"an error SLO of the user's own is the only one", "/err", []string{"--threshold", "error_rate < 100%"}, 1, false, false},
	}
	for _, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run.json")
			args := append(append(append([]string{}, base...), "--url", srv.URL+c.url, "--out", "json="+out), c.args...)
			res := runCLI(t, context.Background(), args...)
			if res.code != c.code {
				t.Fatalf("exit %d, want %d\n%s%s", res.code, c.code, res.stdout, res.stderr)
			}
			if got := strings.Contains(res.stdout, suite.DefaultSLONote); got != c.note {
				t.Errorf("summary names the default SLO: %v, want %v\n%s", got, c.note, res.stdout)
			}
			wantVerdict := "verdict: PASS"
			if c.code == 1 {
				wantVerdict = "verdict: FAIL"
			}
			if !strings.Contains(res.stdout, wantVerdict) {
				t.Errorf("want %q\n%s", wantVerdict, res.stdout)
			}
			r, _ := readRun(t, out)
			defaulted := false
			for _, th := range r.Thresholds {
				if th.Expr == suite.DefaultSLOExpr {
					defaulted = true
					if th.Pass != (c.code == 0) {
						t.Errorf("default SLO pass = %v with exit %d", th.Pass, c.code)
					}
				}
			}
			if defaulted != c.defaulted {
				t.Errorf("default SLO among the thresholds: %v, want %v: %+v", defaulted, c.defaulted, r.Thresholds)
			}
		})
	}
	// A plan file without thresholds gets the default too.
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(planFile, []byte("name: bare\ntarget: { base_url: "+srv.URL+" }\nscenarios:\n  - name: s\n    steps: [{ path: /err }]\nload: { vus: 1, iterations: 5, duration: 10s }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := runCLI(t, context.Background(), "run", planFile, "-q"); res.code != 1 || !strings.Contains(res.stdout, suite.DefaultSLONote) {
		t.Fatalf("plan without thresholds: exit %d, want 1 and the note\n%s%s", res.code, res.stdout, res.stderr)
	}
}
