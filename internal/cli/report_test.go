package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
)

// faultyRun is a Run recorded before findings existed: a watched shop
// whose profiles name the demo's planted faults, and no findings.
func faultyRun() *result.Run {
	const demo = "github.com/stampede-perf/stampede/demo"
	start := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	r := &result.Run{Version: result.Version, ID: "20260304-100000-abcd0123", Kind: "load", Plan: "shop", Model: "closed", Verdict: "pass",
		StartedAt: start, EndedAt: start.Add(time.Minute),
		Host:       &result.Host{OS: "linux", Arch: "amd64", Cores: 2},
		Summary:    result.Summary{Requests: 6000, RPS: 100, DurationS: 60, Iterations: 2000, MaxVUs: 20, Latency: result.Latency{Mean: 12, P50: 8, P95: 30, P99: 60}},
		Steps:      []result.StepResult{{Scenario: "Browse Products", Step: "list products", Kind: "http", Requests: 6000, RPS: 100, Latency: result.Latency{Mean: 12, P99: 60}}},
		Thresholds: []result.ThresholdResult{{Expr: "p95 < 500ms", Pass: true, Value: 30, Unit: "ms"}},
		System: &result.System{
			Hotspots:   []result.Hotspot{{Function: "scoreProducts", Package: demo, FlatPct: 5, CumPct: 58}},
			Contention: []result.Contention{{Function: demo + ".(*Shop).auditTrail", Kind: "mutex", DelayPct: 97, DelayS: 120}},
			Heap: &result.Heap{StartMB: 10, EndMB: 60, GrowthMBPerMin: 50, GrowthCILow: 45, GrowthCIHigh: 55, Confidence: 0.99, PValue: 1e-6, Points: 55, WindowS: 55, Source: "heap_inuse", LeakSuspected: true,
				TopGrowth: []result.HeapGrowth{{Function: demo + ".(*Shop).rememberRequest", MB: 48}}},
		},
	}
	for i := range 60 {
		r.Series = append(r.Series, result.Window{TS: float64(i), Requests: 100, RPS: 100, VUs: 20, P50: 8, P95: 30, P99: 60})
		r.System.Timeline = append(r.System.Timeline, result.SystemPoint{TS: float64(i + 1), CPUPercent: 70, RSSMB: 40 + float64(i), HeapMB: 10 + float64(i)})
	}
	return r
}

func writeFaultyRun(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.json")
	if err := result.WriteFile(path, faultyRun()); err != nil {
		t.Fatal(err)
	}
	return path
}

// noStore runs the CLI with the history pointed at a file that does not
// exist, so that only files can be reports' runs.
func noStore(t *testing.T, args ...string) storeCLIResult {
	t.Helper()
	return storeCLI(t, filepath.Join(t.TempDir(), "none", "history.db"), args...)
}

