package report

import (
	stdbytes "bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/result"
)

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !stdbytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it); got:\n%s", path, got)
	}
}

func renderRun(t *testing.T, f func(io.Writer, *result.Run) error, r *result.Run) []byte {
	t.Helper()
	var b stdbytes.Buffer
	if err := f(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestMarkdownGolden(t *testing.T) {
	golden(t, "rich.golden.md", renderRun(t, Markdown, richRun()))
	golden(t, "bare.golden.md", renderRun(t, Markdown, bareRun()))
}

func TestMarkdownTablesStayTables(t *testing.T) {
	md := string(renderRun(t, Markdown, richRun()))
	// A table row has as many cells as its header: the pipe in an error
	// example or a title must not add one.
	var cols int
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row with %d cells under a header of %d: %s", n-1, cols-1, line)
		}
	}
	for _, want := range []string{"❌ FAIL", "scoreProducts", "rememberRequest", "auditTrail", "Regressions against", "<details><summary>Recommendations"} {
		if !strings.Contains(md, want) {
			t.Errorf("the summary does not say %q", want)
		}
	}
	if strings.Contains(md, "<script>") {
		t.Error("HTML from the run reached the Markdown")
	}
}

func TestMarkdownFoldsManyThresholds(t *testing.T) {
	r := richRun()
	for i := range 10 {
		r.Phases[1].Thresholds = append(r.Phases[1].Thresholds, result.ThresholdResult{Expr: "p99 < 1s", Scope: "step" + strconv.Itoa(i), Pass: true, Value: 300, Unit: "ms"})
	}
	md := string(renderRun(t, Markdown, r))
	shown, folded, ok := strings.Cut(md, "<details><summary>All thresholds (14)</summary>")
	if !ok {
		t.Fatalf("the thresholds are not folded:\n%s", md)
	}
	shown = shown[strings.Index(shown, "**Thresholds:** 13 of 14 passed"):]
	if strings.Count(shown, "| ✅ |") != 0 || strings.Count(shown, "| ❌ |") != 1 {
		t.Errorf("in view:\n%s", shown)
	}
	if folded, _, _ = strings.Cut(folded, "</details>"); strings.Count(folded, "| ✅ |") != 13 {
		t.Errorf("folded:\n%s", folded)
	}
}

func TestJUnitGolden(t *testing.T) {
	golden(t, "rich.golden.xml", renderRun(t, JUnit, richRun()))
	golden(t, "bare.golden.xml", renderRun(t, JUnit, bareRun()))
}

// The JUnit schema's required structure, read independently of the
// writer's own types.
type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    *int     `xml:"tests,attr"`
	Failures *int     `xml:"failures,attr"`
	Suites   []xSuite `xml:"testsuite"`
}

type xSuite struct {
	Name       *string   `xml:"name,attr"`
	Tests      *int      `xml:"tests,attr"`
	Failures   *int      `xml:"failures,attr"`
	Errors     *int      `xml:"errors,attr"`
	Time       *string   `xml:"time,attr"`
	Timestamp  *string   `xml:"timestamp,attr"`
	Hostname   *string   `xml:"hostname,attr"`
	ID         *int      `xml:"id,attr"`
	Package    *string   `xml:"package,attr"`
	Properties *struct { // required, may be empty
		Property []struct {
			Name  *string `xml:"name,attr"`
			Value *string `xml:"value,attr"`
		} `xml:"property"`
	} `xml:"properties"`
	Cases     []xCase `xml:"testcase"`
	SystemOut *string `xml:"system-out"`
	SystemErr *string `xml:"system-err"`
}

type xCase struct {
	Name      *string `xml:"name,attr"`
	Classname *string `xml:"classname,attr"`
	Time      *string `xml:"time,attr"`
	Failures  []struct {
		Message *string `xml:"message,attr"`
		Type    *string `xml:"type,attr"`
	} `xml:"failure"`
}

