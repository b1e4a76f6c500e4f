// Package importertest checks an imported plan the way `stampede run`
// would: written, parsed by plan.Load from a file, and compiled by
// proto.Compile (templates, feeders, extractors), so a test of an importer
// fails on anything the engine would refuse.
package importertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/importer"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/proto"
)

// Env answers every environment variable a plan reads with a value.
func Env(string) string { return "x" }

// Check writes p into dir as plan.yaml, loads and compiles it, and
// returns the YAML and the parsed plan.
func Check(t testing.TB, p *importer.Plan, dir string) ([]byte, *plan.Plan) {
	t.Helper()
	file := filepath.Join(dir, "plan.yaml")
	data, err := importer.Write(p, file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Load(file)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if err := Compile(pl); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return data, pl
}

// Compile compiles a parsed plan as a run would.
func Compile(p *plan.Plan) error {
	_, _, err := proto.Compile(p, proto.Options{Getenv: Env})
	return err
}

// Fuzzed checks what an importer returned for fuzzed input: an error is
// one line; a plan writes, parses and compiles (in memory, as fuzz.yaml).
func Fuzzed(t testing.TB, p *importer.Plan, err error) {
	t.Helper()
	if err != nil {
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("not one line: %q", err)
		}
		return
	}
	data, err := importer.Write(p, "fuzz.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Parse("fuzz.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if err := Compile(pl); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
}
