package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// history --plan, baseline set latest:PLAN and baseline show --plan take a
// plan's name as people type it: any case, a unique prefix of the name or
// of one of its words, or the plan file; when nothing matches, the known
// names are listed.
func TestPlanNamesAsTyped(t *testing.T) {
	shapes := []shape{
		{id: "d1", plan: "Demo shop, standard mix", kind: "load", day: 1, scale: 1, rps: 120, windows: 12, verdict: "pass", seed: 1},
		{id: "d2", plan: "Demo shop, standard mix", kind: "load", day: 2, scale: 1, rps: 120, windows: 12, verdict: "pass", seed: 2},
		{id: "p1", plan: "payments API", kind: "load", day: 3, scale: 1, rps: 300, windows: 12, verdict: "pass", seed: 3},
		{id: "p2", plan: "partners API", kind: "load", day: 4, scale: 1, rps: 300, windows: 12, verdict: "pass", seed: 4},
	}
	dsn := fixtureStore(t, shapes)
	dir := t.TempDir()
	planFile := filepath.Join(dir, "checkout.yaml")
	if err := os.WriteFile(planFile, []byte("name: payments API\ntarget: { base_url: http://127.0.0.1:1 }\nscenarios:\n  - name: s\n    steps: [{ path: / }]\nload: { vus: 1, duration: 1s }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		why, name string
		ids       []string // the runs history lists; nil: an error
		message   string   // … that says this
	}{
		{"the exact name", "Demo shop, standard mix", []string{"d2", "d1"}, ""},
		{"any case", "demo SHOP, standard MIX", []string{"d2", "d1"}, ""},
		{"a prefix", "demo", []string{"d2", "d1"}, ""},
		{"a word of the name", "shop", []string{"d2", "d1"}, ""},
		{"a prefix of a word", "Sho", []string{"d2", "d1"}, ""},
		{"a unique prefix among similar names", "pay", []string{"p1"}, ""},
		{"the plan file", planFile, []string{"p1"}, ""},
		{"the plan file without .yaml", strings.TrimSuffix(planFile, ".yaml"), []string{"p1"}, ""},
		{"a prefix of two plans", "pa", nil, `"partners API", "payments API"`},
		{"a word of two plans", "api", nil, `"partners API", "payments API"`},
		{"nothing like it", "inventory", nil, `known plans: "Demo shop, standard mix", "partners API", "payments API"`},
	} {
		res := storeCLI(t, dsn, "history", "--plan", tc.name)
		if tc.ids == nil {
			if res.code != ExitInvalid || !strings.Contains(res.stderr, tc.message) {
				t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.why, res.code, res.stderr, ExitInvalid, tc.message)
			}
			continue
		}
		if res.code != 0 {
			t.Errorf("%s: exit %d: %s", tc.why, res.code, res.stderr)
			continue
		}
		var ids []string
		for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n")[1:] {
			ids = append(ids, strings.Fields(line)[0])
		}
		if strings.Join(ids, " ") != strings.Join(tc.ids, " ") {
			t.Errorf("%s: rows %v, want %v", tc.why, ids, tc.ids)
		}
	}

	res := storeCLI(t, dsn, "baseline", "set", "latest:shop")
	if res.code != 0 || !strings.Contains(res.stdout, `baseline of plan "Demo shop, standard mix" is now d2`) {
		t.Fatalf("baseline set latest:shop: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := storeCLI(t, dsn, "baseline", "show", "--plan", "demo"); res.code != 0 || !strings.Contains(res.stdout, "d2") {
		t.Errorf("baseline show --plan demo: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := storeCLI(t, dsn, "baseline", "set", "latest:inventory"); res.code != ExitInvalid || !strings.Contains(res.stderr, `no runs of plan "inventory"`) ||
		!strings.Contains(res.stderr, "known plans") {
		t.Errorf("baseline set latest:inventory: exit %d, stderr %q", res.code, res.stderr)
	}
	if res := storeCLI(t, dsn, "report", "latest:shop", "--format", "md"); res.code != 0 || !strings.Contains(res.stdout, "Demo shop") {
		t.Errorf("report latest:shop: exit %d\n%.300s%s", res.code, res.stdout, res.stderr)
	}
}
