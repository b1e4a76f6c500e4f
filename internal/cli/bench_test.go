package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
)

// benchRun runs the command line in-process and returns the exit code,
// stdout and stderr.
func benchRun(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	store := filepath.Join(t.TempDir(), "history.db") // never the package directory
	e := &env{
		stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string {
			if k == "STAMPEDE_STORE" {
				return store
			}
			return ""
		},
		now: time.Now,
	}
	code := run(ctx, e, args)
	return code, stdout.String(), stderr.String()
}

const (
	benchOld = "../../bench/testdata/old.txt"
	benchNew = "../../bench/testdata/new.txt"
	benchBad = "../../bench/testdata/bad.txt"
)

func TestBenchCommands(t *testing.T) {
	dir := t.TempDir()
	jsonPath, mdPath, csvPath := filepath.Join(dir, "run.json"), filepath.Join(dir, "t.md"), filepath.Join(dir, "t.csv")
	code, out, errOut := benchRun(t, context.Background(), "bench", "--runs", "3", "--warmup", "1", "--shell", "none",
		"--out", "json="+jsonPath, "--export-markdown", mdPath, "--export-csv", csvPath, "--", "true", "sleep 0.01")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"Benchmark 1: true", "Benchmark 2: sleep 0.01", "Time (mean ± σ):", "3 runs", "Summary (reference: 'true')"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	run, err := result.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != "bench" || len(run.Benchmarks) != 2 || run.Benchmarks[1].Command != "sleep 0.01" ||
		run.Benchmarks[1].Runs != 3 || run.Benchmarks[1].MeanS < 0.009 || run.Benchmarks[1].Warmup != 1 {
		t.Errorf("run document: kind %q, benchmarks %+v", run.Kind, run.Benchmarks)
	}
	if run.Comparison == nil || len(run.Comparison.Rows) != 1 {
		t.Errorf("comparison = %+v, want one row", run.Comparison)
	}
	md, _ := os.ReadFile(mdPath)
	csv, _ := os.ReadFile(csvPath)
	if !strings.HasPrefix(string(md), "| Command | Mean [") || !strings.Contains(string(md), "| `sleep 0.01` |") {
		t.Errorf("markdown export:\n%s", md)
	}
	if !strings.HasPrefix(string(csv), "command,mean_s,stddev_s,median_s") || strings.Count(string(csv), "\n") != 3 {
		t.Errorf("csv export:\n%s", csv)
	}
}

func TestBenchParameters(t *testing.T) {
	for _, tc := range []struct {
		reason string
		args   []string
		want   []string // the commands run, in order
	}{
		{"a list, flags after the command", []string{"-N", "--runs", "2", "sleep {t}", "--parameter-list", "t", "0.001,0.002"},
			[]string{"sleep 0.001", "sleep 0.002"}},
		{"a scan with a step", []string{"-N", "--runs", "2", "--parameter-scan", "ms", "1", "5", "--parameter-step", "2", "--", "sleep 0.00{ms}"},
			[]string{"sleep 0.001", "sleep 0.003", "sleep 0.005"}},
		{"short flags as in hyperfine, the list varying slowest", []string{"-N", "-r", "2", "-L", "t", "1,3", "-P", "n", "1", "2", "--", "sleep 0.00{n}{t}"},
			[]string{"sleep 0.0011", "sleep 0.0021", "sleep 0.0013", "sleep 0.0023"}},
	} {
		jsonPath := filepath.Join(t.TempDir(), "run.json")
		args := append([]string{"bench", "--out", "json=" + jsonPath}, tc.args...)
		code, _, errOut := benchRun(t, context.Background(), args...)
		if code != ExitOK {
			t.Errorf("%s: exit %d: %s", tc.reason, code, errOut)
			continue
		}
		run, err := result.ReadFile(jsonPath)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range run.Benchmarks {
			got = append(got, b.Command)
			if len(b.Params) == 0 {
				t.Errorf("%s: %s has no parameters recorded", tc.reason, b.Command)
			}
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: ran %q, want %q", tc.reason, got, tc.want)
		}
	}
}

