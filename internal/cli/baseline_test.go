package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

func TestBaselineSetAndShow(t *testing.T) {
	dsn := fixtureStore(t, fixture)

	res := storeCLI(t, dsn, "baseline", "show")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "no baselines in ") {
		t.Fatalf("before any baseline: exit %d, %q", res.code, res.stdout)
	}
	for _, tc := range []struct {
		why, ref, want string
	}{
		{"by id", "r1", `baseline of plan "shop" is now r1 `},
		{"the latest run of a plan", "latest:api", `baseline of plan "api" is now a1 `},
		{"replacing one", "r2", `baseline of plan "shop" is now r2 `},
	} {
		res := storeCLI(t, dsn, "baseline", "set", tc.ref)
		if res.code != 0 || !strings.HasPrefix(res.stdout, tc.want) {
			t.Errorf("%s: baseline set %s: exit %d, stdout %q, stderr %q", tc.why, tc.ref, res.code, res.stdout, res.stderr)
		}
	}
	res = storeCLI(t, dsn, "baseline", "show")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	golden(t, "baseline_show_all.golden", res.stdout)
	res = storeCLI(t, dsn, "baseline", "show", "--plan", "shop")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	golden(t, "baseline_show_shop.golden", res.stdout)
}

func TestBaselineInvalid(t *testing.T) {
	dsn := fixtureStore(t, fixture)
	file := filepath.Join(t.TempDir(), "run.json")
	if err := result.WriteFile(file, fixture[0].run()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		why     string
		args    []string
		message string
	}{
		{"an aborted run", []string{"set", "r3"}, "run r3 was aborted; a baseline must be a complete run"},
		{"a plan without runs", []string{"set", "latest:nope"}, `no runs of plan "nope"`},
		{"no such run", []string{"set", "nope"}, "not found"},
		{"a file", []string{"set", file}, "is a file"},
		{"no run named", []string{"set"}, "accepts 1 arg"},
		{"a plan without a baseline", []string{"show", "--plan", "api"}, `no baseline for plan "api"`},
		{"no subcommand", nil, "say set RUN or show"},
	} {
		res := storeCLI(t, dsn, append([]string{"baseline"}, tc.args...)...)
		if res.code != ExitInvalid || !strings.Contains(res.stderr, tc.message) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.why, res.code, res.stderr, ExitInvalid, tc.message)
		}
	}
}