// checkJUnit validates doc against the schema's required structure and
// returns the failed test cases by suite.
func checkJUnit(t *testing.T, doc []byte) map[string][]string {
	t.Helper()
	var s xSuites
	if err := xml.Unmarshal(doc, &s); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if !stdbytes.HasPrefix(doc, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Error("no XML declaration")
	}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`)
	decimal := regexp.MustCompile(`^\d+(\.\d+)?$`)
	failed := map[string][]string{}
	total, totalFailed := 0, 0
	for i, su := range s.Suites {
		if su.Name == nil || su.Tests == nil || su.Failures == nil || su.Errors == nil || su.Time == nil || su.Timestamp == nil ||
			su.Hostname == nil || su.ID == nil || su.Package == nil || su.Properties == nil || su.SystemOut == nil || su.SystemErr == nil {
			t.Fatalf("testsuite %d lacks a required attribute or element: %+v", i, su)
		}
		if !stamp.MatchString(*su.Timestamp) || !decimal.MatchString(*su.Time) || *su.Name == "" || *su.Hostname == "" {
			t.Errorf("testsuite %s: timestamp %q, time %q, hostname %q", *su.Name, *su.Timestamp, *su.Time, *su.Hostname)
		}
		if *su.ID != i {
			t.Errorf("testsuite %s has id %d, want %d", *su.Name, *su.ID, i)
		}
		for _, p := range su.Properties.Property {
			if p.Name == nil || p.Value == nil || *p.Name == "" {
				t.Errorf("testsuite %s: a property without name or value", *su.Name)
			}
		}
		nf := 0
		for _, c := range su.Cases {
			if c.Name == nil || c.Classname == nil || c.Time == nil || *c.Name == "" || !decimal.MatchString(*c.Time) {
				t.Fatalf("testsuite %s: a testcase lacks name, classname or time", *su.Name)
			}
			if len(c.Failures) > 1 {
				t.Errorf("testcase %s has %d failures", *c.Name, len(c.Failures))
			}
			for _, f := range c.Failures {
				if f.Message == nil || f.Type == nil || *f.Type == "" {
					t.Errorf("testcase %s: failure without message or type", *c.Name)
				}
				nf++
				failed[*su.Name] = append(failed[*su.Name], *c.Name)
			}
		}
		if *su.Tests != len(su.Cases) || *su.Failures != nf || *su.Errors != 0 {
			t.Errorf("testsuite %s counts tests=%d failures=%d errors=%d, has %d cases and %d failures", *su.Name, *su.Tests, *su.Failures, *su.Errors, len(su.Cases), nf)
		}
		total += len(su.Cases)
		totalFailed += nf
	}
	if s.Tests == nil || s.Failures == nil || *s.Tests != total || *s.Failures != totalFailed {
		t.Errorf("testsuites counts do not add up: %v %v, want %d %d", s.Tests, s.Failures, total, totalFailed)
	}
	return failed
}

func TestJUnitSchema(t *testing.T) {
	r := richRun()
	failed := checkJUnit(t, renderRun(t, JUnit, r))
	// The failures are exactly the failed gates: one threshold and one
	// regression row; findings fail nothing.
	if got := failed["thresholds"]; len(got) != 1 || got[0] != "error_rate < 1% [overall]" {
		t.Errorf("failed thresholds %q", got)
	}
	if got := failed["regressions"]; len(got) != 1 || got[0] != "overall p99" {
		t.Errorf("failed regressions %q", got)
	}
	if got := failed["phases"]; len(got) != 1 || got[0] != "spike" {
		t.Errorf("failed phases %q", got)
	}
	if len(failed["findings"]) != 0 || len(failed["run"]) != 0 {
		t.Errorf("failures outside the gates: %v", failed)
	}
	doc := string(renderRun(t, JUnit, r))
	if !strings.Contains(doc, `name="findings.high" value="`) || !strings.Contains(doc, "scoreProducts") {
		t.Error("the findings are not listed")
	}

	r.Aborted, r.AbortReason = true, "interrupted"
	if got := checkJUnit(t, renderRun(t, JUnit, r))["run"]; len(got) != 1 {
		t.Errorf("an aborted run fails %v, want the run's completion", got)
	}
	checkJUnit(t, renderRun(t, JUnit, bareRun()))
}

