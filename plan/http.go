package plan

import (
	"net/url"
	"reflect"

	"github.com/goccy/go-yaml/ast"

	"path/filepath"
	"slices"
	"strings"
)

// HTTP features beyond a plain request: cookies, redirects, TLS settings,
// the protocol version, a proxy, authentication and form, multipart and
// file bodies. They are plain data here; proto/http compiles them.

// Cookie modes of target.cookies.
const (
	CookiesOn   = ""     // a jar per VU, cleared at each iteration (default)
	CookiesOff  = "off"  // `cookies: false`: no jar
	CookiesKeep = "keep" // the jar lasts the VU's lifetime
)

// CookieMode is target.cookies: true (default), false or keep.
type CookieMode string

// Bounds of the HTTP features.
const (
	// DefaultRedirects is how many redirects a step follows when the plan
	// does not say.
	DefaultRedirects = 10
	// MaxRedirects bounds target.redirects and a step's redirects.
	MaxRedirects = 100
	// MaxFormFields bounds the fields of a form or multipart body.
	MaxFormFields = 1000
)

// TLS is target.tls: how HTTPS connections are made.
type TLS struct {
	// CAFile is a PEM file of the authorities trusted instead of the
	// system's.
	CAFile string `yaml:"ca_file" json:"ca_file,omitempty"`
	// CertFile and KeyFile are the client certificate and key (PEM) sent
	// when the server asks for one (mutual TLS).
	CertFile string `yaml:"cert_file" json:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file" json:"key_file,omitempty"`
	// ServerName is the name sent in SNI and checked in the server's
	// certificate (default: the URL's host).
	ServerName string `yaml:"server_name" json:"server_name,omitempty"`
	// MinVersion is the lowest version offered: 1.0, 1.1, 1.2 (default)
	// or 1.3.
	MinVersion string `yaml:"min_version" json:"min_version,omitempty"`
	// Resumption false makes every new connection a full handshake; by
	// default each VU keeps the sessions of its hosts and resumes them.
	Resumption *bool `yaml:"resumption" json:"resumption,omitempty"`
}

// Auth is an authentication helper: exactly one of Basic or Bearer.
type Auth struct {
	Basic  *BasicAuth `yaml:"basic" json:"basic,omitempty"`
	Bearer string     `yaml:"bearer" json:"bearer,omitempty"` // the token, templated
}

// BasicAuth is a user name and password, both templated.
type BasicAuth struct {
	Username string `yaml:"username" json:"username"`
	Password string `yaml:"password" json:"password"`
}

// Multipart is a multipart/form-data body: text fields and files read
// from disk when the plan is compiled.
type Multipart struct {
	Fields map[string]string    `yaml:"fields" json:"fields,omitempty"` // templated
	Files  map[string]*FilePart `yaml:"files" json:"files,omitempty"`   // by field name
}

// FilePart is one file of a multipart body.
type FilePart struct {
	Path        string `yaml:"path" json:"path"`
	Name        string `yaml:"name" json:"name,omitempty"`                 // file name sent (default: the path's base)
	ContentType string `yaml:"content_type" json:"content_type,omitempty"` // default application/octet-stream
}

var tlsVersions = []string{"1.0", "1.1", "1.2", "1.3"}

// resolveFiles makes the relative files of HTTP steps and target.tls
// relative to the plan file's directory, and absolute.
func resolveFiles(p *Plan, file string) {
	if file == "" {
		return
	}
	abs := func(s *string) {
		if *s == "" || filepath.IsAbs(*s) || strings.Contains(*s, "${") {
			return
		}
		path := filepath.Join(filepath.Dir(file), *s)
		if a, err := filepath.Abs(path); err == nil {
			path = a
		}
		*s = path
	}
	if t := p.Target.TLS; t != nil {
		abs(&t.CAFile)
		abs(&t.CertFile)
		abs(&t.KeyFile)
	}
	for _, s := range p.Scenarios {
		if s == nil {
			continue
		}
		for _, st := range s.Steps {
			if st == nil {
				continue
			}
			abs(&st.BodyFile)
			if st.Multipart != nil {
				for _, f := range st.Multipart.Files {
					if f != nil {
						abs(&f.Path)
					}
				}
			}
		}
	}
}

