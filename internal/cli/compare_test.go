package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// withBaseline is the fixture history with r2 as the shop baseline.
func withBaseline(t *testing.T) string {
	t.Helper()
	dsn := fixtureStore(t, fixture)
	if res := storeCLI(t, dsn, "baseline", "set", "r2"); res.code != 0 {
		t.Fatalf("baseline set: %d %s", res.code, res.stderr)
	}
	return dsn
}

func TestCompareDefaultIsBaselineAgainstLatest(t *testing.T) {
	dsn := withBaseline(t)
	res := storeCLI(t, dsn, "compare")
	if res.code != 0 {
		t.Fatalf("without a gate a regression exits 0; got %d: %s", res.code, res.stderr)
	}
	golden(t, "compare.golden", res.stdout)
	for _, want := range []string{"base: r2 ", "new:  r4 ", "REGRESSION:"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestCompareMarkdown(t *testing.T) {
	dsn := withBaseline(t)
	res := storeCLI(t, dsn, "compare", "--format", "markdown")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	golden(t, "compare.md.golden", res.stdout)
}

func TestCompareGate(t *testing.T) {
	dsn := withBaseline(t)
	for _, tc := range []struct {
		why     string
		args    []string
		code    int
		message string
	}{
		{"a 25% slowdown fails a 5% gate", []string{"--fail-on-regression", "5%"}, ExitFailed, "regression"},
		{"the gate value is also the threshold", []string{"--fail-on-regression", "40%"}, ExitOK, ""},
		{"two healthy runs pass", []string{"r1", "r2", "--fail-on-regression", "5"}, ExitOK, ""},
		{"a threshold without a gate never fails", []string{"--threshold", "1%"}, ExitOK, ""},
	} {
		res := storeCLI(t, dsn, append([]string{"compare"}, tc.args...)...)
		if res.code != tc.code || !strings.Contains(res.stderr, tc.message) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q\n%s", tc.why, res.code, res.stderr, tc.code, tc.message, res.stdout)
		}
	}
}

func TestCompareFilesAndOutputs(t *testing.T) {
	dir := t.TempDir()
	base, head := filepath.Join(dir, "base.json"), filepath.Join(dir, "new.json")
	if err := result.WriteFile(base, fixture[1].run()); err != nil {
		t.Fatal(err)
	}
	if err := result.WriteFile(head, fixture[4].run()); err != nil {
		t.Fatal(err)
	}
	jsonOut, mdOut := filepath.Join(dir, "cmp.json"), filepath.Join(dir, "cmp.md")
	// Files need no history: the store named here does not exist and is
	// never created.
	noStore := filepath.Join(dir, "nowhere", "history.db")
	res := storeCLI(t, noStore, "compare", base, head, "--out", "json="+jsonOut, "--out", "md="+mdOut)
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if _, err := os.Stat(noStore); !os.IsNotExist(err) {
		t.Errorf("comparing files created a history at %s", noStore)
	}
	b, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var cmp result.Comparison
	if err := json.Unmarshal(b, &cmp); err != nil {
		t.Fatal(err)
	}
	if !cmp.Regression || cmp.Base != "r2" || cmp.New != "r4" || len(cmp.Rows) != 15 || cmp.Threshold != 0.05 {
		t.Errorf("comparison document: regression %v, %s → %s, %d rows, threshold %v", cmp.Regression, cmp.Base, cmp.New, len(cmp.Rows), cmp.Threshold)
	}
	md, err := os.ReadFile(mdOut)
	if err != nil || !strings.Contains(string(md), "| step | metric |") {
		t.Errorf("markdown output: %v\n%s", err, md)
	}
}

func TestCompareOneArgumentUsesTheLatestOfItsPlan(t *testing.T) {
	dsn := withBaseline(t)
	res := storeCLI(t, dsn, "compare", "r1")
	if res.code != 0 || !strings.Contains(res.stdout, "base: r1 ") || !strings.Contains(res.stdout, "new:  r4 ") {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = storeCLI(t, dsn, "compare", "--plan", "api")
	if res.code != ExitInvalid || !strings.Contains(res.stderr, `no baseline for plan "api"`) {
		t.Fatalf("--plan api without a baseline: exit %d, %q", res.code, res.stderr)
	}
}

func TestCompareAbortedAndShortRuns(t *testing.T) {
	dsn := withBaseline(t)
	// r3 was aborted after 3 windows: no verdict, and warnings that say so.
	res := storeCLI(t, dsn, "compare", "r2", "r3", "--fail-on-regression", "5%")
	if res.code != 0 {
		t.Fatalf("too few windows must not fail the gate: exit %d %s", res.code, res.stderr)
	}
	for _, want := range []string{"new run was aborted", "too few windows", "rows had too few windows for a verdict"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}
}

func TestCompareInvalid(t *testing.T) {
	dsn := withBaseline(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"kind":"load"}`), 0o644)
	for _, tc := range []struct {
		why     string
		dsn     string
		args    []string
		message string
	}{
		{"unknown run", dsn, []string{"nope", "r2"}, "neither a run"},
		{"not a Run document", dsn, []string{bad, "r2"}, "not a stampede run document"},
		{"bad threshold", dsn, []string{"--threshold", "lots"}, "positive percentage"},
		{"negative gate", dsn, []string{"--fail-on-regression", "-5%"}, "positive percentage"},
		{"threshold and gate disagree", dsn, []string{"--threshold", "3%", "--fail-on-regression", "5%"}, "disagree"},
		{"bad format", dsn, []string{"--format", "html"}, "use text or markdown"},
		{"bad --out", dsn, []string{"--out", "csv=x"}, "unknown format"},
		{"three runs", dsn, []string{"r1", "r2", "r4"}, "accepts at most 2 arg"},
		{"no history", filepath.Join(t.TempDir(), "none.db"), nil, "no run history at"},
		{"history without a baseline", fixtureStore(t, fixture), nil, `no baseline for plan "shop"`},
	} {
		res := storeCLI(t, tc.dsn, append([]string{"compare"}, tc.args...)...)
		if res.code != ExitInvalid || !strings.Contains(res.stderr, tc.message) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.why, res.code, res.stderr, ExitInvalid, tc.message)
		}
	}
}

func TestParsePercentFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"5%", 0.05, true}, {"5", 0.05, true}, {" 0.5% ", 0.005, true}, {"120%", 1.2, true},
		{"0", 0, false}, {"-1%", 0, false}, {"five", 0, false}, {"", 0, false}, {"NaN", 0, false}, {"Inf%", 0, false},
	} {
		got, err := parsePercentFlag("--x", tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parsePercentFlag(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// docIDs are the run ids docs/history.md shows, for the fixture runs.
var docIDs = map[string]string{
	"r1": "20260301-080000-1a2b3c4d",
	"r2": "20260302-080000-77d2a4b9",
	"a1": "20260303-080000-e4a01f55",
	"r3": "20260304-080000-0c3f9e71",
	"r4": "20260305-080000-5be1c0a2",
}

// docFixture is the fixture history under the ids the documentation
// shows, with r2 as the shop baseline.
func docFixture(t *testing.T) string {
	t.Helper()
	var shapes []shape
	for _, sh := range fixture {
		sh.id = docIDs[sh.id]
		shapes = append(shapes, sh)
	}
	dsn := fixtureStore(t, shapes)
	if res := storeCLI(t, dsn, "baseline", "set", docIDs["r2"]); res.code != 0 {
		t.Fatalf("baseline set: %d %s", res.code, res.stderr)
	}
	return dsn
}

// docBlock is one fenced block of a Markdown file.
type docBlock struct {
	lang  string
	lines []string
}

func readDocBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []docBlock
	var cur *docBlock
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			if cur == nil {
				cur = &docBlock{lang: strings.TrimPrefix(line, "```")}
			} else {
				blocks = append(blocks, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil {
			cur.lines = append(cur.lines, line)
		}
	}
	return blocks
}

// TestDocExamples runs every stampede history, baseline and compare
// command in docs/history.md (shell blocks and the workflow) against the
// fixture history, and checks that the sample outputs shown there are what
// the commands print.
func TestDocExamples(t *testing.T) {
	blocks := readDocBlocks(t, filepath.Join("..", "..", "docs", "history.md"))
	dsn := docFixture(t)
	dir := t.TempDir()
	old, cur := filepath.Join(dir, "old.json"), filepath.Join(dir, "new.json")
	result.WriteFile(old, fixture[1].run())
	result.WriteFile(cur, fixture[4].run())

	var ran int
	for _, b := range blocks {
		if b.lang != "sh" && b.lang != "yaml" {
			continue
		}
		for _, line := range b.lines {
			line = strings.TrimSpace(line)
			line = strings.TrimPrefix(line, "run: ")
			if i := strings.IndexAny(line, ">|"); i >= 0 {
				line = line[:i] // shell redirections
			}
			fields := strings.Fields(line)
			if len(fields) < 2 || fields[0] != "stampede" {
				continue
			}
			switch fields[1] {
			case "history", "baseline", "compare":
			default:
				continue
			}
			args := fields[1:]
			for i, a := range args {
				a = strings.Trim(a, `"'`)
				if k, v, ok := strings.Cut(a, "="); ok && (k == "json" || k == "markdown" || k == "md" || k == "text") {
					a = k + "=" + filepath.Join(dir, filepath.Base(v))
				}
				switch a {
				case "old.json":
					a = old
				case "new.json":
					a = cur
				}
				args[i] = a
			}
			ran++
			if res := storeCLI(t, dsn, args...); res.code == ExitInvalid {
				t.Errorf("docs: stampede %s: exit %d: %s", strings.Join(args, " "), res.code, res.stderr)
			}
		}
	}
	if ran < 10 {
		t.Fatalf("ran only %d example commands from docs/history.md", ran)
	}

	// Sample outputs: every line shown (but elisions) is a line printed.
	dsn = docFixture(t)
	outputs := map[string][]string{
		"ID ":   {"history", "--plan", "shop"},
		"base:": {"compare"},
	}
	checked := 0
	for _, b := range blocks {
		if b.lang != "" || len(b.lines) == 0 {
			continue
		}
		for prefix, args := range outputs {
			if !strings.HasPrefix(b.lines[0], prefix) {
				continue
			}
			checked++
			got := storeCLI(t, dsn, args...).stdout
			printed := map[string]bool{}
			for _, l := range strings.Split(got, "\n") {
				printed[strings.TrimRight(l, " ")] = true
			}
			for _, l := range b.lines {
				if strings.Contains(l, "…") || l == "" {
					continue
				}
				if !printed[strings.TrimRight(l, " ")] {
					t.Errorf("docs show a line stampede %s does not print:\n%s\nactual output:\n%s", strings.Join(args, " "), l, got)
				}
			}
		}
	}
	if checked != 2 {
		t.Errorf("checked %d sample outputs, want 2 (history and compare)", checked)
	}
}
