// Package importer holds what the importers (importer/curl, importer/har,
// importer/openapi) share: a small model of the plan they write, and the
// writer that turns it into plan YAML.
//
// The importers do not marshal plan.Plan: a generated plan is read and
// finished by a person, so it carries comments where that person must
// decide (how much load, which values to feed, what was left out), keeps
// keys in the order a plan is usually written, and quotes every string so
// that no recorded value can change the document's structure. Literal text
// from a recording or a description is escaped so that a stray `{{` stays
// text and does not become a template action; only the references an
// importer adds on purpose are templates.
//
// Write refuses to return a document that the plan package would not
// accept: it parses what it wrote with plan.Parse, so an importer bug is an
// error here and never a broken file on the user's disk.
package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/stampede-perf/stampede/plan"
)

// Plan is the document an importer produces.
type Plan struct {
	// Header is comment lines written at the top (without "# ").
	Header   []string
	Name     string
	BaseURL  string
	Insecure bool
	Timeout  time.Duration // 0: not written (the plan's default)
	// HeadersComment is written above target.headers.
	HeadersComment []string
	Headers        []KV
	Data           []Feeder
	Scenarios      []*Scenario
	// Load is written as the plan's load block; the zero value writes one
	// VU for 30s with a comment asking for a decision.
	Load Load
}

// Load is the load block written.
type Load struct {
	VUs        int
	Duration   time.Duration
	Iterations int64
}

// KV is one ordered header or query entry; Value is a template.
type KV struct {
	Key, Value string
	Comment    string // written above the entry
}

// Feeder is one data file.
type Feeder struct {
	Name, File, Mode string
	Comment          []string
}

// Scenario is one weighted journey.
type Scenario struct {
	Comment []string
	Name    string
	Weight  int
	Steps   []*Step
}

// Step is one HTTP request. Path, header and query values and Body are
// templates: use Literal for recorded text.
type Step struct {
	Comment []string
	Name    string
	Method  string
	Path    string
	Headers []KV
	Query   []KV
	Body    string
	Timeout time.Duration
	Think   time.Duration
	Extract []Extract
	Status  []int // check.status; empty writes no check
}

// Extract takes one value of this step's response into a variable.
type Extract struct {
	Var     string
	JSON    string // a gjson path
	Header  string
	Regex   string
	Comment string
}

// SetHeader sets header name in hs, replacing one of the same name in any
// case (recordings of HTTP/2 list some twice, in different cases).
func SetHeader(hs []KV, name, value string) []KV {
	for i := range hs {
		if strings.EqualFold(hs[i].Key, name) {
			hs[i].Value = value
			return hs
		}
	}
	return append(hs, KV{Key: name, Value: value})
}

// Header looks header name up in hs, in any case.
func Header(hs []KV, name string) (string, bool) {
	for _, h := range hs {
		if strings.EqualFold(h.Key, name) {
			return h.Value, true
		}
	}
	return "", false
}

// Literal escapes recorded text for a template: every `{{` becomes an
// action that writes `{{`, so the text expands to itself.
//
// A trailing '{' is escaped too, so that a reference written right after
// the text cannot form a `{{` with it.
func Literal(s string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	s = strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
	if t, ok := strings.CutSuffix(s, "{"); ok && !strings.HasSuffix(s, `"{{" }}`) {
		s = t + `{{ "{" }}`
	}
	return s
}

// VarName turns a key from a response (a JSON field, a header name) into a
// template variable name: ASCII letters, digits and '_', starting with a
// letter or '_', lower case; "value" when nothing is left.
func VarName(s string) string {
	var b strings.Builder
	prevUnderscore, prevLower := false, false
	for _, r := range s {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			// Break camelCase into snake_case (but not an acronym: CSRF).
			if unicode.IsUpper(r) && prevLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			prevUnderscore, prevLower = false, unicode.IsLower(r) || unicode.IsDigit(r)
		case b.Len() > 0 && !prevUnderscore:
			b.WriteByte('_')
			prevUnderscore, prevLower = true, false
		}
	}
	out := strings.TrimRight(b.String(), "_")
	if out == "" {
		return "value"
	}
	if out[0] >= '0' && out[0] <= '9' {
		out = "_" + out
	}
	if len(out) > 40 {
		out = strings.TrimRight(out[:40], "_")
	}
	return out
}

