// Package curl turns one curl command line into a one-step plan.
//
// The line is parsed as a POSIX shell command by mvdan.cc/sh, so quoting,
// $'…' strings and backslash line continuations work as they do in the
// shell the command was copied for (a browser's "Copy as cURL" among
// them). Shell variables become environment references ({{ env.NAME }}),
// read when the plan runs. Flags are matched against a table of the ones
// that shape a request (-X, -H, -d and its variants, -u, -b, -A, -e, -k,
// --url, -G, -I, --json, --compressed…) and the ones that only change what
// curl prints, which are ignored; any other flag is an error naming it and
// its position, so nothing the command meant is dropped silently.
package curl

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"

	"github.com/stampede-perf/stampede/importer"
)

// MaxLine bounds the command line read.
const MaxLine = 1 << 20

// envMark brackets a shell variable's name in an expanded word until it
// is turned into a template; NUL cannot occur in a shell word.
const envMark = "\x00"

// Import parses one curl command line.
func Import(line string) (*importer.Plan, error) {
	if len(line) > MaxLine {
		return nil, fmt.Errorf("curl: the command line is longer than %d bytes", MaxLine)
	}
	if strings.Contains(line, envMark) {
		return nil, fmt.Errorf("curl: the command line contains a NUL byte")
	}
	f, err := syntax.NewParser().Parse(strings.NewReader(line), "")
	if err != nil {
		if pe, ok := err.(syntax.ParseError); ok {
			return nil, fmt.Errorf("curl: line %d, column %d: %s", pe.Pos.Line(), pe.Pos.Col(), pe.Text)
		}
		return nil, fmt.Errorf("curl: %v", err)
	}
	if len(f.Stmts) != 1 {
		return nil, fmt.Errorf("curl: want one curl command, found %d commands", len(f.Stmts))
	}
	st := f.Stmts[0]
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || st.Negated || st.Background || len(st.Redirs) > 0 || len(call.Assigns) > 0 || len(call.Args) == 0 {
		return nil, fmt.Errorf("curl: line %d, column %d: want a plain curl command (no pipes, redirections or assignments)", st.Pos().Line(), st.Pos().Col())
	}
	words := make([]word, len(call.Args))
	cfg := &expand.Config{Env: expand.FuncEnviron(func(name string) string { return envMark + name + envMark })}
	for i, w := range call.Args {
		s, err := expand.Literal(cfg, w)
		if err != nil {
			return nil, fmt.Errorf("curl: line %d, column %d: %v", w.Pos().Line(), w.Pos().Col(), err)
		}
		parts := strings.Split(s, envMark)
		for k := 1; k < len(parts); k += 2 {
			if !isShellName(parts[k]) {
				return nil, fmt.Errorf("curl: line %d, column %d: $%s is a special shell parameter, not a variable: write its value", w.Pos().Line(), w.Pos().Col(), parts[k])
			}
		}
		words[i] = word{s: s, line: w.Pos().Line(), col: w.Pos().Col()}
	}
	if name := words[0].s; name != "curl" && !strings.HasSuffix(name, "/curl") && name != "curl.exe" {
		return nil, fmt.Errorf("curl: line %d, column %d: the command is %q, not curl", words[0].line, words[0].col, name)
	}
	r := &request{headers: []importer.KV{}}
	if err := r.parse(words[1:]); err != nil {
		return nil, err
	}
	return r.plan()
}

// isShellName reports whether s names a shell variable (a letter or
// underscore, then letters, digits and underscores), which becomes an
// environment reference; $!, $$, $? and the like do not.
func isShellName(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

type word struct {
	s         string
	line, col uint
}

// shown is a flag as typed, or quoted where it holds a character that
// cannot be printed as it is (a line break would split the error).
func shown(flag string) string {
	for _, r := range flag {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(flag)
		}
	}
	return flag
}

func (w word) errorf(format string, a ...any) error {
	return fmt.Errorf("curl: line %d, column %d: %s", w.line, w.col, fmt.Sprintf(format, a...))
}

// request is what the flags said.
type request struct {
	method   string
	url      string
	urlWord  word
	headers  []importer.KV
	data     []string
	dataJSON bool
	get      bool
	head     bool
	insecure bool
	timeout  time.Duration
	notes    []string
}

type flagKind int

const (
	takesValue flagKind = iota
	noValue
)

type flagDef struct {
	kind flagKind
	// apply records the flag; v is its value ("" for flags without one).
	apply func(r *request, v string, at word) error
}

// ignored flags change what curl shows or where it writes, not the request.
func ignored(kind flagKind) flagDef {
	return flagDef{kind: kind, apply: func(*request, string, word) error { return nil }}
}

