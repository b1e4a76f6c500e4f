package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// A plan of several loads runs end to end through the CLI in two segments
// whose merge holds every load's requests and judges each load's own
// thresholds; --dry-run describes each load; flags that shape load: are
// refused.
func TestRunLoadsSegmentsAndMerge(t *testing.T) {
	t.Parallel()
	var a, b atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/b" {
			b.Add(1)
		} else {
			a.Add(1)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	planFile := filepath.Join(dir, "loads.yaml")
	doc := `name: loads
target: {base_url: "` + srv.URL + `"}
scenarios:
  - {name: browse, steps: [{name: a, path: /a}]}
  - {name: api, steps: [{name: b, path: /b}]}
loads:
  people: {vus: 2, duration: 1s, scenarios: [browse], thresholds: ["requests > 0"]}
  machines: {rate: 20, duration: 1s, start: 500ms, scenarios: [api], thresholds: ["requests > 1000"], tags: {team: api}}
`
	if err := os.WriteFile(planFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	dry := runCLI(t, context.Background(), "run", "--dry-run", planFile)
	for _, want := range []string{"load people: closed model", "load machines: open model", "starts 500ms after the run", "scenarios api", "tags team=api", "threshold requests > 1000"} {
		if !strings.Contains(dry.stdout, want) {
			t.Errorf("--dry-run lacks %q:\n%s", want, dry.stdout)
		}
	}
	if r := runCLI(t, context.Background(), "run", "--vus", "3", planFile); r.code != 2 || !strings.Contains(r.stderr, "--vus sets the plan's load:") {
		t.Errorf("--vus on a plan with loads: exit %d, %s", r.code, r.stderr)
	}
	var files []string
	for _, seg := range []string{"1/2", "2/2"} {
		out := filepath.Join(dir, strings.ReplaceAll(seg, "/", "of")+".json")
		r := runCLI(t, context.Background(), "run", planFile, "--segment", seg, "--out", "json="+out, "--no-default-slo")
		// The machines' threshold fails on purpose: exit 1.
		if r.code != 1 || !strings.Contains(r.stdout, "loads") || !strings.Contains(r.stdout, "✗ load machines: requests > 1000") {
			t.Fatalf("segment %s: exit %d\n%s%s", seg, r.code, r.stdout, r.stderr)
		}
		files = append(files, out)
	}
	all := filepath.Join(dir, "all.json")
	r := runCLI(t, context.Background(), append([]string{"merge", "--out", "json=" + all}, files...)...)
	if r.code != 1 {
		t.Fatalf("merge: exit %d (want 1: a load's threshold fails)\n%s%s", r.code, r.stdout, r.stderr)
	}
	m, _ := readRun(t, all)
	if len(m.Loads) != 2 {
		t.Fatalf("merged loads: %+v", m.Loads)
	}
	people, machines := m.Loads[0], m.Loads[1]
	if people.Requests != a.Load() || machines.Requests != b.Load() {
		t.Errorf("merged loads hold %d and %d requests; the server counted %d on /a and %d on /b", people.Requests, machines.Requests, a.Load(), b.Load())
	}
	if n := machines.Iterations + machines.Dropped + machines.Interrupted; n != 20 {
		t.Errorf("the open load's parts hold %d iterations of the schedule's 20", n)
	}
	if len(people.Thresholds) != 1 || !people.Thresholds[0].Pass || len(machines.Thresholds) != 1 || machines.Thresholds[0].Pass {
		t.Errorf("the loads' own thresholds after merge: %+v, %+v", people.Thresholds, machines.Thresholds)
	}
}