// Every gate that makes the command exit 1 is a failure in the JUnit
// report, and a run that passes every gate has none: one run per gate,
// each failing by that gate alone.
func TestJUnitFailsEveryFailedGate(t *testing.T) {
	pass := func() *result.Run {
		r := bareRun()
		r.Kind, r.Verdict = "test", analyze.VerdictPass
		r.Thresholds = []result.ThresholdResult{{Expr: "p95 < 500ms", Pass: true, Value: 12, Unit: "ms"}}
		r.Phases = []result.Phase{{Name: "load", Kind: "load", Pass: true}, {Name: "soak", Kind: "soak", Pass: true},
			{Name: "stress", Kind: "stress", Skipped: true, Note: "not in this profile"}}
		return r
	}
	for _, c := range []struct {
		gate  string
		apply func(r *result.Run)
		suite string
	}{
		{"a failed threshold", func(r *result.Run) { r.Thresholds[0].Pass, r.Verdict = false, analyze.VerdictFail }, "thresholds"},
		{"a failed soak verdict, no threshold failing", func(r *result.Run) {
			r.Phases[1].Pass, r.Phases[1].Note, r.Verdict = false, "the heap grows 4 MB/min after GC", analyze.VerdictFail
		}, "phases"},
		{"an inconclusive run", func(r *result.Run) {
			r.Verdict, r.VerdictReason = analyze.VerdictInconclusive, "the load generator was saturated"
		}, "run"},
		{"an aborted run", func(r *result.Run) { r.Aborted, r.AbortReason = true, "threshold failed" }, "run"},
		{"a fail verdict that nothing else explains", func(r *result.Run) { r.Verdict = analyze.VerdictFail }, "run"},
	} {
		r := pass()
		if failed := checkJUnit(t, renderRun(t, JUnit, r)); len(failed) != 0 {
			t.Fatalf("a passing run has failures: %v", failed)
		}
		c.apply(r)
		failed := checkJUnit(t, renderRun(t, JUnit, r))
		if len(failed[c.suite]) != 1 {
			t.Errorf("%s: failures %v, want one in suite %s", c.gate, failed, c.suite)
		}
	}
}

// htmlURL finds fetchable references: src, href and CSS url() pointing
// anywhere but this page.
var htmlURL = regexp.MustCompile(`(?i)(?:src|href|action|xlink:href)\s*=\s*"([^"#][^"]*)"|url\(\s*['"]?([^'")]+)`)

func TestHTMLIsSelfContained(t *testing.T) {
	for _, r := range []*result.Run{richRun(), bareRun()} {
		page := string(renderRun(t, HTML, r))
		for _, m := range htmlURL.FindAllStringSubmatch(page, -1) {
			u := m[1] + m[2]
			if !strings.HasPrefix(u, "data:") {
				t.Errorf("the page refers to %q", u)
			}
		}
		for _, bad := range []string{"<script", "<link", "<img", "@import", "<iframe"} {
			if strings.Contains(page, bad) {
				t.Errorf("the page holds %s", bad)
			}
		}
		if !strings.Contains(page, `Content-Security-Policy" content="default-src 'none'`) {
			t.Error("no policy forbidding fetches")
		}
		if strings.Contains(page, "NaN") || strings.Contains(page, "Inf") {
			t.Error("a number that is not finite reached the page")
		}
	}
}

