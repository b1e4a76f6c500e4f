package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

func TestCheckParts(t *testing.T) {
	run := func(seg, hash string) *result.Run { return &result.Run{Plan: "shop", Segment: seg, PlanHash: hash} }
	for _, tc := range []struct {
		reason string
		runs   []*result.Run
		want   string // "" for a complete set, else in the error
	}{
		{"one whole run", []*result.Run{run("", "h")}, ""},
		{"all three parts, any order", []*result.Run{run("2/3", "h"), run("3/3", "h"), run("1/3", "h")}, ""},
		{"one part of two", []*result.Run{run("1/2", "h")}, "part 2/2 of 2 is missing"},
		{"two whole runs would double the load", []*result.Run{run("", "h"), run("", "h")}, "are whole runs"},
		{"a part twice", []*result.Run{run("1/2", "h"), run("1/2", "h"), run("2/2", "h")}, "part 1/2 is given 2 times"},
		{"parts cut differently", []*result.Run{run("1/2", "h"), run("2/3", "h")}, "is part 2/3, but the other parts are of 2"},
		{"a whole run among parts", []*result.Run{run("1/2", "h"), run("2/2", "h"), run("", "h")}, "is a whole run"},
		{"different plans", []*result.Run{run("1/2", "h1"), run("2/2", "h2")}, "different plan"},
	} {
		files := make([]string, len(tc.runs))
		for i := range files {
			files[i] = string(rune('a'+i)) + ".json"
		}
		_, err := checkParts(tc.runs, files)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.reason, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")):
			t.Errorf("%s: err = %v, want one line with %q", tc.reason, err, tc.want)
		}
	}
}

// merge refuses an incomplete set (exit 2, naming the missing part) and
// merges it with --force, warning.
func TestMergeRefusesIncompleteSets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, seg string) string {
		r := faultyRun()
		r.Segment = seg
		p := filepath.Join(dir, name)
		if err := result.WriteFile(p, r); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1, whole := write("p1.json", "1/2"), write("whole.json", "")
	res := runCLI(t, context.Background(), "merge", p1)
	if res.code != ExitInvalid || !strings.Contains(res.stderr, "part 2/2 of 2 is missing") {
		t.Errorf("one part of two: exit %d, stderr %q", res.code, res.stderr)
	}
	res = runCLI(t, context.Background(), "merge", whole, whole)
	if res.code != ExitInvalid || !strings.Contains(res.stderr, "whole runs") {
		t.Errorf("two whole runs: exit %d, stderr %q", res.code, res.stderr)
	}
	res = runCLI(t, context.Background(), "merge", p1, "--force", "--out", "json="+filepath.Join(dir, "all.json"))
	if !strings.Contains(res.stderr, "warning: merging anyway") || res.code == ExitInvalid {
		t.Errorf("--force: exit %d, stderr %q", res.code, res.stderr)
	}
}
