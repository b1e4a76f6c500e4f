package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/plan"
)

// A plan whose benchmarks run shell commands says so, naming the plan,
// before the first command runs.
func TestPlanShellCommandsAreAnnounced(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	planFile := filepath.Join(dir, "plan.yaml")
	os.WriteFile(planFile, []byte(fmt.Sprintf(`name: shell
target: { base_url: %s }
scenarios:
  - { name: s, steps: [{ path: / }] }
load: { vus: 1, duration: 1s }
benchmarks:
  - { name: touch, command: "touch %s", runs: 2, warmup: 0 }
`, srv.URL, marker)), 0o644)
	res := runCLI(t, context.Background(), "test", planFile, "--only", "bench", "--profile", "quick", "--no-store", "-q")
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the benchmark did not run (exit %d):\n%s", res.code, res.stderr)
	}
	note := "stampede: note: " + planFile + " runs shell commands with your permissions (benchmarks: touch)"
	if !strings.Contains(res.stderr, note) {
		t.Errorf("stderr lacks %q:\n%s", note, res.stderr)
	}
}

func TestShellCommands(t *testing.T) {
	for _, tc := range []struct {
		reason string
		p      *plan.Plan
		want   string
	}{
		{"no commands", &plan.Plan{}, ""},
		{"a Go benchmark runs go test, not the shell", &plan.Plan{Benchmarks: []*plan.BenchmarkSuite{{Name: "g", Go: "./..."}}}, ""},
		{"a command", &plan.Plan{Benchmarks: []*plan.BenchmarkSuite{{Name: "c", Command: "true"}}}, "benchmarks: c"},
		{"apply", &plan.Plan{Tests: &plan.Tests{Scalability: &plan.ScalabilitySpec{Apply: "kubectl scale --replicas={n}"}}}, "tests.scalability.apply"},
	} {
		if got := strings.Join(shellCommands(tc.p), ", "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.reason, got, tc.want)
		}
	}
}
