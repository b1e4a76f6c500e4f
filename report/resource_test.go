package report

import (
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// TestConsoleStressResource: the cpu and memory variants' limit is a line
// of the stress section.
func TestConsoleStressResource(t *testing.T) {
	r := protocolRun()
	r.Stress.Variant = "cpu"
	r.Stress.Resource = &result.ResourceLimit{Resource: "cpu", Reached: true, Load: 410, RPS: 405, Cores: 1.9, Capacity: 2,
		Text: "the service saturates 1.9 of 2 cores at 405 requests/s (410 rps); latency breaks at 478.125 rps"}
	out := string(renderRun(t, Console, r))
	if want := "  cpu limit: the service saturates 1.9 of 2 cores at 405 requests/s (410 rps); latency breaks at 478.125 rps\n"; !strings.Contains(out, want) {
		t.Errorf("console lacks %q:\n%s", want, out)
	}
}
