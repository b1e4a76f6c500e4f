package har

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/stampede-perf/stampede/importer"
)

// token is one value a request sent.
type token struct {
	value string
	hint  string // the name it was sent under (query key, form field, header; a path segment's parent)
	path  bool   // a whole path segment
}

// idLike reports whether a key names an identifier: id, order_id, orderId.
func idLike(key string) bool {
	n := importer.VarName(key)
	return n == "id" || strings.HasSuffix(n, "_id")
}

// shortNumber reports a value of one or two digits: such values are
// everywhere (page=1, quantity=2), so they are correlated only between an
// identifier field and a path segment or another identifier field.
func shortNumber(v string) bool { return allDigits(v) && len(v) <= 2 }

// sub replaces a recorded value with a variable in a request.
type sub struct {
	value, name string
}

// source is where a value first came from.
type source struct {
	req     int
	extract importer.Extract
}

// Response headers whose values are the server's bookkeeping, never sent back.
var boringResponse = map[string]bool{"date": true, "content-type": true, "content-length": true, "server": true,
	"cache-control": true, "expires": true, "last-modified": true, "vary": true, "connection": true,
	"keep-alive": true, "set-cookie": true, "transfer-encoding": true, "content-encoding": true,
	"strict-transport-security": true, "pragma": true, "age": true, "accept-ranges": true, "location": true,
	"content-security-policy": true, "x-content-type-options": true, "x-frame-options": true, "referrer-policy": true}

// tokens lists the values request r sent that could have come from the
// server, at most maxTokens of them.
func tokens(r *req) []token {
	var out []token
	add := func(v, hint string) {
		if len(out) < maxTokens && candidate(v) {
			out = append(out, token{value: v, hint: hint})
		}
	}
	u, err := url.Parse(r.path)
	if err == nil {
		prev := ""
		for _, seg := range strings.Split(u.EscapedPath(), "/") {
			if v, err := url.PathUnescape(seg); err == nil && len(out) < maxTokens && candidate(v) {
				out = append(out, token{value: v, hint: prev, path: true})
			}
			prev = seg
		}
		if q, err := url.ParseQuery(u.RawQuery); err == nil {
			for k, vs := range q {
				for _, v := range vs {
					add(v, k)
				}
			}
		}
	}
	ct, _ := importer.Header(r.headers, "Content-Type")
	switch {
	case strings.Contains(ct, "x-www-form-urlencoded"):
		if q, err := url.ParseQuery(r.body); err == nil {
			for k, vs := range q {
				for _, v := range vs {
					add(v, k)
				}
			}
		}
	case gjson.Valid(r.body):
		walk(gjson.Parse(r.body), "", func(_ string, key string, v gjson.Result) {
			add(v.String(), key)
		})
	}
	for _, h := range r.headers {
		l := strings.ToLower(h.Key)
		if l == "authorization" || strings.HasPrefix(l, "x-") || strings.Contains(l, "token") || strings.Contains(l, "csrf") ||
			strings.Contains(l, "session") || strings.Contains(l, "key") {
			if scheme, cred, ok := strings.Cut(h.Value, " "); ok && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "Token")) {
				add(strings.TrimSpace(cred), h.Key)
			} else {
				add(h.Value, h.Key)
			}
		}
	}
	return out
}

// candidate reports whether v is distinctive enough to be a generated
// value: a number (short ones are held to stricter places later), or text
// of five characters or more that looks machine-made.
func candidate(v string) bool {
	if len(v) > 4096 || strings.ContainsAny(v, "\x00\n") {
		return false
	}
	if allDigits(v) {
		return true
	}
	return len(v) >= 5 && generated(v)
}

