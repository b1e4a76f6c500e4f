// Package promtext reads the two text formats a Prometheus target serves:
// the classic exposition format (text/plain; version=0.0.4) and OpenMetrics
// 1.0 text (application/openmetrics-text). It is a pull parser over one
// scraped body: the caller sees one sample at a time, already attributed to
// its metric family and type, and keeps only what it wants.
//
// The parser is deliberately lenient where a watcher gains nothing from
// strictness (unknown types read as untyped, missing HELP, CRLF line ends,
// a missing "# EOF") and strict where a wrong answer would follow (a broken
// label set or value stops the parse with a *SyntaxError naming the line).
// Timestamps and exemplars are read past and dropped: the watcher stamps
// every sample with its own clock. Protobuf exposition is not read.
package promtext

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
)

// Format is the text format of a body.
type Format int

const (
	// Text is the classic exposition format, text/plain; version=0.0.4.
	Text Format = iota
	// OpenMetrics is OpenMetrics 1.0 text, application/openmetrics-text.
	OpenMetrics
)

// Type is a metric family's type, as declared by its # TYPE line.
type Type int

// The family types of both formats. A family without a # TYPE line, or
// with a type this package does not know, is Untyped.
const (
	Untyped Type = iota
	Counter
	Gauge
	Histogram
	Summary
	GaugeHistogram
	Info
	StateSet
)