func TestBenchInvalidInput(t *testing.T) {
	for _, tc := range []struct {
		reason string
		args   []string
		want   string
	}{
		{"no command", []string{"bench", "--runs", "3"}, "no command given"},
		{"a bad number", []string{"bench", "--runs", "x", "--", "true"}, `invalid argument "x"`},
		{"an unknown flag", []string{"bench", "--frobnicate", "--", "true"}, "unknown flag: --frobnicate"},
		{"a scan needs three values", []string{"bench", "--parameter-scan", "n", "1", "--", "sleep {n}"}, "needs a name, a lowest and a highest value"},
		{"a parameter no command uses", []string{"bench", "-L", "n", "1,2", "--", "true"}, "parameter n is not used"},
		{"an unknown output", []string{"bench", "--out", "yaml=x", "--", "true"}, "use --out json=FILE"},
		{"a gate that is not a percentage", []string{"bench", "--fail-on-regression", "much", "--", "true", "true"}, "positive percentage"},
		{"several problems at once", []string{"bench", "--warmup", "-1", "--out", "x", "--", "true"}, "warmup must be ≥ 0"},
		{"--runs with --min-runs", []string{"bench", "--runs", "3", "--min-runs", "5", "--", "true"}, "--runs fixes the number of runs"},
		{"a quote left open without a shell", []string{"bench", "-N", "--", "echo 'x"}, "unterminated single quote"},
		{"a program that does not exist", []string{"bench", "-N", "--runs", "2", "--", "/nonexistent/x"}, "cannot start command"},
		{"compare needs two files", []string{"bench", "compare", benchOld}, "accepts 2 arg(s)"},
		{"compare of a missing file", []string{"bench", "compare", benchOld, "/nonexistent.txt"}, "no such file"},
		{"compare format", []string{"bench", "compare", "--format", "html", benchOld, benchNew}, "use text or markdown"},
		{"import names file:line of every bad line", []string{"bench", "import", benchBad}, "bad.txt:4: "},
		{"go needs a positive count", []string{"bench", "go", "--count", "0"}, "--count must be > 0"},
	} {
		code, _, errOut := benchRun(t, context.Background(), tc.args...)
		if code != ExitInvalid || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 saying %q", tc.reason, code, errOut, tc.want)
		}
	}
	code, _, errOut := benchRun(t, context.Background(), "bench", "--warmup", "-1", "--out", "x", "--", "true")
	if code != ExitInvalid || !strings.Contains(errOut, "use --out json=FILE") {
		t.Errorf("every problem must be reported at once: %q", errOut)
	}
	code, _, errOut = benchRun(t, context.Background(), "bench", "import", benchBad)
	for _, line := range []string{"bad.txt:6: ", "bad.txt:7: "} {
		if !strings.Contains(errOut, line) {
			t.Errorf("import: %q does not name %s (exit %d)", errOut, line, code)
		}
	}
}

func TestBenchFailingCommand(t *testing.T) {
	code, _, errOut := benchRun(t, context.Background(), "bench", "-N", "--runs", "2", "--", "false")
	if code != ExitFailed || !strings.Contains(errOut, "--ignore-failure") {
		t.Errorf("exit %d, %q; want 1 suggesting --ignore-failure", code, errOut)
	}
	code, out, errOut := benchRun(t, context.Background(), "bench", "-N", "--runs", "2", "-i", "--", "false")
	if code != ExitOK || !strings.Contains(out, "exited non-zero") {
		t.Errorf("with -i: exit %d, %q %q; want 0 with a warning", code, out, errOut)
	}
}

func TestBenchGate(t *testing.T) {
	// 'sleep 0.05' is five times as slow as 'sleep 0.01', far beyond 5%.
	code, out, errOut := benchRun(t, context.Background(), "bench", "-N", "--runs", "10", "--fail-on-regression", "5%", "--", "sleep 0.01", "sleep 0.05")
	if code != ExitFailed || !strings.Contains(errOut, "'sleep 0.05' is") || !strings.Contains(errOut, "slower than 'sleep 0.01'") {
		t.Errorf("exit %d, stderr %q; want 1 naming the regression\n%s", code, errOut, out)
	}
}

func TestBenchInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(400*time.Millisecond, cancel)
	jsonPath := filepath.Join(t.TempDir(), "run.json")
	start := time.Now()
	code, out, _ := benchRun(t, ctx, "bench", "-N", "--runs", "1000", "--out", "json="+jsonPath, "--", "sleep 0.02")
	if code != ExitInterrupted || time.Since(start) > 5*time.Second {
		t.Fatalf("exit %d after %s, want 130 soon after the interrupt", code, time.Since(start))
	}
	run, err := result.ReadFile(jsonPath)
	if err != nil {
		t.Fatalf("the partial run was not written: %v", err)
	}
	b := run.Benchmarks[0]
	if !run.Aborted || !b.Partial || b.Runs < 1 || b.Runs >= 1000 {
		t.Errorf("aborted %v, partial %v, %d runs; want a partial run with what was measured", run.Aborted, b.Partial, b.Runs)
	}
	if !strings.Contains(out, "partial:") {
		t.Errorf("the console must say the result is partial:\n%s", out)
	}
}