// Unique returns name, or name_2, name_3… when used already has it, and
// marks the result used.
func Unique(used map[string]bool, name string) string {
	out := name
	for i := 2; used[out]; i++ {
		out = fmt.Sprintf("%s_%d", name, i)
	}
	used[out] = true
	return out
}

// UniqueName returns name, or "name #2", "name #3"… when used already has
// it, and marks the result used: for step and scenario names, where a
// suffix like _2 would read as part of a path.
func UniqueName(used map[string]bool, name string) string {
	out := name
	for i := 2; used[out]; i++ {
		out = fmt.Sprintf("%s #%d", name, i)
	}
	used[out] = true
	return out
}

// ScenarioName makes s usable as a scenario name (no "/", not empty,
// at most 80 characters).
func ScenarioName(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "/", " ")), " ")
	if s == "" {
		return "imported"
	}
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80])
	}
	return s
}

// Write renders p as plan YAML, names it file in problems, and checks it
// with plan.Parse.
func Write(p *Plan, file string) ([]byte, error) {
	var w writer
	w.doc(p)
	data := w.buf.Bytes()
	if len(data) > plan.MaxPlanBytes {
		return nil, fmt.Errorf("the imported plan would be %d KiB, more than the %d KiB a plan file may be: import a shorter recording or fewer operations",
			len(data)>>10, plan.MaxPlanBytes>>10)
	}
	if _, err := plan.Parse(file, data); err != nil {
		return nil, fmt.Errorf("the imported plan does not validate (please report this with the input): %v", err)
	}
	return data, nil
}

type writer struct {
	buf bytes.Buffer
}

func (w *writer) line(indent int, format string, a ...any) {
	w.buf.WriteString(strings.Repeat(" ", indent))
	fmt.Fprintf(&w.buf, format, a...)
	w.buf.WriteByte('\n')
}

// comment writes each line as a YAML comment; line breaks inside a line
// start new comment lines, so no text can end a comment early.
func (w *writer) comment(indent int, lines ...string) {
	for _, l := range lines {
		for _, part := range strings.Split(l, "\n") {
			part = strings.TrimRight(strings.ReplaceAll(part, "\r", ""), " \t")
			if part == "" {
				w.line(indent, "#")
				continue
			}
			w.line(indent, "# %s", part)
		}
	}
}

