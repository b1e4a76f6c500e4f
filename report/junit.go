package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/result"
)

// JUnit writes r as JUnit XML for CI test reports. Its failures are
// the gates that fail the stampede command (exit code 1), so a red
// command is never a green report: one test case per threshold or SLO
// (suite "thresholds", a phase's under its own class), one per
// comparison row (suite "regressions": a failure when the row is a
// regression), one per phase of a protocol (suite "phases": a failure
// when the phase's own judgement failed it, a soak's leak verdict or a
// recovery that never came; skipped when it did not run), and in suite
// "run" one saying whether the run completed (a failure when it was
// aborted) and one for its verdict (a failure when it is inconclusive,
// or a fail that no other case explains).
//
// Findings are not gates: they are listed, most severe first, as
// properties of the suite "findings" (finding.1, finding.2, …: severity,
// kind and title) and in its system-out, so a CI page shows them without
// turning a passing run red.
//
// The document follows the JUnit schema that CI servers read: every
// testsuite has name, tests, failures, errors, skipped, time, timestamp,
// hostname, id and package, a properties element and system-out and
// system-err; every testcase has name, classname and time.
func JUnit(w io.Writer, r *result.Run) error {
	doc := junitDoc(r)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	ID         int             `xml:"id,attr"`
	Package    string          `xml:"package,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out"`
	SystemErr  string          `xml:"system-err"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func junitDoc(r *result.Run) junitSuites {
	name := "stampede"
	if r.Plan != "" {
		name += ": " + r.Plan
	}
	ts := "1970-01-01T00:00:00"
	if !r.StartedAt.IsZero() {
		ts = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	host := "localhost"
	if r.Host != nil && r.Host.Hostname != "" {
		host = r.Host.Hostname
	}
	dur := secs(r.Summary.DurationS)
	pkg := "stampede"
	if r.Plan != "" {
		pkg = "stampede." + classPart(r.Plan)
	}
	newSuite := func(id int, suiteName string) junitSuite {
		return junitSuite{Name: suiteName, Time: dur, Timestamp: ts, Hostname: host, ID: id, Package: pkg}
	}
	runProps := []junitProperty{{"run", r.ID}, {"kind", r.Kind}, {"verdict", string(r.Verdict)}, {"model", string(r.Model)}, {"target", redact.String(r.Target)}}

	run := newSuite(0, "run")
	run.Properties = nonEmpty(runProps)
	done := junitCase{Name: "completed", Classname: pkg + ".run", Time: dur}
	if r.Aborted {
		done.Failure = &junitFailure{Message: "run aborted: " + orText(r.AbortReason, "stopped early"), Type: "aborted",
			Text: "The run stopped before its end; its results cover the part that ran."}
	}
	run.Cases = append(run.Cases, done)

	ths := newSuite(1, "thresholds")
	addThreshold := func(class string, t result.ThresholdResult) {
		scope := orText(t.Scope, "overall")
		c := junitCase{Name: t.Expr + " [" + scope + "]", Classname: class, Time: "0",
			SystemOut: "actual " + value(t.Value, t.Unit)}
		if !t.Pass {
			c.Failure = &junitFailure{Message: fmt.Sprintf("%s [%s]: actual %s", t.Expr, scope, value(t.Value, t.Unit)), Type: "threshold",
				Text: "The threshold did not hold."}
		}
		ths.Cases = append(ths.Cases, c)
	}
	for _, t := range r.Thresholds {
		addThreshold(pkg+".thresholds", t)
	}
	for _, p := range r.Phases {
		for _, t := range p.Thresholds {
			addThreshold(pkg+".thresholds."+classPart(p.Name), t)
		}
	}

	suites := []junitSuite{run, ths}
	if len(r.Phases) > 0 {
		phs := newSuite(len(suites), "phases")
		for _, p := range r.Phases {
			c := junitCase{Name: p.Name, Classname: pkg + ".phases", Time: secs(p.Summary.DurationS), SystemOut: p.Note}
			switch {
			case p.Skipped:
				c.Skipped = &junitSkipped{Message: orText(p.Note, "not run")}
			case p.Inconclusive:
				c.SystemOut = "inconclusive: " + p.Note
			case !p.Pass:
				c.Failure = &junitFailure{Message: "phase " + p.Name + " failed" + colonText(p.Note), Type: "phase",
					Text: "The phase's own judgement failed it."}
			}
			phs.Cases = append(phs.Cases, c)
		}
		suites = append(suites, phs)
	}
	if c := r.Comparison; c != nil {
		reg := newSuite(len(suites), "regressions")
		reg.Properties = nonEmpty([]junitProperty{{"base", c.Base}, {"new", c.New}, {"threshold", strconv.FormatFloat(c.Threshold, 'g', -1, 64)}})
		for _, row := range c.Rows {
			jc := junitCase{Name: row.Name + " " + row.Metric, Classname: pkg + ".regressions", Time: "0",
				SystemOut: fmt.Sprintf("%s → %s %s (%+.1f%%, p=%s, %s)", numText(row.Old), numText(row.New), row.Unit, row.DeltaPct, numText(row.PAdjusted), row.Verdict)}
			if row.Regression {
				jc.Failure = &junitFailure{Message: fmt.Sprintf("%s %s regressed: %s → %s %s (%+.1f%%)", row.Name, row.Metric, numText(row.Old), numText(row.New), row.Unit, row.DeltaPct),
					Type: "regression", Text: "Significantly worse than " + c.Base + "."}
			}
			reg.Cases = append(reg.Cases, jc)
		}
		suites = append(suites, reg)
	}

	fs := newSuite(len(suites), "findings")
	var out strings.Builder
	for i, f := range r.Findings {
		fs.Properties = append(fs.Properties, junitProperty{fmt.Sprintf("finding.%d", i+1), fmt.Sprintf("%s %s: %s", f.Severity, f.Kind, f.Title)})
		fmt.Fprintf(&out, "[%s] %s (%.0f%% sure)\n", f.Severity, f.Title, 100*f.Confidence)
		for _, e := range f.Evidence {
			fmt.Fprintf(&out, "    %s = %s from %s\n", e.Metric, evidenceText(e.Value, e.Unit), e.Source)
		}
	}
	high := 0
	for _, f := range r.Findings {
		if f.Severity == analyze.SeverityHigh {
			high++
		}
	}
	fs.Properties = append([]junitProperty{{"findings", strconv.Itoa(len(r.Findings))}, {"findings.high", strconv.Itoa(high)}}, fs.Properties...)
	for _, n := range r.NotEvaluated {
		fmt.Fprintf(&out, "not evaluated: %s: %s (add %s)\n", n.Rule, n.Reason, n.Add)
	}
	fs.SystemOut = out.String()
	suites = append(suites, fs)

	// The verdict: inconclusive fails the command whatever else held,
	// and a fail is a failure here when no other case says why.
	verdict := junitCase{Name: "verdict", Classname: pkg + ".run", Time: "0", SystemOut: orText(string(r.Verdict), "none")}
	switch {
	case r.Verdict == analyze.VerdictInconclusive:
		verdict.Failure = &junitFailure{Message: "inconclusive" + colonText(r.VerdictReason), Type: "inconclusive",
			Text: "The run could not be judged: its numbers rest on a saturated load generator."}
	case r.Verdict == analyze.VerdictFail && countFailures(suites) == 0:
		verdict.Failure = &junitFailure{Message: "verdict fail" + colonText(r.VerdictReason), Type: "verdict",
			Text: "The run's verdict is fail."}
	}
	suites[0].Cases = append(suites[0].Cases, verdict)

	doc := junitSuites{Name: name, Time: dur}
	for i := range suites {
		s := &suites[i]
		s.Tests = len(s.Cases)
		for _, c := range s.Cases {
			if c.Failure != nil {
				s.Failures++
			}
			if c.Skipped != nil {
				s.Skipped++
			}
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
	}
	doc.Suites = suites
	return doc
}

func countFailures(suites []junitSuite) int {
	n := 0
	for _, s := range suites {
		for _, c := range s.Cases {
			if c.Failure != nil {
				n++
			}
		}
	}
	return n
}

// colonText is ": text", or "" for no text.
func colonText(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func nonEmpty(ps []junitProperty) []junitProperty {
	var out []junitProperty
	for _, p := range ps {
		if p.Value != "" {
			out = append(out, p)
		}
	}
	return out
}

func secs(s float64) string {
	if !finite(s) || s < 0 {
		s = 0
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}

// classPart makes a name usable as a part of a dotted class name.
func classPart(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	if len(f) == 0 {
		return "x"
	}
	return strings.Join(f, "_")
}