func TestHTMLSections(t *testing.T) {
	page := string(renderRun(t, HTML, richRun()))
	// Verdict and SLA come first, then findings and recommendations.
	order := []string{`id="verdict"`, `class="sla"`, `id="findings"`, `id="recommendations"`, `id="latency"`, `id="throughput"`,
		`id="errors"`, `id="system"`, `id="stress"`, `id="scalability"`, `id="profiles"`, `id="comparison"`, `id="benchmarks"`}
	last := -1
	for _, s := range order {
		i := strings.Index(page, s)
		if i < 0 {
			t.Errorf("no %s", s)
			continue
		}
		if i < last {
			t.Errorf("%s is out of order", s)
		}
		last = i
	}
	for _, chart := range []string{"latency", "throughput", "users", "errors", "cpu", "memory", "io", "heap", "stress", "scalability"} {
		if !strings.Contains(page, `data-chart="`+chart+`"`) {
			t.Errorf("no %s chart", chart)
		}
	}
	for _, want := range []string{"scoreProducts", "rememberRequest", "auditTrail", "Quick wins", "breaking point 500 rps", "USL fit", ">warm-up<", ">spike<", "run-41"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	// Text from the run is escaped, never markup.
	if strings.Contains(page, `<script>alert`) || !strings.Contains(page, "&lt;script&gt;") {
		t.Error("an error example was not escaped")
	}
	// Findings are shown in their order, each with its own evidence.
	r := richRun()
	articles := strings.Split(page, `<article class="finding`)[1:]
	if len(articles) != len(r.Findings) {
		t.Fatalf("%d findings shown, the run has %d", len(articles), len(r.Findings))
	}
	for i, f := range r.Findings {
		// html/template escapes + as well as what HTMLEscapeString does.
		if title := strings.ReplaceAll(esc(f.Title), "+", "&#43;"); !strings.Contains(articles[i], "<h3>"+title+"</h3>") {
			t.Errorf("finding %d on the page is not %q", i, f.Title)
		}
		article, _, _ := strings.Cut(articles[i], "</article>")
		if got := strings.Count(article, "<tr><td>"); got != len(f.Evidence) {
			t.Errorf("finding %d shows %d evidence rows, has %d", i, got, len(f.Evidence))
		}
	}
}

func TestHTMLSaysWhatIsMissing(t *testing.T) {
	page := string(renderRun(t, HTML, bareRun()))
	for _, want := range []string{"No thresholds", "No per-second series", "was not watched", "No stress phase", "No scalability phase", "No profiles", "Not compared with a baseline", "Not evaluated"} {
		if !strings.Contains(page, want) {
			t.Errorf("the bare page does not say %q", want)
		}
	}
	if strings.Contains(page, "<svg") {
		t.Error("a chart without data")
	}
}

func TestHTMLUntrusted(t *testing.T) {
	r := richRun()
	r.Generator.Saturated, r.Generator.Reason = true, "the generator used all the CPU it had"
	page := string(renderRun(t, HTML, r))
	banner := strings.Index(page, "This run is not trustworthy")
	if banner < 0 || banner > strings.Index(page, `class="sla"`) {
		t.Error("the untrusted banner is not before the SLA table")
	}
}

func TestChartGeometry(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 97, "0 20 40 60 80 100"},
		{0, 1, "0 0.2 0.4 0.6 0.8 1"},
		{0, 2500, "0 500 1000 1500 2000 2500"},
		{100, 600, "100 200 300 400 500 600"},
		{0, 1.2, "0 0.25 0.5 0.75 1 1.25"},
	} {
		var got []string
		for _, v := range niceTicks(tc.lo, tc.hi, 5) {
			got = append(got, strconv.FormatFloat(v, 'f', -1, 64))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ticks for [%v, %v]: %v, want %s", tc.lo, tc.hi, got, tc.want)
		}
		ticks := niceTicks(tc.lo, tc.hi, 5)
		for i, v := range ticks {
			// Labels share their decimals, and read back as the tick.
			if l := tickLabel(v, ticks); !strings.HasSuffix(l, "k") {
				if x, err := strconv.ParseFloat(l, 64); err != nil || x != v {
					t.Errorf("tick %v labelled %q", ticks[i], l)
				}
			}
		}
	}
	// A pause wider than maxGap breaks the line.
	paused := string((&chart{id: "p", series: []series{{name: "a", xs: []float64{0, 1, 2, 10, 11}, ys: []float64{1, 2, 3, 4, 5}, maxGap: 2.5}}}).svg())
	if d := regexp.MustCompile(`<path class="line[^"]*" d="([^"]*)"`).FindStringSubmatch(paused); d == nil || strings.Count(d[1], "M") != 2 {
		t.Errorf("the pause is bridged: %v", d)
	}
	// One point is marked, not lost.
	one := (&chart{id: "one", series: []series{{name: "a", xs: []float64{5}, ys: []float64{7}}}}).svg()
	if !strings.Contains(string(one), "<circle") {
		t.Error("a series of one point draws nothing")
	}
	// A gap (NaN) breaks the line rather than drawing to zero.
	c := &chart{id: "x", series: []series{{name: "a", xs: []float64{0, 1, 2, 3}, ys: []float64{1, 2, nanValue(), 3}}}}
	svg := string(c.svg())
	if strings.Count(svg, "M") < 2 || strings.Contains(svg, "NaN") {
		t.Errorf("gap not kept: %s", svg)
	}
}

func nanValue() float64 { v := 0.0; return v / v }

func TestConsoleShowsTopFindings(t *testing.T) {
	var b stdbytes.Buffer
	if err := Console(&b, richRun()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	fi, vi := strings.Index(out, "\nfindings"), strings.Index(out, "verdict: FAIL")
	if fi < 0 || vi < fi {
		t.Fatalf("no findings section before the verdict:\n%s", out)
	}
	section := out[fi:vi]
	if strings.Count(section, "% sure)") != consoleFindingsShown || !strings.Contains(section, "scoreProducts") || !strings.Contains(section, "not evaluated") {
		t.Errorf("findings section:\n%s", section)
	}
	b.Reset()
	Console(&b, &result.Run{Version: 1, Verdict: "pass"})
	if strings.Contains(b.String(), "findings") {
		t.Error("a run never concluded shows a findings section")
	}
}

// The errors table says in which step each kind of error happened, so one
// step's failures are not read as another's.
func TestConsoleErrorsNameTheirStep(t *testing.T) {
	var b stdbytes.Buffer
	if err := Console(&b, richRun()); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "timeout") && strings.Contains(line, "240") {
			if !strings.Contains(line, "Add to Cart / add to cart") {
				t.Errorf("the timeout row does not name its step: %q", line)
			}
			return
		}
	}
	t.Errorf("no timeout row in:\n%s", b.String())
}
