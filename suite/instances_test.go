package suite

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/plan"
)

// TestScalabilityInstancesBehindNginx scales a real service horizontally:
// 1, 2 and 4 instances of a server that serves one request at a time
// for 20 ms (50 requests/s each, by construction), behind an nginx whose
// configuration stampede writes and reloads between counts. Throughput
// must grow with the instances — beyond what fewer instances could
// serve, so every one takes its share — and the efficiency and
// linearity must match their textbook formulas on the measured figures.
func TestScalabilityInstancesBehindNginx(t *testing.T) {
	t.Parallel()
	testInstancesBehind(t, "nginx", "STAMPEDE_REQUIRE_NGINX", "nginx-light")
}

// TestScalabilityInstancesBehindHAProxy is the same scaling behind an
// haproxy in master-worker mode, reloaded by SIGUSR2 between counts.
func TestScalabilityInstancesBehindHAProxy(t *testing.T) {
	t.Parallel()
	testInstancesBehind(t, "haproxy", "STAMPEDE_REQUIRE_HAPROXY", "haproxy")
}

func testInstancesBehind(t *testing.T, balancer, require, pkg string) {
	if testing.Short() {
		t.Skip("builds a server and loads it for about 10 s")
	}
	if _, err := exec.LookPath(balancer); err != nil {
		if os.Getenv(require) != "" {
			t.Fatalf("%s is set but %s is not on the PATH", require, balancer)
		}
		t.Skipf("no %s on the PATH (Debian: apt-get install %s)", balancer, pkg)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "serialserver")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/serialserver").CombinedOutput(); err != nil {
		t.Fatalf("building the test server: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	p, err := plan.Parse("fleet.yaml", []byte(fmt.Sprintf(`
name: fleet
target: { base_url: "http://%s" }
scenarios:
  - name: s
    steps: [{ path: / }]
load: { vus: 1, duration: 1s }
tests:
  scalability:
    instances: { command: "%s -addr 127.0.0.1:{{ port }} -hold 20ms", count: [1, 2, 4], balancer: %s }
    users_per_unit: 6
    duration: 3s
    stabilize: 1ms
`, addr, bin, balancer)))
	if err != nil {
		t.Fatal(err)
	}
	run, err := Test(context.Background(), p, Options{Only: []string{"scalability"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Phases) != 1 || !run.Phases[0].Pass {
		t.Fatalf("phases: %+v", run.Phases)
	}
	sc := run.Scalability
	if sc == nil || sc.Unit != "instances" || len(sc.Configs) != 3 {
		t.Fatalf("scalability %+v: want 3 instance counts", sc)
	}
	x1 := sc.Configs[0].RPS
	var ns, xs []float64
	for i, c := range sc.Configs {
		t.Logf("%s: %.1f requests/s, p99 %.1f ms, errors %.3f, efficiency %.2f", c.Name, c.RPS, c.P99, c.ErrorRate, sc.Efficiency[i])
		// No more than the instances can serve (N × 50/s), and — since a
		// busy machine slows the proxy and the generator, not the
		// instances' capacity — more than N−1 of them could: every
		// instance takes its share.
		capacity := c.N * 50
		if c.RPS > 1.05*capacity || (c.N > 1 && c.RPS < 0.6*capacity) || c.ErrorRate > 0 {
			t.Errorf("%s: %.1f requests/s, %.3f errors; want up to %.0f/s (N × 50/s) and over 60%% of it, none failing", c.Name, c.RPS, c.ErrorRate, capacity)
		}
		if i > 0 && c.RPS <= sc.Configs[i-1].RPS {
			t.Errorf("%s: %.1f requests/s, no more than %s's %.1f", c.Name, c.RPS, sc.Configs[i-1].Name, sc.Configs[i-1].RPS)
		}
		if want := c.RPS / (c.N * x1); math.Abs(sc.Efficiency[i]-want) > 1e-9 {
			t.Errorf("%s: efficiency %v, X(N)/(N·X(1)) = %v", c.Name, sc.Efficiency[i], want)
		}
		ns, xs = append(ns, c.N), append(xs, c.RPS)
	}
	// Pearson's r by its computational formula.
	n := float64(len(ns))
	var sx, sy, sxy, sxx, syy float64
	for i := range ns {
		sx, sy, sxy, sxx, syy = sx+ns[i], sy+xs[i], sxy+ns[i]*xs[i], sxx+ns[i]*ns[i], syy+xs[i]*xs[i]
	}
	r := (n*sxy - sx*sy) / math.Sqrt((n*sxx-sx*sx)*(n*syy-sy*sy))
	if math.Abs(sc.LinearityR-r) > 1e-9 || !sc.Linear {
		t.Errorf("linearity r %v (linear %v), by the formula %v", sc.LinearityR, sc.Linear, r)
	}
	if !strings.Contains(run.Phases[0].Note, "linear") {
		t.Errorf("note %q does not give the linearity", run.Phases[0].Note)
	}
	// The balancer and the instances are gone.
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("something still listens on the balancer's address %s", addr)
	}
}