func TestBenchCompare(t *testing.T) {
	code, out, errOut := benchRun(t, context.Background(), "bench", "compare", benchOld, benchNew)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"pkg: example.com/shop/codec", "vs base", "-17.63% (p=0.000 n=10)", "~ (p=0.190 n=10)", "+6.02%", "geomean", "need >= 4 samples"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	jsonPath := filepath.Join(t.TempDir(), "cmp.json")
	code, _, errOut = benchRun(t, context.Background(), "bench", "compare", "--fail-on-regression", "5%", "--out", "json="+jsonPath, benchOld, benchNew)
	if code != ExitFailed || !strings.Contains(errOut, "Decode-2 (sec/op): +6.02% (p=0.000 n=10)") {
		t.Errorf("gate 5%%: exit %d, stderr %q; want 1 naming Decode", code, errOut)
	}
	// The JSON is the comparison, rows at the top as `stampede compare`
	// writes it.
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var cmpDoc result.Comparison
	if err := json.Unmarshal(raw, &cmpDoc); err != nil || !strings.Contains(string(raw), `"rows"`) {
		t.Fatalf("%s is not a comparison with rows: %v\n%s", jsonPath, err, raw)
	}
	if !cmpDoc.Regression {
		t.Fatalf("comparison = %+v", cmpDoc)
	}
	found := false
	for _, r := range cmpDoc.Rows {
		if r.Name == "Decode-2" && r.Unit == "sec/op" {
			found = r.Significant && r.Regression && r.DeltaPct > 6 && r.PValue < 0.05
		}
	}
	if !found {
		t.Errorf("rows lack a significant Decode-2 regression: %+v", cmpDoc.Rows)
	}

	code, _, _ = benchRun(t, context.Background(), "bench", "compare", "--fail-on-regression", "7%", benchOld, benchNew)
	if code != ExitOK {
		t.Errorf("gate 7%%: exit %d, want 0 (Decode is 6%% slower)", code)
	}
	code, out, _ = benchRun(t, context.Background(), "bench", "compare", "--format", "markdown", benchOld, benchNew)
	if code != ExitOK || !strings.Contains(out, "| sec/op | ../../bench/testdata/old.txt |") {
		t.Errorf("markdown: exit %d\n%s", code, out)
	}
}

func TestBenchImportThenCompare(t *testing.T) {
	// A Run document written by import compares like the text it came from.
	jsonPath := filepath.Join(t.TempDir(), "old.json")
	code, out, errOut := benchRun(t, context.Background(), "bench", "import", "--out", "json="+jsonPath, benchOld)
	if code != ExitOK || !strings.Contains(out, "Encode/format=json-2") {
		t.Fatalf("import: exit %d %s\n%s", code, errOut, out)
	}
	_, fromText, _ := benchRun(t, context.Background(), "bench", "compare", benchOld, benchNew)
	code, fromJSON, errOut := benchRun(t, context.Background(), "bench", "compare", jsonPath, benchNew)
	if code != ExitOK {
		t.Fatalf("compare with a run document: exit %d %s", code, errOut)
	}
	// Only the column label (and so the padding) differs.
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if norm(strings.ReplaceAll(fromJSON, jsonPath, benchOld)) != norm(fromText) {
		t.Errorf("comparison from the run document differs from the one from text:\n%s\n---\n%s", fromJSON, fromText)
	}
}

func TestBenchGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a test binary")
	}
	jsonPath := filepath.Join(t.TempDir(), "go.json")
	code, out, errOut := benchRun(t, context.Background(), "bench", "go", "../../bench/testdata/gobench", "--count", "2", "--benchtime", "100x", "--out", "json="+jsonPath)
	if code != ExitOK {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "BenchmarkSum") || !strings.Contains(out, "Sum-") || !strings.Contains(out, "sec/op") {
		t.Errorf("output lacks the streamed lines or the table:\n%s", out)
	}
	run, err := result.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Benchmarks) != 2 || run.Benchmarks[0].Runs != 2 || len(run.Benchmarks[0].Samples["sec/op"]) != 2 {
		t.Errorf("benchmarks = %+v", run.Benchmarks)
	}
}

func TestBenchHelp(t *testing.T) {
	code, out, _ := benchRun(t, context.Background(), "bench", "--help")
	if code != ExitOK || !strings.Contains(out, "--parameter-scan") || !strings.Contains(out, "hyperfine") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
}

// An interrupted bench is still recorded in the history: the save does not
// run on the interrupted context.
func TestBenchInterruptedIsRecorded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(400*time.Millisecond, cancel)
	db := filepath.Join(t.TempDir(), "history.db")
	code, out, errOut := benchRun(t, ctx, "bench", "-N", "--runs", "1000", "--store", db, "--", "sleep 0.02")
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", code, errOut)
	}
	if strings.Contains(errOut, "not recorded") || !strings.Contains(out, "recorded as run ") {
		t.Fatalf("the interrupted run was not recorded:\nstdout %s\nstderr %s", out, errOut)
	}
	res := storeCLI(t, db, "history")
	if res.code != 0 || !strings.Contains(res.stdout, "aborted") {
		t.Errorf("history lacks the aborted bench run (exit %d):\n%s%s", res.code, res.stdout, res.stderr)
	}
}