// httpTarget checks target settings of the HTTP features.
func (c *checker) httpTarget() {
	t := &c.p.Target
	if t.HTTP != 0 && t.HTTP != 1 && t.HTTP != 2 {
		c.add("target.http", "must be 1 or 2, got %d", t.HTTP)
	}
	if t.Redirects != nil {
		c.redirects("target.redirects", *t.Redirects)
	}
	if t.Proxy != "" && !strings.Contains(t.Proxy, "${") {
		if u, err := url.Parse(t.Proxy); err != nil || u.Scheme != "http" || u.Host == "" {
			c.add("target.proxy", "must be an http:// proxy URL (e.g. http://127.0.0.1:3128), got %q", t.Proxy)
		}
	}
	c.auth("target.auth", t.Auth)
	if s := t.TLS; s != nil {
		if s.MinVersion != "" && !slices.Contains(tlsVersions, s.MinVersion) {
			c.add("target.tls.min_version", "unknown version %q (use %s)", s.MinVersion, orList(tlsVersions))
		}
		if (s.CertFile == "") != (s.KeyFile == "") {
			c.add("target.tls", "set cert_file and key_file together (the client certificate and its key)")
		}
	}
}

func (c *checker) redirects(path string, n int) {
	switch {
	case n < 0:
		c.add(path, "must be ≥ 0 (0 turns redirects off), got %d", n)
	case n > MaxRedirects:
		c.add(path, "%d is above the limit of %d", n, MaxRedirects)
	}
}

func (c *checker) auth(path string, a *Auth) {
	if a == nil {
		return
	}
	switch {
	case a.Basic != nil && a.Bearer != "":
		c.add(path, "set basic or bearer, not both")
	case a.Basic == nil && a.Bearer == "":
		c.add(path, "set basic: { username, password } or bearer: TOKEN")
	case a.Basic != nil && a.Basic.Username == "":
		c.add(fieldPath(fieldPath(path, "basic"), "username"), "required")
	}
}

// httpStep checks a step's HTTP features; isHTTP is false for SQL steps.
func (c *checker) httpStep(sp string, st *Step, isHTTP bool) {
	bodies := []struct {
		name string
		set  bool
	}{
		{"body", st.Body != ""},
		{"json", st.JSON != nil},
		{"form", len(st.Form) > 0},
		{"multipart", st.Multipart != nil},
		{"body_file", st.BodyFile != ""},
	}
	var set []string
	for _, b := range bodies {
		if b.set {
			set = append(set, b.name)
		}
	}
	if len(set) > 1 && !(len(set) == 2 && set[0] == "body" && set[1] == "json") { // body+json has its own message
		c.add(fieldPath(sp, set[1]), "set only one of body, json, form, multipart and body_file (this step sets %s)", strings.Join(set, " and "))
	}
	if !isHTTP {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"form", len(st.Form) > 0}, {"multipart", st.Multipart != nil}, {"body_file", st.BodyFile != ""},
			{"auth", st.Auth != nil}, {"redirects", st.Redirects != nil},
		} {
			if f.set {
				c.add(fieldPath(sp, f.name), "applies to HTTP steps only (this step runs sql)")
			}
		}
		return
	}
	if st.Redirects != nil {
		c.redirects(fieldPath(sp, "redirects"), *st.Redirects)
	}
	c.auth(fieldPath(sp, "auth"), st.Auth)
	if n := len(st.Form); n > MaxFormFields {
		c.add(fieldPath(sp, "form"), "%d fields; at most %d are allowed", n, MaxFormFields)
	}
	if m := st.Multipart; m != nil {
		mp := fieldPath(sp, "multipart")
		if len(m.Fields)+len(m.Files) == 0 {
			c.add(mp, "empty: set fields or files")
		}
		if n := len(m.Fields) + len(m.Files); n > MaxFormFields {
			c.add(mp, "%d parts; at most %d are allowed", n, MaxFormFields)
		}
		for _, k := range sortedKeys(m.Files) {
			if f := m.Files[k]; f == nil || f.Path == "" {
				c.add(fieldPath(keyPath(fieldPath(mp, "files"), k), "path"), "required: the file to send")
			}
		}
	}
}

// cookieMode decodes `cookies: true|false|keep`.
func (d *decoder) cookieMode(n ast.Node, v reflect.Value, path string) {
	switch x := n.(type) {
	case *ast.BoolNode:
		if x.Value {
			v.SetString(CookiesOn)
		} else {
			v.SetString(CookiesOff)
		}
		return
	case *ast.StringNode:
		if x.Value == CookiesKeep {
			v.SetString(CookiesKeep)
			return
		}
	}
	d.fail(n, path, "expected true, false or keep, got %s", describe(n))
}
