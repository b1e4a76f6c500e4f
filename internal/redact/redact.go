// Package redact masks the secrets of connection strings, URLs and header
// values before they reach a message, a Run document, a report or the run
// history. It is the one place that knows what a secret looks like:
//
//   - the password of a URL's user information (postgres://u:pw@h/db,
//     mysql://u:pw@h, sqlite://u:pw@…, http://u:pw@h);
//   - query parameters whose names say they hold a credential (password,
//     passwd, pwd, token, secret, key, apikey, auth, sslkey, signature…);
//   - the same keywords in a libpq keyword/value string
//     (host=db password='s e c r e t');
//   - the password of a MySQL DSN (user:pw@tcp(host)/db);
//   - credential headers (Authorization, Cookie, X-Api-Key…).
//
// The trade-off is deliberate: a value is masked when in doubt (a query
// parameter named "monkey" loses its value too), because a secret printed
// once cannot be taken back. Masking never fails and never panics, whatever
// the input.
package redact

import (
	"net/url"
	"sort"
	"strings"
)

// Mask replaces every secret.
const Mask = "xxxxx"

// String returns s — a URL, a DSN or a libpq keyword/value string — with
// every secret it holds replaced by Mask. Anything else comes back as it
// was.
func String(s string) string {
	spans := find(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.from])
		b.WriteString(Mask)
		last = sp.to
	}
	b.WriteString(s[last:])
	return b.String()
}