// q quotes s as a YAML double-quoted scalar (JSON's escapes are a subset
// of YAML's).
func q(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

func dur(d time.Duration) string {
	if d%time.Second == 0 {
		return d.String()
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

func (w *writer) doc(p *Plan) {
	w.comment(0, p.Header...)
	if len(p.Header) > 0 {
		w.buf.WriteByte('\n')
	}
	w.line(0, "name: %s", q(p.Name))
	w.buf.WriteByte('\n')
	w.line(0, "target:")
	w.line(2, "base_url: %s", q(p.BaseURL))
	if p.Timeout > 0 {
		w.line(2, "timeout: %s", dur(p.Timeout))
	}
	if p.Insecure {
		w.comment(2, "The command skipped TLS verification; keep it only for a test system.")
		w.line(2, "insecure_skip_verify: true")
	}
	if len(p.Headers) > 0 {
		w.comment(2, p.HeadersComment...)
		w.kvs(2, "headers", p.Headers)
	}
	if len(p.Data) > 0 {
		w.buf.WriteByte('\n')
		w.line(0, "data:")
		for _, f := range p.Data {
			w.comment(2, f.Comment...)
			w.line(2, "%s:", q(f.Name))
			w.line(4, "file: %s", q(f.File))
			if f.Mode != "" {
				w.line(4, "mode: %s", f.Mode)
			}
		}
	}
	w.buf.WriteByte('\n')
	w.line(0, "scenarios:")
	for _, s := range p.Scenarios {
		w.comment(2, s.Comment...)
		w.line(2, "- name: %s", q(s.Name))
		weight := s.Weight
		if weight <= 0 {
			weight = 1
		}
		w.line(4, "weight: %d", weight)
		w.line(4, "steps:")
		for _, st := range s.Steps {
			w.step(st)
		}
	}
	w.buf.WriteByte('\n')
	l := p.Load
	if l.VUs == 0 && l.Duration == 0 && l.Iterations == 0 {
		w.comment(0, "Decide: how much load, shaped how, for how long (see README, \"The plan\").")
		l = Load{VUs: 1, Duration: 30 * time.Second}
	}
	w.line(0, "load:")
	if l.VUs > 0 {
		w.line(2, "vus: %d", l.VUs)
	}
	if l.Duration > 0 {
		w.line(2, "duration: %s", dur(l.Duration))
	}
	if l.Iterations > 0 {
		w.line(2, "iterations: %d", l.Iterations)
	}
}

func (w *writer) kvs(indent int, key string, kvs []KV) {
	w.line(indent, "%s:", key)
	for _, kv := range kvs {
		if kv.Comment != "" {
			w.comment(indent+2, kv.Comment)
		}
		w.line(indent+2, "%s: %s", q(kv.Key), q(kv.Value))
	}
}

func (w *writer) step(st *Step) {
	w.comment(6, st.Comment...)
	w.line(6, "- name: %s", q(st.Name))
	if st.Method != "" {
		w.line(8, "method: %s", st.Method)
	}
	w.line(8, "path: %s", q(st.Path))
	if len(st.Headers) > 0 {
		w.kvs(8, "headers", st.Headers)
	}
	if len(st.Query) > 0 {
		w.kvs(8, "query", st.Query)
	}
	if st.Body != "" {
		w.body(st.Body)
	}
	if st.Timeout > 0 {
		w.line(8, "timeout: %s", dur(st.Timeout))
	}
	if len(st.Extract) > 0 {
		w.line(8, "extract:")
		for _, e := range st.Extract {
			if e.Comment != "" {
				w.comment(10, e.Comment)
			}
			switch {
			case e.JSON != "":
				w.line(10, "%s: { json: %s }", e.Var, q(e.JSON))
			case e.Header != "":
				w.line(10, "%s: { header: %s }", e.Var, q(e.Header))
			default:
				w.line(10, "%s: { regex: %s }", e.Var, q(e.Regex))
			}
		}
	}
	if slices.ContainsFunc(st.Status, isRedirect) {
		// The recording lists each hop as its own request: this step
		// stops at its redirect, as recorded, and the next step follows.
		w.line(8, "redirects: 0")
	}
	if len(st.Status) == 1 {
		w.line(8, "check: { status: %d }", st.Status[0])
	} else if len(st.Status) > 1 {
		codes := make([]string, len(st.Status))
		for i, c := range st.Status {
			codes[i] = fmt.Sprint(c)
		}
		w.line(8, "check: { status: [%s] }", strings.Join(codes, ", "))
	}
	if st.Think > 0 {
		w.line(8, "think: %s", dur(st.Think))
	}
}

// body writes a multi-line body as a literal block when every line is
// plain printable text, and as a quoted string otherwise.
func (w *writer) body(s string) {
	if blockSafe(s) {
		w.line(8, "body: |-")
		for _, l := range strings.Split(s, "\n") {
			w.line(10, "%s", l)
		}
		return
	}
	w.line(8, "body: %s", q(s))
}

func blockSafe(s string) bool {
	if !strings.Contains(s, "\n") || strings.HasSuffix(s, "\n") || strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") {
		return false
	}
	for _, l := range strings.Split(s, "\n") {
		if l == "" || strings.TrimRight(l, " ") != l {
			return false
		}
	}
	for _, r := range s {
		if r != '\n' && (r < ' ' || r == 0x7f || r == 0xfeff || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar || r > 0xffff) {
			return false
		}
	}
	return true
}

// Origin returns scheme://host[:port] of an absolute http or https URL,
// or an error saying what is wrong with it.
func Origin(u *url.URL) (string, error) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q is not an http:// or https:// URL", u.Redacted())
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("%q has no host", u.Redacted())
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %s of %q is not a TCP port", port, u.Redacted())
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

// isRedirect reports a status a client follows (Location).
func isRedirect(code int) bool {
	return code == 301 || code == 302 || code == 303 || code == 307 || code == 308
}