func allDigits(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// walk calls fn for every string and number leaf of v in document order,
// with its gjson path and the nearest object key.
func walk(v gjson.Result, path string, fn func(path, key string, leaf gjson.Result)) {
	walkKey(v, path, "", fn, 0)
}

func walkKey(v gjson.Result, path, key string, fn func(path, key string, leaf gjson.Result), depth int) {
	if depth > 64 {
		return
	}
	switch {
	case v.IsObject() || v.IsArray():
		i := 0
		v.ForEach(func(k, child gjson.Result) bool {
			comp, childKey := fmt.Sprint(i), key
			if v.IsObject() {
				comp, childKey = gjson.Escape(k.String()), k.String()
			}
			i++
			p := comp
			if path != "" {
				p = path + "." + comp
			}
			walkKey(child, p, childKey, fn, depth+1)
			return true
		})
	case v.Type == gjson.String || v.Type == gjson.Number:
		if path != "" {
			fn(path, key, v)
		}
	}
}

func (im *importing) correlate() {
	// firstSent: the first request that sent each value.
	toks := make([][]token, len(im.reqs))
	firstSent := map[string]int{}
	for j, r := range im.reqs {
		for _, t := range tokens(r) {
			if !shortNumber(t.value) || t.path || idLike(t.hint) {
				toks[j] = append(toks[j], t)
			}
		}
		for _, t := range toks[j] {
			if _, ok := firstSent[t.value]; !ok {
				firstSent[t.value] = j
			}
		}
	}
	im.occurrences = im.index()
	found := map[string]*source{} // value → where it came from (nil: nowhere)
	used := map[string]bool{}
	subs := make([][]sub, len(im.reqs))
	for j := range im.reqs {
		for _, t := range toks[j] {
			src, seen := found[t.value]
			if !seen {
				src = im.find(t, firstSent[t.value], used)
				found[t.value] = src
				if src != nil {
					im.reqs[src.req].extract = append(im.reqs[src.req].extract, src.extract)
				}
			}
			if src != nil && !hasSub(subs[j], t.value) {
				subs[j] = append(subs[j], sub{t.value, src.extract.Var})
			}
		}
	}
	for j, r := range im.reqs {
		r.path = render(r.path, subs[j], inPath)
		r.body = render(r.body, subs[j], inBody)
		for k := range r.headers {
			r.headers[k].Value = render(r.headers[k].Value, subs[j], inHeader)
		}
	}
}

func hasSub(subs []sub, v string) bool {
	for _, s := range subs {
		if s.value == v {
			return true
		}
	}
	return false
}

// occurrence is one place a response held a value.
type occurrence struct {
	req    int
	json   string // a gjson path, with key its nearest object key; or
	key    string
	header string // a response header's name; or
	attr   bool   // a value="…" or content="…" attribute of a page
}

// maxIndexed bounds the values indexed across all responses.
const maxIndexed = 1 << 21

// attrValue finds the attribute values a page gives to be sent back.
var attrValue = regexp.MustCompile(`(?i)\b(?:value|content)\s*=\s*["']([^"'<>]*)["']`)

// index maps every candidate value of every response to where it was, in
// response order, and within a response in document order. Built once, it
// makes looking a value up independent of the recording's size.
func (im *importing) index() map[string][]occurrence {
	idx := map[string][]occurrence{}
	n := 0
	add := func(v string, o occurrence) {
		if n >= maxIndexed {
			im.truncated = true
			return
		}
		if candidate(v) {
			idx[v] = append(idx[v], o)
			n++
		}
	}
	for i, r := range im.reqs {
		if r.respJSON {
			walk(gjson.Parse(r.respBody), "", func(path, key string, leaf gjson.Result) {
				add(leaf.String(), occurrence{req: i, json: path, key: key})
			})
		}
		for _, h := range r.respHeaders {
			if !boringResponse[strings.ToLower(h.Name)] {
				add(h.Value, occurrence{req: i, header: h.Name})
			}
		}
		if r.respHTML {
			for _, m := range attrValue.FindAllStringSubmatch(r.respBody, -1) {
				add(m[1], occurrence{req: i, attr: true})
			}
		}
	}
	return idx
}

// find looks for the latest response before request before that held t:
// among its places, the first that makes a working extractor.
func (im *importing) find(t token, before int, used map[string]bool) *source {
	occ := im.occurrences[t.value]
	end := len(occ)
	for end > 0 {
		// occ[start:end] are the places in the latest response not yet tried.
		for end > 0 && occ[end-1].req >= before {
			end--
		}
		if end == 0 {
			return nil
		}
		start := end - 1
		for start > 0 && occ[start-1].req == occ[end-1].req {
			start--
		}
		for _, o := range occ[start:end] {
			if src := im.extractor(t, o, used); src != nil {
				return src
			}
		}
		end = start
	}
	return nil
}

// extractor makes the extract of t at o, or nil when o does not give t
// back reliably.
func (im *importing) extractor(t token, o occurrence, used map[string]bool) *source {
	r := im.reqs[o.req]
	note := fmt.Sprintf("Correlated: sent back by a later request (recorded %q).", clip(t.value))
	switch {
	case o.json != "":
		if gjson.Get(r.respBody, o.json).String() != t.value || shortNumber(t.value) && !idLike(o.key) {
			return nil
		}
		return &source{req: o.req, extract: importer.Extract{JSON: o.json, Var: importer.Unique(used, varFromPath(o.json, o.key)), Comment: note}}
	case o.header != "":
		if allDigits(t.value) {
			return nil
		}
		return &source{req: o.req, extract: importer.Extract{Header: o.header, Var: importer.Unique(used, importer.VarName(o.header)), Comment: note}}
	case o.attr && len(t.value) >= 8:
		re := textRegex(r.respBody, t.value)
		if re == "" {
			return nil
		}
		name := strings.TrimPrefix(importer.VarName(t.hint), "x_")
		if t.hint == "" {
			name = "value"
		}
		return &source{req: o.req, extract: importer.Extract{Regex: re, Var: importer.Unique(used, name),
			Comment: fmt.Sprintf("Correlated: found in the page and sent back later (recorded %q).", clip(t.value))}}
	}
	return nil
}

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// varFromPath names the variable for a JSON value: its key, qualified by
// the parent's when the key alone says little ("order_id" for order.id).
func varFromPath(path, key string) string {
	name := importer.VarName(key)
	switch name {
	case "id", "value", "key", "uuid", "code":
		parts := strings.Split(path, ".")
		for i := len(parts) - 2; i >= 0; i-- {
			if !allDigits(parts[i]) {
				return importer.VarName(strings.ReplaceAll(parts[i], `\`, "") + "_" + name)
			}
		}
	}
	return name
}

var (
	simpleValue = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// A value in a page is taken only from an attribute made to carry one
	// back: a (hidden) input's value or a meta tag's content, as CSRF
	// tokens and view states are sent. Text elsewhere in a page (a
	// script's literals, links) is the page's, not a generated value.
	attrBefore = regexp.MustCompile(`(?i)\b(value|content)\s*=\s*["']$`)
)

// generated reports whether v looks made by a machine: letters mixed with
// digits, or long.
func generated(v string) bool {
	digit, letter := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		digit = digit || c >= '0' && c <= '9'
		letter = letter || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	return digit && letter || len(v) >= 16
}

// textRegex builds a regex that captures value from body by the text
// just before it, and returns it only if it finds exactly value there.
func textRegex(body, value string) string {
	k := indexBounded(body, value)
	if k < 0 {
		return ""
	}
	start := max(0, k-40)
	prefix := body[start:k]
	if nl := strings.LastIndexAny(prefix, "\r\n"); nl >= 0 {
		prefix = prefix[nl+1:]
	}
	// Start at a word: after the first space when there is one.
	if sp := strings.IndexAny(prefix, " \t"); sp >= 0 && sp+1 < len(prefix) && len(prefix)-sp > 8 {
		prefix = prefix[sp+1:]
	}
	if len(strings.TrimSpace(prefix)) < 3 || !attrBefore.MatchString(prefix) || !generated(value) {
		return ""
	}
	class := `([^"'<>\s&]+)`
	if simpleValue.MatchString(value) {
		class = `([A-Za-z0-9_-]+)`
	}
	re := regexp.QuoteMeta(prefix) + class
	m := regexp.MustCompile(re).FindStringSubmatch(body)
	if m == nil || m[1] != value {
		return ""
	}
	return re
}

// indexBounded finds value in s where it is not part of a longer word.
func indexBounded(s, value string) int {
	for off := 0; off <= len(s); {
		k := strings.Index(s[off:], value)
		if k < 0 {
			return -1
		}
		k += off
		if bounded(s, k, len(value)) {
			return k
		}
		off = k + 1
	}
	return -1
}

func isWord(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func bounded(s string, k, n int) bool {
	return (k == 0 || !isWord(s[k-1]) || !isWord(s[k])) && (k+n == len(s) || !isWord(s[k+n]) || !isWord(s[k+n-1]))
}

type place int

const (
	inPath place = iota
	inBody
	inHeader
)

// alone reports whether raw[k:k+n] is a whole path segment (in a path) or
// a whole JSON or form value (in a body).
func alone(raw string, k, n int, where place) bool {
	before, after := byte(0), byte(0)
	if k > 0 {
		before = raw[k-1]
	}
	if k+n < len(raw) {
		after = raw[k+n]
	}
	switch where {
	case inPath:
		return before == '/' && (after == 0 || after == '/' || after == '?') ||
			before == '=' && strings.Contains(raw[:k], "?") && (after == 0 || after == '&')
	case inBody:
		b := strings.TrimRight(raw[:k], " ")
		return (strings.HasSuffix(b, ":") || before == '=') && (after == 0 || strings.IndexByte(",}]& \n", after) >= 0)
	}
	return false
}

// render writes raw as a template: recorded text is literal, and each
// bounded occurrence of a replaced value (in a URL also its encoded
// forms) becomes a reference to its variable.
//
// A short number is replaced only where it stands alone: a whole path
// segment, or a JSON or form value; never inside a header.
func render(raw string, subs []sub, where place) string {
	inURL := where == inPath
	type form struct{ text, name string }
	var forms []form
	for _, s := range subs {
		forms = append(forms, form{s.value, s.name})
		if inURL {
			for _, enc := range []string{url.PathEscape(s.value), url.QueryEscape(s.value)} {
				if enc != s.value {
					forms = append(forms, form{enc, s.name})
				}
			}
		}
	}
	var b strings.Builder
	lit := 0
	for i := 0; i < len(raw); {
		matched := false
		for _, f := range forms {
			if f.text != "" && strings.HasPrefix(raw[i:], f.text) && bounded(raw, i, len(f.text)) &&
				(!shortNumber(f.text) || alone(raw, i, len(f.text), where)) {
				b.WriteString(importer.Literal(raw[lit:i]))
				fmt.Fprintf(&b, "{{ %s }}", f.name)
				i += len(f.text)
				lit = i
				matched = true
				break
			}
		}
		if !matched {
			i++
		}
	}
	b.WriteString(importer.Literal(raw[lit:]))
	return b.String()
}
