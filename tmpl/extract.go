package tmpl

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/stampede-perf/stampede/plan"
)

type extractKind uint8

const (
	extractJSON extractKind = iota
	extractRegex
	extractHeader
	extractColumn
)

// Extractor takes one value out of a response. It is immutable and safe
// for concurrent use.
type Extractor struct {
	kind   extractKind
	path   string // JSON: gjson path
	re     *regexp.Regexp
	group  int    // regex: submatch to return
	header string // header name
	column string // SQL result column
}

// CompileExtractor prepares e: it checks that exactly one source is set,
// compiles the regular expression and settles which group it returns
// (Group if set, else the first capture group, else the whole match).
//
// An extractor with only Column set compiles to an Extractor whose Column
// method names the column: the SQL runner reads that column itself, and
// Extract returns ("", false) for it.
func CompileExtractor(e *plan.Extractor) (*Extractor, error) {
	if e == nil {
		return nil, errors.New("extractor is empty (set one of json, regex, header, column)")
	}
	var set []string
	for _, f := range []struct {
		name string
		on   bool
	}{{"json", e.JSON != ""}, {"regex", e.Regex != ""}, {"header", e.Header != ""}, {"column", e.Column != ""}} {
		if f.on {
			set = append(set, f.name)
		}
	}
	switch len(set) {
	case 0:
		return nil, errors.New("extractor sets none of json, regex, header, column (set one)")
	case 1:
	default:
		return nil, fmt.Errorf("extractor sets %s (set only one of json, regex, header, column)", strings.Join(set, " and "))
	}
	if e.Group != 0 && e.Regex == "" {
		return nil, fmt.Errorf("extractor sets group without regex (group picks a capture group of regex)")
	}
	switch {
	case e.JSON != "":
		return &Extractor{kind: extractJSON, path: e.JSON}, nil
	case e.Header != "":
		return &Extractor{kind: extractHeader, header: e.Header}, nil
	case e.Column != "":
		return &Extractor{kind: extractColumn, column: e.Column}, nil
	}
	re, err := regexp.Compile(e.Regex)
	if err != nil {
		return nil, fmt.Errorf("extractor regex %q: %w", e.Regex, err)
	}
	group := e.Group
	switch {
	case group < 0:
		return nil, fmt.Errorf("extractor group %d is negative (groups count from 1; 0 is the whole match)", group)
	case group > re.NumSubexp():
		return nil, fmt.Errorf("extractor group %d, but regex %q has %d capture groups", group, e.Regex, re.NumSubexp())
	case group == 0 && re.NumSubexp() > 0:
		group = 1
	}
	return &Extractor{kind: extractRegex, re: re, group: group}, nil
}

// Column returns the SQL result column the extractor reads, or "" for an
// extractor that reads a response body or header.
func (x *Extractor) Column() string { return x.column }

// NeedsBody reports whether the extractor reads the response body (JSON
// and regex extractors do; header and column ones do not), so that a
// runner can discard bodies nobody reads.
func (x *Extractor) NeedsBody() bool { return x.kind == extractJSON || x.kind == extractRegex }

// Extract returns the value in a response, and whether there was one.
// header looks a response header up by name (http.Header.Get does, with its
// canonical case); it may be nil when there are no headers. A JSON null
// counts as no value, so that a missing id fails the extraction instead of
// feeding "" to the next request. The value is a copy and may outlive
// body.
func (x *Extractor) Extract(body []byte, header func(name string) string) (string, bool) {
	switch x.kind {
	case extractJSON:
		r := gjson.Get(bytesView(body), x.path)
		if r.Type == gjson.Null {
			return "", false
		}
		return strings.Clone(r.String()), true
	case extractRegex:
		m := x.re.FindSubmatchIndex(body)
		if m == nil || m[2*x.group] < 0 {
			return "", false
		}
		return string(body[m[2*x.group]:m[2*x.group+1]]), true
	case extractHeader:
		if header == nil {
			return "", false
		}
		v := header(x.header)
		return v, v != ""
	}
	return "", false
}

// bytesView returns b as a string without copying. The string must not be
// kept beyond the call that received b, and b must not change meanwhile:
// gjson only reads it, and values that outlive the call are cloned.
func bytesView(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