func TestReportFormats(t *testing.T) {
	in := writeFaultyRun(t)
	dir := t.TempDir()

	html := filepath.Join(dir, "report.html")
	if res := noStore(t, "report", in, "-o", html); res.code != 0 || !strings.Contains(res.stderr, "html report of run 20260304-100000-abcd0123 written to") {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	page, _ := os.ReadFile(html)
	for _, fault := range []string{"scoreProducts", "rememberRequest", "auditTrail"} {
		if !bytes.Contains(page, []byte(fault)) {
			t.Errorf("the HTML report does not name %s", fault)
		}
	}

	res := noStore(t, "report", in, "--format", "markdown")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "## ✅ PASS · shop") || !strings.Contains(res.stdout, "**Findings**") {
		t.Errorf("markdown: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := noStore(t, "report", in); res.stdout != noStore(t, "report", in, "--format", "md").stdout {
		t.Error("standard output does not default to Markdown")
	}

	junit := filepath.Join(dir, "junit.xml")
	if res := noStore(t, "report", in, "-o", junit); res.code != 0 {
		t.Fatalf("junit: exit %d: %s", res.code, res.stderr)
	}
	var suites struct {
		Suites []struct {
			Name string `xml:"name,attr"`
		} `xml:"testsuite"`
	}
	b, _ := os.ReadFile(junit)
	if err := xml.Unmarshal(b, &suites); err != nil || len(suites.Suites) < 3 {
		t.Errorf("the .xml output is not JUnit: %v\n%s", err, b)
	}

	jsonOut := filepath.Join(dir, "concluded.json")
	if res := noStore(t, "report", in, "-o", jsonOut); res.code != 0 {
		t.Fatalf("json: exit %d: %s", res.code, res.stderr)
	}
	got, err := result.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	// The run had no findings when recorded; reading it concluded it.
	if len(got.Findings) < 3 || len(got.Recommendations) == 0 || len(got.NotEvaluated) == 0 {
		t.Fatalf("the old run got %d findings, %d recommendations, %d not evaluated", len(got.Findings), len(got.Recommendations), len(got.NotEvaluated))
	}
	for _, kind := range []result.FindingKind{result.KindMemoryLeak, result.KindCPUHotspot, result.KindLockContention} {
		if !strings.Contains(kindsOf(got.Findings[:3]), string(kind)) {
			t.Errorf("%s is not among the top three findings: %s", kind, kindsOf(got.Findings))
		}
	}
}

func kindsOf(fs []result.Finding) string {
	var k []string
	for _, f := range fs {
		k = append(k, string(f.Kind))
	}
	return strings.Join(k, " ")
}

func TestReportAnalysisSettings(t *testing.T) {
	in := writeFaultyRun(t)
	res := noStore(t, "report", in, "--format", "json", "--analysis", "hotspot_share=0.9")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	r, err := result.Decode(strings.NewReader(res.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(kindsOf(r.Findings), string(result.KindCPUHotspot)) {
		t.Error("--analysis hotspot_share=0.9 did not raise the threshold")
	}

	planFile := filepath.Join(t.TempDir(), "plan.yaml")
	os.WriteFile(planFile, []byte("name: shop\ntarget: {base_url: \"http://127.0.0.1:1\"}\nscenarios: [{name: s, steps: [{path: /}]}]\nload: {vus: 1, duration: 1s}\nanalysis: {leak_slope_mb_per_h: 6000}\n"), 0o644)
	res = noStore(t, "report", in, "--format", "json", "--plan", planFile)
	if res.code != 0 {
		t.Fatalf("--plan: exit %d: %s", res.code, res.stderr)
	}
	r, _ = result.Decode(strings.NewReader(res.stdout))
	if r == nil || strings.Contains(kindsOf(r.Findings), string(result.KindMemoryLeak)) {
		t.Error("the plan's analysis block was not used")
	}
}

func TestReportInvalid(t *testing.T) {
	in := writeFaultyRun(t)
	notRun := filepath.Join(t.TempDir(), "plan.yaml")
	os.WriteFile(notRun, []byte("name: x\n"), 0o644)
	for _, tc := range []struct {
		why  string
		args []string
		says string
	}{
		{"no run", []string{"report"}, "accepts 1 arg"},
		{"unknown format", []string{"report", in, "--format", "pdf"}, `--format "pdf"`},
		{"unknown analysis key", []string{"report", in, "--analysis", "cpu_precent=90"}, `did you mean "cpu_percent"`},
		{"analysis without a number", []string{"report", in, "--analysis", "cpu_percent"}, "want KEY=NUMBER"},
		{"not a run document", []string{"report", notRun}, "not a stampede run document"},
		{"no such file and no history", []string{"report", "missing.json"}, "is not a file, and no run history"},
		{"unwritable output", []string{"report", in, "-o", filepath.Join(t.TempDir(), "no", "dir", "r.html")}, "cannot write"},
	} {
		res := noStore(t, tc.args...)
		if res.code != ExitInvalid || !strings.Contains(res.stderr, tc.says) {
			t.Errorf("%s: exit %d, stderr %q; want 2 saying %q", tc.why, res.code, res.stderr, tc.says)
		}
	}
}

func TestReportFromHistory(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "history.db")
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Save(context.Background(), faultyRun())
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{id, "latest", "latest:shop"} {
		res := storeCLI(t, dsn, "report", ref, "--format", "md")
		if res.code != 0 || !strings.Contains(res.stdout, "scoreProducts") {
			t.Errorf("report %s: exit %d: %s%s", ref, res.code, res.stdout, res.stderr)
		}
	}
	if res := storeCLI(t, dsn, "report", "no-such-run"); res.code != ExitInvalid {
		t.Errorf("an unknown run: exit %d", res.code)
	}
}

func TestParseReports(t *testing.T) {
	got, err := parseReports([]string{"html=a.html", "markdown=b.md", "xml=c.xml", "json=d.json"})
	if err != nil || strings.Join(got, " ") != "html=a.html md=b.md junit=c.xml json=d.json" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"html", "html=", "pdf=x.pdf"} {
		if _, err := parseReports([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestDemoWritesReports: the demo with its planted faults writes every
// report format at the end of its run.
func TestDemoWritesReports(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the demo shop for a few seconds")
	}
	dir := t.TempDir()
	html, md, junit := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.md"), filepath.Join(dir, "r.xml")
	res := runCLI(t, context.Background(), "demo", "--fault", "leak,hotspot,lock", "--duration", "2s", "--vus", "4", "-q", "--no-store",
		"--report", "html="+html, "--report", "md="+md, "--report", "junit="+junit)
	if res.code != ExitOK && res.code != ExitFailed {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	for _, p := range []string{html, md, junit} {
		if b, err := os.ReadFile(p); err != nil || len(b) < 200 {
			t.Errorf("%s: %d bytes, %v", p, len(b), err)
		}
	}
	page, _ := os.ReadFile(html)
	if !bytes.Contains(page, []byte(`id="findings"`)) || !bytes.Contains(page, []byte(`data-chart="latency"`)) {
		t.Error("the demo's HTML report lacks its findings or latency chart")
	}
	if !strings.Contains(res.stdout, "findings") {
		t.Errorf("the summary shows no findings section:\n%s", res.stdout)
	}
}

// TestReportDocExamples runs the `stampede report` commands of
// docs/reports.md and checks that its analysis block lists every key.
func TestReportDocExamples(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "docs", "reports.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := writeFaultyRun(t)
	dir := t.TempDir()
	var ran int
	documented := map[string]bool{}
	inBlock, lang := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inBlock, lang = !inBlock, strings.TrimPrefix(line, "```")
			continue
		}
		if !inBlock {
			continue
		}
		if lang == "yaml" {
			if k, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.HasPrefix(line, "  ") {
				documented[k] = true
			}
			continue
		}
		if lang != "sh" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "stampede" || fields[1] != "report" {
			continue
		}
		args := fields[1:]
		for i, a := range args {
			if a == "#" || strings.HasPrefix(a, "#") {
				args = args[:i]
				break
			}
		}
		if strings.Contains(line, "--plan") {
			continue // needs a plan file of the reader's own
		}
		for i, a := range args {
			switch {
			case a == "run.json":
				args[i] = in
			case i > 0 && (args[i-1] == "-o" || args[i-1] == "--output"):
				args[i] = filepath.Join(dir, filepath.Base(a))
			}
		}
		ran++
		if res := noStore(t, args...); res.code == ExitInvalid && !strings.Contains(res.stderr, "no run history") {
			t.Errorf("docs: stampede %s: exit %d: %s", strings.Join(args, " "), res.code, res.stderr)
		}
	}
	if ran < 4 {
		t.Errorf("ran only %d example commands from docs/reports.md", ran)
	}
	for _, s := range analyze.Settings() {
		if !documented[s.Key] {
			t.Errorf("docs/reports.md does not show the analysis key %s", s.Key)
		}
	}
}