func (t Type) String() string {
	switch t {
	case Untyped:
		return "untyped"
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Histogram:
		return "histogram"
	case Summary:
		return "summary"
	case GaugeHistogram:
		return "gaugehistogram"
	case Info:
		return "info"
	case StateSet:
		return "stateset"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

func parseType(s string) Type {
	switch s {
	case "counter":
		return Counter
	case "gauge":
		return Gauge
	case "histogram":
		return Histogram
	case "summary":
		return Summary
	case "gaugehistogram":
		return GaugeHistogram
	case "info":
		return Info
	case "stateset":
		return StateSet
	}
	return Untyped // "untyped", OpenMetrics "unknown", anything else
}

// Label is one label pair of a sample.
type Label struct {
	Name, Value string
}

// Sample is one sample line. Family is the metric family it belongs to (the
// name on its # TYPE line, or the sample name when no TYPE line claims it);
// Name is the series name as exposed, which for some types carries a suffix
// (http_requests_total, rpc_seconds_sum, rpc_seconds_bucket).
type Sample struct {
	Family string
	Type   Type
	Name   string
	Labels []Label // in exposition order
	Value  float64
}

// Suffix returns the part of Name after Family ("_total", "_sum", …), or ""
// when the sample carries the family's own name.
func (s *Sample) Suffix() string { return s.Name[len(s.Family):] }

// SyntaxError is a line the parser could not read.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parser reads the samples of one body. The zero value is not usable; use
// NewParser. A Parser is not safe for concurrent use.
type Parser struct {
	data   []byte
	format Format
	pos    int
	line   int

	family string // current family (from the last # TYPE line or sample)
	typ    Type

	s   Sample
	err error
}

// NewParser returns a parser over data in the given format. The parser
// does not copy data; the caller must not change it while parsing.
func NewParser(data []byte, f Format) *Parser {
	return &Parser{data: data, format: f}
}

// Next advances to the next sample. It returns false at the end of the
// body or at the first syntax error (see Err).
func (p *Parser) Next() bool {
	for p.err == nil && p.pos < len(p.data) {
		line := p.nextLine()
		if len(line) == 0 {
			continue
		}
		if line[0] == '#' {
			if p.comment(line) {
				p.pos = len(p.data) // # EOF
				return false
			}
			continue
		}
		if p.sample(string(line)) {
			return true
		}
	}
	return false
}

// Sample returns the current sample. It is valid until the next call to
// Next; its Labels slice is reused.
func (p *Parser) Sample() *Sample { return &p.s }

// Err returns the first syntax error met, or nil.
func (p *Parser) Err() error { return p.err }

func (p *Parser) nextLine() []byte {
	p.line++
	rest := p.data[p.pos:]
	n := 0
	for n < len(rest) && rest[n] != '\n' {
		n++
	}
	line := rest[:n]
	p.pos += n
	if p.pos < len(p.data) {
		p.pos++ // the '\n'
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line
}

func (p *Parser) fail(format string, args ...any) {
	p.err = &SyntaxError{Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// comment reads a # line; it reports whether it was "# EOF". Only TYPE
// lines are turned into strings: HELP text is skipped without copying.
func (p *Parser) comment(line []byte) bool {
	rest := bytes.TrimLeft(line[1:], " \t")
	if string(rest) == "EOF" {
		return p.format == OpenMetrics
	}
	if !bytes.HasPrefix(rest, []byte("TYPE")) || len(rest) < 5 || (rest[4] != ' ' && rest[4] != '\t') {
		return false // HELP, UNIT, or a plain comment
	}
	name, typ, err := readMetricName(strings.TrimLeft(string(rest[5:]), " \t"))
	if err != "" {
		p.fail("TYPE line: %s", err)
		return false
	}
	p.family = name
	p.typ = parseType(strings.TrimSpace(typ))
	return false
}

// cutSpace splits s at its first run of blanks.
func cutSpace(s string) (before, after string, ok bool) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", s != ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t"), true
}

func (p *Parser) sample(line string) bool {
	s := &p.s
	s.Labels = s.Labels[:0]
	var name, rest string
	if line[0] == '{' {
		rest = line // quoted name inside the braces, or a nameless series
	} else {
		var err string
		name, rest, err = readMetricName(line)
		if err != "" {
			p.fail("%s", err)
			return false
		}
	}
	rest = strings.TrimLeft(rest, " \t")
	if rest != "" && rest[0] == '{' {
		var err string
		name, rest, err = p.readLabels(rest[1:], name)
		if err != "" {
			p.fail("%s", err)
			return false
		}
	}
	if name == "" {
		p.fail("sample without a metric name")
		return false
	}
	rest = strings.TrimLeft(rest, " \t")
	val, _, _ := cutSpace(rest)
	if val == "" {
		p.fail("sample %s has no value", name)
		return false
	}
	v, err := strconv.ParseFloat(val, 64)
	if err != nil {
		p.fail("sample %s: bad value %q", name, val)
		return false
	}
	// A timestamp and an OpenMetrics exemplar may follow; both are dropped.
	s.Name = name
	s.Value = v
	p.attribute(s)
	return true
}

// attribute sets the sample's family and type from the last # TYPE line
// when the sample belongs to it, or makes the sample its own untyped family.
func (p *Parser) attribute(s *Sample) {
	if p.family != "" && strings.HasPrefix(s.Name, p.family) && validSuffix(p.typ, s.Name[len(p.family):]) {
		s.Family, s.Type = p.family, p.typ
		return
	}
	p.family, p.typ = s.Name, Untyped
	s.Family, s.Type = s.Name, Untyped
}

func validSuffix(t Type, suffix string) bool {
	if suffix == "" {
		return true
	}
	switch t {
	case Counter:
		return suffix == "_total" || suffix == "_created"
	case Histogram:
		return suffix == "_bucket" || suffix == "_sum" || suffix == "_count" || suffix == "_created"
	case Summary:
		return suffix == "_sum" || suffix == "_count" || suffix == "_created"
	case GaugeHistogram:
		return suffix == "_bucket" || suffix == "_gsum" || suffix == "_gcount"
	case Info:
		return suffix == "_info"
	}
	return false
}

func isNameStart(c byte) bool {
	return c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || ('0' <= c && c <= '9') }

// readMetricName reads a plain or double-quoted metric name.
func readMetricName(s string) (name, rest, err string) {
	if s == "" {
		return "", "", "missing metric name"
	}
	if s[0] == '"' {
		return readQuoted(s)
	}
	if !isNameStart(s[0]) {
		return "", "", fmt.Sprintf("invalid metric name start %q", s[0])
	}
	i := 1
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	return s[:i], s[i:], ""
}

// readLabelName reads a plain or double-quoted label name.
func readLabelName(s string) (name, rest, err string) {
	if s == "" {
		return "", "", "missing label name"
	}
	if s[0] == '"' {
		return readQuoted(s)
	}
	c := s[0]
	if !(c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')) {
		return "", "", fmt.Sprintf("invalid label name start %q", c)
	}
	i := 1
	for i < len(s) && s[i] != ':' && isNameChar(s[i]) {
		i++
	}
	return s[:i], s[i:], ""
}

// readQuoted reads a double-quoted string with the \\, \" and \n escapes.
func readQuoted(s string) (value, rest, err string) {
	// Fast path: no escapes.
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return s[1:i], s[i+1:], ""
		case '\\':
			return readEscaped(s)
		}
	}
	return "", "", "unterminated quoted string"
}

func readEscaped(s string) (value, rest, err string) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], ""
		case '\\':
			i++
			if i == len(s) {
				return "", "", "unterminated quoted string"
			}
			switch s[i] {
			case '\\', '"':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			default:
				return "", "", fmt.Sprintf("invalid escape \\%c", s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", "unterminated quoted string"
}

// readLabels reads a label set after its '{'. A quoted string that is not
// followed by '=' is the metric name (the UTF-8 form {"my.metric", a="b"}).
func (p *Parser) readLabels(s, name string) (string, string, string) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return "", "", "unterminated label set"
		}
		if s[0] == '}' {
			return name, s[1:], ""
		}
		ln, rest, err := readLabelName(s)
		if err != "" {
			return "", "", err
		}
		rest = strings.TrimLeft(rest, " \t")
		if s[0] == '"' && (rest == "" || rest[0] != '=') {
			if name != "" {
				return "", "", fmt.Sprintf("second metric name %q in label set", ln)
			}
			name = ln
		} else {
			if rest == "" || rest[0] != '=' {
				return "", "", fmt.Sprintf("label %s: missing '='", ln)
			}
			rest = strings.TrimLeft(rest[1:], " \t")
			if rest == "" || rest[0] != '"' {
				return "", "", fmt.Sprintf("label %s: value is not quoted", ln)
			}
			var v string
			v, rest, err = readQuoted(rest)
			if err != "" {
				return "", "", fmt.Sprintf("label %s: %s", ln, err)
			}
			p.s.Labels = append(p.s.Labels, Label{Name: ln, Value: v})
		}
		rest = strings.TrimLeft(rest, " \t")
		switch {
		case rest == "":
			return "", "", "unterminated label set"
		case rest[0] == ',':
			s = rest[1:]
		case rest[0] == '}':
			return name, rest[1:], ""
		default:
			return "", "", fmt.Sprintf("unexpected %q in label set", rest[0])
		}
	}
}

// Accept is the Accept header of a scrape: the classic text format first
// (every client library serves it), OpenMetrics text next, and anything
// else last so that a target with one fixed format still answers.
const Accept = "text/plain;version=0.0.4;q=1.0,application/openmetrics-text;version=1.0.0;q=0.9,*/*;q=0.1"

// ErrProtobuf is returned by FormatOf for a protobuf exposition.
var ErrProtobuf = errors.New("protobuf exposition is not read; serve the text format")

// FormatOf maps a response's Content-Type to a Format. A missing or
// unknown type is read as Text, the format every target can serve.
func FormatOf(contentType string) (Format, error) {
	if contentType == "" {
		return Text, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return Text, fmt.Errorf("bad Content-Type %q: %w", contentType, err)
	}
	switch mt {
	case "application/openmetrics-text":
		return OpenMetrics, nil
	case "application/vnd.google.protobuf":
		return Text, ErrProtobuf
	}
	return Text, nil
}