func note(kind flagKind, text string) flagDef {
	return flagDef{kind: kind, apply: func(r *request, v string, _ word) error {
		r.notes = append(r.notes, strings.ReplaceAll(text, "%v", v))
		return nil
	}}
}

func data(mode string) flagDef {
	return flagDef{kind: takesValue, apply: func(r *request, v string, at word) error {
		switch {
		case mode == "urlencode":
			name, val, found := strings.Cut(v, "=")
			if strings.HasPrefix(v, "@") || strings.Contains(name, "@") && !found {
				return at.errorf("--data-urlencode reads a file (%q): put the value in the command instead", v)
			}
			if !found {
				v = url.QueryEscape(name)
			} else {
				v = name + "=" + url.QueryEscape(val)
			}
		case mode != "raw" && strings.HasPrefix(v, "@"):
			return at.errorf("the body is read from file %q: put the body in the command (--data-raw) or in the plan's body", v[1:])
		}
		r.data = append(r.data, v)
		return nil
	}}
}

func header(name string) flagDef {
	return flagDef{kind: takesValue, apply: func(r *request, v string, _ word) error {
		r.setHeader(name, v)
		return nil
	}}
}

var flags map[string]flagDef

func init() {
	flags = map[string]flagDef{
		"request": {kind: takesValue, apply: func(r *request, v string, at word) error {
			r.method = strings.ToUpper(v)
			switch r.method {
			case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
				return nil
			}
			return at.errorf("method %q is not one a plan can send (use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS)", v)
		}},
		"header": {kind: takesValue, apply: func(r *request, v string, at word) error {
			if strings.HasPrefix(v, "@") {
				return at.errorf("headers are read from file %q: put them in the command", v[1:])
			}
			name, val, ok := strings.Cut(v, ":")
			if !ok {
				// curl: "Name;" sends the header with an empty value.
				name, ok = strings.CutSuffix(v, ";")
				if !ok || strings.TrimSpace(name) == "" {
					return at.errorf("header %q has no ':'", v)
				}
				r.setHeader(strings.TrimSpace(name), "")
				return nil
			}
			name = strings.TrimSpace(name)
			if name == "" {
				return at.errorf("header %q has no name", v)
			}
			val = strings.TrimSpace(val)
			if val == "" {
				r.delHeader(name) // curl: "Name:" removes a header
				return nil
			}
			r.setHeader(name, val)
			return nil
		}},
		"data":           data("plain"),
		"data-ascii":     data("plain"),
		"data-binary":    data("binary"),
		"data-raw":       data("raw"),
		"data-urlencode": data("urlencode"),
		"json": {kind: takesValue, apply: func(r *request, v string, at word) error {
			if strings.HasPrefix(v, "@") {
				return at.errorf("the body is read from file %q: put the body in the command", v[1:])
			}
			r.data = append(r.data, v)
			r.dataJSON = true
			return nil
		}},
		"user": {kind: takesValue, apply: func(r *request, v string, _ word) error {
			if !strings.Contains(v, ":") {
				r.notes = append(r.notes, "Decide: -u gave no password (curl would ask for one); the plan sends an empty one.")
			}
			r.setHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(v)))
			return nil
		}},
		"oauth2-bearer": {kind: takesValue, apply: func(r *request, v string, _ word) error {
			r.setHeader("Authorization", "Bearer "+v)
			return nil
		}},
		"cookie": {kind: takesValue, apply: func(r *request, v string, at word) error {
			if !strings.Contains(v, "=") {
				return at.errorf("cookies are read from file %q: put them in the command as -b 'name=value'", v)
			}
			r.setHeader("Cookie", v)
			return nil
		}},
		"user-agent": header("User-Agent"),
		"referer":    header("Referer"),
		"url": {kind: takesValue, apply: func(r *request, v string, at word) error {
			return r.setURL(v, at)
		}},
		"get":  {kind: noValue, apply: func(r *request, _ string, _ word) error { r.get = true; return nil }},
		"head": {kind: noValue, apply: func(r *request, _ string, _ word) error { r.head = true; return nil }},
		"compressed": {kind: noValue, apply: func(r *request, _ string, _ word) error {
			r.setHeader("Accept-Encoding", "gzip, deflate, br")
			r.notes = append(r.notes, "--compressed: the plan asks for a compressed response but does not decompress it; remove Accept-Encoding to check or extract from the body.")
			return nil
		}},
		"insecure": {kind: noValue, apply: func(r *request, _ string, _ word) error { r.insecure = true; return nil }},
		"max-time": {kind: takesValue, apply: func(r *request, v string, at word) error {
			d, err := time.ParseDuration(v + "s")
			if err != nil || d <= 0 || d > time.Hour {
				return at.errorf("--max-time %q: want seconds between 0 and 3600", v)
			}
			r.timeout = d
			return nil
		}},
		"location":              note(noValue, "-L: curl followed redirects; check the step's expected status if the URL redirects."),
		"form":                  note(takesValue, "Decide: -F %v was a multipart form field, which a plan cannot send yet; the step sends no form."),
		"form-string":           note(takesValue, "Decide: --form-string %v was a multipart form field, which a plan cannot send yet; the step sends no form."),
		"proxy":                 note(takesValue, "-x %v: the plan connects directly, without the proxy."),
		"cacert":                note(takesValue, "--cacert %v: the plan verifies with the system's CAs (or set insecure_skip_verify for a test system)."),
		"cert":                  note(takesValue, "--cert %v: the plan sends no client certificate."),
		"key":                   note(takesValue, "--key %v: the plan sends no client certificate."),
		"http2":                 note(noValue, "--http2: the plan speaks HTTP/1.1."),
		"http2-prior-knowledge": note(noValue, "--http2-prior-knowledge: the plan speaks HTTP/1.1."),
		"connect-timeout":       ignored(takesValue),
		"http1.1":               ignored(noValue),
		"http1.0":               ignored(noValue),
		"silent":                ignored(noValue),
		"show-error":            ignored(noValue),
		"verbose":               ignored(noValue),
		"include":               ignored(noValue),
		"fail":                  ignored(noValue),
		"fail-with-body":        ignored(noValue),
		"no-progress-meter":     ignored(noValue),
		"progress-bar":          ignored(noValue),
		"globoff":               ignored(noValue),
		"no-buffer":             ignored(noValue),
		"path-as-is":            ignored(noValue),
		"output":                ignored(takesValue),
		"remote-name":           ignored(noValue),
		"write-out":             ignored(takesValue),
		"dump-header":           ignored(takesValue),
		"retry":                 ignored(takesValue),
		"stderr":                ignored(takesValue),
		"trace-ascii":           ignored(takesValue),
		"ipv4":                  ignored(noValue),
		"ipv6":                  ignored(noValue),
	}
}

