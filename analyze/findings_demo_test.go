package analyze_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/demo"
	"github.com/stampede-perf/stampede/examples"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
	"github.com/stampede-perf/stampede/watch"
)

// TestDemoFaultsEndToEnd loads the demo shop with its planted faults on,
// watches it through its pprof and metrics endpoints, and checks that the
// findings drawn from what was measured — real profiles, not shaped data —
// name the planted functions with high severity. It takes about 15
// seconds of two cores.
func TestDemoFaultsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo shop for 15 s; skipped with -short")
	}
	if raceEnabled {
		// The race detector slows the generator in this process many times
		// over, so the CPU profile no longer shows the shop's own shares.
		t.Skip("the CPU profile is not representative under the race detector")
	}
	ctx := context.Background()
	srv, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{Faults: []string{demo.FaultLeak, demo.FaultHotspot, demo.FaultLock}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())

	dir := t.TempDir()
	fs.WalkDir(examples.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := examples.FS.ReadFile(path)
		return os.WriteFile(filepath.Join(dir, path), b, 0o644)
	})
	// The demo's own journeys, without think times and on few users, so
	// that the shop rather than the generator beside it in this process
	// takes the CPU, and the cart's lock is busy.
	doc := `
name: demo faults
target: { base_url: "` + srv.URL() + `" }
data: { users: { file: users.csv, mode: unique } }
scenarios:
  - name: browse
    steps:
      - { name: list, path: "/api/products?page={{ random_int(1, 10) }}&limit=20" }
  - name: cart
    steps:
      - name: login
        method: POST
        path: /api/auth/login
        json: { email: "{{ users.email }}", password: "{{ users.password }}" }
        extract: { token: { json: token } }
      - name: add
        method: POST
        path: /api/cart/add
        headers: { Authorization: "Bearer {{ token }}", Content-Type: application/json }
        body: '{"product_id": {{ random_int(1, 200) }}, "quantity": 1}'
      - name: view
        path: /api/cart
        headers: { Authorization: "Bearer {{ token }}" }
load: { model: closed, vus: 6, duration: 15s, graceful_stop: 2s }
`
	p, err := plan.Parse(filepath.Join(dir, "faults.yaml"), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	spec := &plan.System{
		Prometheus: &plan.PrometheusSpec{URL: srv.URL() + "/metrics"},
		Pprof:      srv.URL() + "/debug/pprof",
		CPUProfile: plan.Duration(5 * time.Second),
		Interval:   plan.Duration(time.Second),
	}
	w, err := watch.Start(ctx, spec, watch.Options{Start: start, Duration: 15 * time.Second, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w.ProfileCPUAt(4 * time.Second)
	run, err := suite.RunLoad(ctx, p, suite.LoadOptions{Now: func() time.Time { return time.Now() }})
	if err != nil {
		t.Fatal(err)
	}
	run.System = w.Stop(ctx)
	analyze.Analyze(run.System, 2)
	analyze.Conclude(run, nil)

	var b strings.Builder
	for _, f := range run.Findings {
		b.WriteString("  [" + f.Severity + " " + f.Kind + "] " + f.Title + "\n")
	}
	t.Logf("findings:\n%s", b.String())
	if os.Getenv("STAMPEDE_KEEP_DEMO_RUN") != "" {
		result.WriteFile(os.Getenv("STAMPEDE_KEEP_DEMO_RUN"), run)
	}
	for _, fault := range []string{"scoreProducts", "rememberRequest", "auditTrail"} {
		if !slices.ContainsFunc(run.Findings, func(f result.Finding) bool {
			return strings.Contains(f.Title, fault) && f.Severity == analyze.SeverityHigh
		}) {
			t.Errorf("no high finding names %s", fault)
		}
	}
}
