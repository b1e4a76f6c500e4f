package cli

import (
	"context"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoScalability: `stampede demo --only scalability` scales real
// demo shops (1, 2, 4) behind a balancer stampede configures; each count
// serves the stateless journey without errors, and the efficiency and
// linearity are their textbook formulas on the measured throughputs.
// Afterwards nothing listens on the balancer's address.
func TestDemoScalability(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts up to four shops and loads them for about 15 s")
	}
	if !lookPath("nginx") && !lookPath("haproxy") {
		if os.Getenv("STAMPEDE_REQUIRE_NGINX") != "" || os.Getenv("STAMPEDE_REQUIRE_HAPROXY") != "" {
			t.Fatal("neither nginx nor haproxy is on the PATH")
		}
		t.Skip("neither nginx nor haproxy on the PATH")
	}
	out := filepath.Join(t.TempDir(), "scale.json")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res := runCLI(t, ctx, "demo", "--only", "scalability", "--time-scale", "0.3", "--no-store", "-q", "--out", "json="+out)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stderr, "shops behind") {
		t.Errorf("stderr does not say what runs: %s", res.stderr)
	}
	r, _ := readRun(t, out)
	sc := r.Scalability
	if sc == nil || sc.Unit != "instances" || len(sc.Configs) != len(DemoScaleCounts) {
		t.Fatalf("scalability %+v", sc)
	}
	if len(r.Scenarios) != 1 || r.Scenarios[0].Name != demoScaleScenario {
		t.Errorf("scenarios %+v, want the stateless journey alone", r.Scenarios)
	}
	x1 := sc.Configs[0].RPS
	var ns, xs []float64
	for i, c := range sc.Configs {
		t.Logf("%s: %.1f requests/s, p99 %.1f ms, errors %.3f, efficiency %.2f", c.Name, c.RPS, c.P99, c.ErrorRate, sc.Efficiency[i])
		if c.N != float64(DemoScaleCounts[i]) || c.RPS <= 0 || c.ErrorRate > 0 {
			t.Errorf("%s: N %v, %.1f requests/s, errors %.3f", c.Name, c.N, c.RPS, c.ErrorRate)
		}
		if want := c.RPS / (c.N * x1); math.Abs(sc.Efficiency[i]-want) > 1e-9 {
			t.Errorf("%s: efficiency %v, X(N)/(N·X(1)) = %v", c.Name, sc.Efficiency[i], want)
		}
		ns, xs = append(ns, c.N), append(xs, c.RPS)
	}
	n := float64(len(ns))
	var sx, sy, sxy, sxx, syy float64
	for i := range ns {
		sx, sy, sxy, sxx, syy = sx+ns[i], sy+xs[i], sxy+ns[i]*xs[i], sxx+ns[i]*ns[i], syy+xs[i]*xs[i]
	}
	if r := (n*sxy - sx*sy) / math.Sqrt((n*sxx-sx*sx)*(n*syy-sy*sy)); math.Abs(sc.LinearityR-r) > 1e-9 {
		t.Errorf("linearity r %v, by the formula %v", sc.LinearityR, r)
	}
	u, err := url.Parse(r.Target)
	if err != nil || u.Host == "" {
		t.Fatalf("target %q", r.Target)
	}
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("something still listens on the balancer's address %s", u.Host)
	}
}