// short maps curl's one-letter flags to their long names.
var short = map[byte]string{
	'X': "request", 'H': "header", 'd': "data", 'u': "user", 'b': "cookie",
	'A': "user-agent", 'e': "referer", 'G': "get", 'I': "head", 'k': "insecure",
	'm': "max-time", 'L': "location", 'F': "form", 'x': "proxy", 'E': "cert",
	's': "silent", 'S': "show-error", 'v': "verbose", 'i': "include", 'f': "fail",
	'g': "globoff", 'N': "no-buffer", 'o': "output", 'O': "remote-name",
	'w': "write-out", 'D': "dump-header", '4': "ipv4", '6': "ipv6",
}

func (r *request) parse(words []word) error {
	rest := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		s := w.s
		switch {
		case rest || !strings.HasPrefix(s, "-") || s == "-":
			if err := r.setURL(s, w); err != nil {
				return err
			}
		case s == "--":
			rest = true
		case strings.HasPrefix(s, "--"):
			name, val, hasVal := strings.Cut(s[2:], "=")
			def, ok := flags[name]
			if !ok {
				// curl accepts --no-NAME for boolean flags; none changes the request here.
				if base, neg := strings.CutPrefix(name, "no-"); neg && flags[base].kind == noValue && flags[base].apply != nil && !hasVal {
					continue
				}
				return w.errorf("unknown flag %s (stampede reads the flags that shape a request: -X, -H, -d, --data-raw, --data-binary, --data-urlencode, --json, -u, -b, -A, -e, -G, -I, -k, --url, --compressed, -m)", shown("--"+name))
			}
			if def.kind == takesValue && !hasVal {
				if i+1 >= len(words) {
					return w.errorf("--%s needs a value", name)
				}
				i++
				val = words[i].s
			} else if def.kind == noValue && hasVal {
				return w.errorf("--%s takes no value", name)
			}
			if err := def.apply(r, val, w); err != nil {
				return err
			}
		default:
			// Short flags, possibly bundled (-sSL) or with the value
			// attached (-XPOST, -H'…').
			for j := 1; j < len(s); j++ {
				name, ok := short[s[j]]
				if !ok {
					_, size := utf8.DecodeRuneInString(s[j:])
					return w.errorf("unknown flag %s in %q (stampede reads -X, -H, -d, -u, -b, -A, -e, -G, -I, -k, -m and ignores output flags)", shown("-"+s[j:j+size]), s)
				}
				def := flags[name]
				if def.kind == noValue {
					if err := def.apply(r, "", w); err != nil {
						return err
					}
					continue
				}
				val := s[j+1:]
				if val == "" {
					if i+1 >= len(words) {
						return w.errorf("-%c needs a value", s[j])
					}
					i++
					val = words[i].s
				}
				if err := def.apply(r, val, w); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

func (r *request) setURL(v string, at word) error {
	if r.url != "" {
		return at.errorf("a second URL %q: stampede imports one request a command (the first was %q)", v, r.url)
	}
	r.url, r.urlWord = v, at
	return nil
}

func (r *request) setHeader(name, val string) {
	r.delHeader(name)
	r.headers = append(r.headers, importer.KV{Key: name, Value: val})
}

func (r *request) delHeader(name string) {
	kept := r.headers[:0]
	for _, h := range r.headers {
		if !strings.EqualFold(h.Key, name) {
			kept = append(kept, h)
		}
	}
	r.headers = kept
}

func (r *request) header(name string) (string, bool) { return importer.Header(r.headers, name) }

// template makes an expanded word a template: recorded text is literal,
// shell variables become environment references.
func template(s string) string {
	parts := strings.Split(s, envMark)
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 0 {
			b.WriteString(importer.Literal(p))
		} else if p != "" {
			fmt.Fprintf(&b, "{{ env.%s }}", p)
		}
	}
	return b.String()
}

func (r *request) plan() (*importer.Plan, error) {
	if r.url == "" {
		return nil, fmt.Errorf("curl: the command has no URL")
	}
	raw := r.url
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw // curl's default scheme
	}
	rest := raw[strings.Index(raw, "://")+3:]
	hostEnd := len(rest)
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		hostEnd = i
	}
	if strings.Contains(rest[:hostEnd], envMark) {
		return nil, r.urlWord.errorf("the host of %q comes from a shell variable; write it out", strings.ReplaceAll(r.url, envMark, ""))
	}
	// Parse with the variables' names in place of their values.
	u, err := url.Parse(strings.ReplaceAll(raw, envMark, ""))
	if err != nil {
		return nil, r.urlWord.errorf("%q is not a URL: %v", strings.ReplaceAll(r.url, envMark, "$"), err)
	}
	base, err := importer.Origin(u)
	if err != nil {
		return nil, r.urlWord.errorf("%v", err)
	}
	path := "/"
	if hostEnd < len(rest) {
		path = rest[hostEnd:]
	}
	path, _, _ = strings.Cut(path, "#")
	if path == "" || strings.HasPrefix(path, "?") {
		path = "/" + path
	}
	if u.User != nil {
		if _, ok := r.header("Authorization"); !ok {
			pass, _ := u.User.Password()
			r.setHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass)))
		}
	}
	step := &importer.Step{Name: "request", Method: "GET"}
	body := strings.Join(r.data, "&")
	if r.dataJSON {
		body = strings.Join(r.data, "")
		if _, ok := r.header("Content-Type"); !ok {
			r.setHeader("Content-Type", "application/json")
		}
		if _, ok := r.header("Accept"); !ok {
			r.setHeader("Accept", "application/json")
		}
	}
	switch {
	case r.get && len(r.data) > 0:
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + body
		body = ""
	case len(r.data) > 0:
		step.Method = "POST"
		if _, ok := r.header("Content-Type"); !ok {
			r.setHeader("Content-Type", "application/x-www-form-urlencoded") // as curl sends
		}
	}
	if r.head {
		step.Method = "HEAD"
	}
	if r.method != "" {
		step.Method = r.method
	}
	if len(body) > 8<<20 {
		return nil, fmt.Errorf("curl: the body is larger than 8 MiB, the most a plan step may send")
	}
	step.Path = template(path)
	step.Body = template(body)
	step.Name = step.Method + " " + strings.ReplaceAll(u.Path, envMark, "")
	if u.Path == "" {
		step.Name = step.Method + " /"
	}
	for _, h := range r.headers {
		if strings.EqualFold(h.Key, "Host") || strings.EqualFold(h.Key, "Content-Length") {
			continue
		}
		step.Headers = append(step.Headers, importer.KV{Key: h.Key, Value: template(h.Value)})
	}
	if len(step.Headers) > 100 {
		return nil, fmt.Errorf("curl: the command sets %d headers; a step takes at most 100", len(step.Headers))
	}
	step.Timeout = r.timeout
	step.Comment = append(step.Comment, r.notes...)
	step.Comment = append(step.Comment, "Decide: with no check, any 2xx or 3xx passes; add `check: { status: … }` with the status this request must return.")
	return &importer.Plan{
		Header: []string{
			"Imported from a curl command by `stampede import curl`.",
			"Shell variables became {{ env.NAME }}: set them when you run the plan.",
		},
		Name:      "curl " + step.Name,
		BaseURL:   base,
		Insecure:  r.insecure,
		Scenarios: []*importer.Scenario{{Name: "curl", Weight: 1, Steps: []*importer.Step{step}}},
	}, nil
}
