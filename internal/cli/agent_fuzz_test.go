package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/dist"
)

// FuzzLayOut: whatever paths a job names, the agent writes only inside
// its work directory, or refuses with an error.
func FuzzLayOut(f *testing.F) {
	for _, s := range []string{"ids.csv", "../data/ids.csv", "a/../../b", "/etc/passwd", "..", "", "x/./y", strings.Repeat("../", 70) + "z"} {
		f.Add(s, "plan.yaml")
	}
	f.Fuzz(func(t *testing.T, path, name string) {
		root := t.TempDir()
		work := filepath.Join(root, "work")
		if err := os.Mkdir(work, 0o700); err != nil {
			t.Fatal(err)
		}
		job := &dist.Job{PlanName: name, PlanYAML: []byte("name: x\n"), Files: []dist.File{{Path: path, Data: []byte("1")}}}
		planPath, err := layOut(work, job)
		if err != nil {
			return
		}
		if rel, err := filepath.Rel(work, planPath); err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("plan written at %s, outside %s", planPath, work)
		}
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && p != root && p != work && !strings.HasPrefix(p, work+string(filepath.Separator)) {
				t.Fatalf("%q wrote %s, outside the work directory", path, p)
			}
			return nil
		})
	})
}