// Secrets returns the secrets s holds, as written in s and decoded (URL
// unescaped, unquoted), longest first: what Scrub removes from messages
// that may quote them.
func Secrets(s string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, sp := range find(s) {
		raw := s[sp.from:sp.to]
		add(raw)
		if v, err := url.QueryUnescape(raw); err == nil {
			add(v)
		}
		if v, err := url.PathUnescape(raw); err == nil {
			add(v)
		}
		add(unquote(raw))
		add(url.QueryEscape(unquote(raw)))
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Scrub removes from msg (a driver's error, say) every secret of source (the
// DSN or URL it was given), and masks any URL or keyword string msg quotes
// itself.
func Scrub(msg, source string) string {
	for _, sec := range Secrets(source) {
		msg = strings.ReplaceAll(msg, sec, Mask)
	}
	return Text(msg)
}

// Text masks the secrets of every URL and keyword/value pair found in
// free text, such as an error message that quotes a request URL.
func Text(msg string) string {
	fields := strings.Fields(msg)
	if len(fields) == 0 {
		return msg
	}
	out := msg
	for _, f := range fields {
		f = strings.Trim(f, `"'<>()[],;`)
		if f == "" {
			continue
		}
		if r := String(f); r != f {
			out = strings.ReplaceAll(out, f, r)
		}
	}
	// keyword = value pairs spread over several fields
	if r := String(out); r != out && !strings.Contains(out, "://") {
		out = r
	}
	return out
}

// Header returns the value of header name, masked when the header carries
// credentials. An authentication scheme ("Bearer", "Basic") is kept, so
// that a message still says which kind of credential was sent.
func Header(name, value string) string {
	if !SecretHeader(name) {
		return String(value)
	}
	if n := normalize(name); n == "authorization" || n == "proxyauthorization" {
		if scheme, _, ok := strings.Cut(value, " "); ok && isWord(scheme) {
			return scheme + " " + Mask
		}
	}
	if value == "" {
		return value
	}
	return Mask
}

// SecretHeader reports whether a header of this name carries credentials.
func SecretHeader(name string) bool {
	n := normalize(name)
	switch n {
	case "authorization", "proxyauthorization", "cookie", "setcookie":
		return true
	}
	return secretName(n)
}

// Key reports whether a parameter or keyword of this name holds a secret.
func Key(name string) bool { return secretName(normalize(name)) }

// secretWords are the parts of a normalized name that mark a secret.
var secretWords = []string{"password", "passwd", "passphrase", "pwd", "pass", "token", "secret", "key", "auth", "credential", "signature", "session", "cookie", "private"}

func secretName(n string) bool {
	if n == "sig" {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// normalize lower-cases a name and drops the separators people put in
// them (api-key, api_key, API.Key).
func normalize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		if r == '-' || r == '_' || r == '.' || r == ' ' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isWord(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
			return false
		}
	}
	return true
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		v = v[1 : len(v)-1]
		v = strings.ReplaceAll(v, `\'`, `'`)
		v = strings.ReplaceAll(v, `\\`, `\`)
	}
	return v
}

// span is a secret's byte range in the string.
type span struct{ from, to int }

// find returns the secrets' spans in s, sorted and not overlapping.
func find(s string) []span {
	var spans []span
	if scheme := schemeLen(s); scheme > 0 {
		spans = append(spans, userinfo(s, scheme)...)
	} else {
		spans = append(spans, keywords(s)...)
		spans = append(spans, mysqlPassword(s)...)
	}
	// The query starts at the first '?' that is not inside a secret
	// already found: a password may hold one.
	spans = merge(spans)
	if q := firstOutside(s, '?', spans); q >= 0 {
		spans = append(spans, query(s, q+1)...)
	}
	return merge(spans)
}

// firstOutside is the index of the first c in s outside spans (sorted,
// not overlapping), or -1.
func firstOutside(s string, c byte, spans []span) int {
	from := 0
	for _, sp := range spans {
		if i := strings.IndexByte(s[from:sp.from], c); i >= 0 {
			return from + i
		}
		from = sp.to
	}
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

// schemeLen is the length of "scheme://" at the start of s, or 0.
func schemeLen(s string) int {
	i := strings.Index(s, "://")
	if i <= 0 {
		return 0
	}
	for k, r := range s[:i] {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || k > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')
		if !ok {
			return 0
		}
	}
	return i + 3
}

// userinfo finds the password of scheme://user:password@host…. When the
// URL parses, its user information is where the parser says; when it does
// not (an unescaped '/', '?' or '#' in the password), everything between
// the first ':' and the last '@' is taken for the password.
func userinfo(s string, start int) []span {
	rest := s[start:]
	if u, err := url.Parse(s); err == nil {
		if u.User == nil {
			return nil
		}
		if _, has := u.User.Password(); !has && (u.Scheme == "http" || u.Scheme == "https") {
			// https://TOKEN@host: a web URL's lone user is a token
			if at := strings.LastIndexByte(rest[:max(0, strings.IndexAny(rest+"/", "/?#"))], '@'); at > 0 {
				return []span{{start, start + at}}
			}
			return nil
		}
		at := strings.IndexAny(rest, "/?#")
		if at < 0 {
			at = len(rest)
		}
		at = strings.LastIndexByte(rest[:at], '@')
		if at < 0 {
			return nil
		}
		colon := strings.IndexByte(rest[:at], ':')
		if colon < 0 {
			return nil
		}
		return []span{{start + colon + 1, start + at}}
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return nil
	}
	colon := strings.IndexByte(rest[:at], ':')
	if colon < 0 {
		return nil
	}
	return []span{{start + colon + 1, start + at}}
}

// query finds the values of secret parameters in s[from:] (a query string:
// name=value pairs separated by & or ;). A value runs to the next
// separator, or to the end when the next one cannot start a parameter.
func query(s string, from int) []span {
	var spans []span
	i := from
	for i < len(s) {
		end := nextParam(s, i)
		pair := s[i:end]
		if k, _, ok := strings.Cut(pair, "="); ok {
			name, err := url.QueryUnescape(k)
			if err != nil {
				name = k
			}
			if Key(name) {
				v := i + len(k) + 1
				if v < end {
					spans = append(spans, span{v, end})
				}
			}
		}
		i = end + 1
	}
	return spans
}

// nextParam is the end of the parameter starting at i: the next & or ;
// followed by a name and '=', else the end of s (so a secret holding a
// bare & is masked whole).
func nextParam(s string, i int) int {
	for j := i; j < len(s); j++ {
		if s[j] != '&' && s[j] != ';' {
			continue
		}
		k := j + 1
		for k < len(s) && isNameByte(s[k]) {
			k++
		}
		if k > j+1 && k < len(s) && s[k] == '=' {
			return j
		}
	}
	return len(s)
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '%'
}

// keywords finds the values of secret keywords in a libpq keyword/value
// string: name = value pairs separated by spaces, a value either bare or
// in single quotes with backslash escapes.
func keywords(s string) []span {
	var spans []span
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		k := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' {
			i++
		}
		name := s[k:i]
		j := i
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		if j >= len(s) || s[j] != '=' || name == "" {
			// not a keyword: skip the word
			for i < len(s) && !isSpace(s[i]) {
				i++
			}
			continue
		}
		j++
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		v := j
		if j < len(s) && s[j] == '\'' {
			j++
			for j < len(s) && s[j] != '\'' {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				j++
			}
			if j < len(s) {
				j++ // the closing quote
			}
		} else {
			for j < len(s) && !isSpace(s[j]) {
				j++
			}
		}
		if isKeyword(name) && Key(name) && j > v {
			spans = append(spans, span{v, j})
		}
		i = j
	}
	return spans
}

func isKeyword(name string) bool {
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// mysqlPassword finds the password of user:password@protocol(address)/db.
func mysqlPassword(s string) []span {
	end := len(s)
	if p := strings.Index(s, "@tcp("); p >= 0 {
		end = p + 1
	} else if p := strings.Index(s, "@unix("); p >= 0 {
		end = p + 1
	} else if q := strings.IndexByte(s, '?'); q >= 0 {
		end = q
	}
	at := strings.LastIndexByte(s[:end], '@')
	if at <= 0 {
		return nil
	}
	colon := strings.IndexByte(s[:at], ':')
	if colon <= 0 || strings.ContainsAny(s[:colon], " \t=/") {
		return nil
	}
	return []span{{colon + 1, at}}
}

// merge sorts spans and joins those that overlap.
func merge(spans []span) []span {
	if len(spans) < 2 {
		return spans
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.from <= last.to {
			if sp.to > last.to {
				last.to = sp.to
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}
