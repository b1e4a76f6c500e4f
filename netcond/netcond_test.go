package netcond_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/netcond"
	"github.com/stampede-perf/stampede/plan"
)

// examples/network.yaml is a valid plan and protocol.
func TestExamplePlan(t *testing.T) {
	p, err := plan.Load(filepath.Join("..", "examples", "network.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := p.Protocol("")
	if err != nil {
		t.Fatal(err)
	}
	if tests.Stress.Variant != plan.VariantNetwork || !p.Load.Network.Shapes() {
		t.Fatalf("variant %q, network %v", tests.Stress.Variant, p.Load.Network)
	}
}

// The proxy refuses a target that is not on this machine, and rounds
// what it cannot apply exactly: whole milliseconds, whole kB/s.
func TestStartRefusesRemoteTargetsAndRounds(t *testing.T) {
	if _, err := netcond.Start(&plan.Network{Latency: 1}, "192.0.2.1:80"); err == nil || !strings.Contains(err.Error(), "loopback targets only") {
		t.Fatalf("a remote target: %v", err)
	}
	n := &plan.Network{Latency: plan.Duration(2500e3), Bandwidth: 100_000, Loss: 0.02}
	c := netcond.Conditions(n)
	if c.UpLatencyMS != 3 || c.DownBandwidthBPS != 104_000 || c.Loss != 0.02 {
		t.Fatalf("applied %+v: want 3 ms (2.5 rounded) and 104 kbit/s (12.5 kB/s rounded to 13)", c)
	}
	if !strings.Contains(c.Conditions, "latency 3ms each way") || !strings.Contains(c.Conditions, "104kbit/s per connection each way") {
		t.Fatalf("described as %q", c.Conditions)
	}
}
