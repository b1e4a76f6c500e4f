package plan

import (
	"path/filepath"
	"testing"
)

func TestHTTPFeatureProblems(t *testing.T) {
	runProblemCases(t, []problemCase{
		{
			name: "target settings",
			why:  "the version, redirects, proxy, TLS and auth are checked where they are written",
			doc: `load: {duration: 1s}
target:
  base_url: http://x
  http: 3
  cookies: sometimes
  redirects: 101
  proxy: ftp://p
  tls: {min_version: "1.4", cert_file: c.pem}
  auth: {}
scenarios: [{name: a, steps: [{path: /}]}]
`,
			want: []string{
				"t.yaml:4:9: target.http: must be 1 or 2, got 3",
				"t.yaml:5:12: target.cookies: expected true, false or keep, got \"sometimes\"",
				"t.yaml:6:14: target.redirects: 101 is above the limit of 100",
				`t.yaml:7:10: target.proxy: must be an http:// proxy URL (e.g. http://127.0.0.1:3128), got "ftp://p"`,
				"t.yaml:8:8: target.tls: set cert_file and key_file together (the client certificate and its key)",
				`t.yaml:8:22: target.tls.min_version: unknown version "1.4" (use 1.0, 1.1, 1.2 or 1.3)`,
				"t.yaml:9:9: target.auth: set basic: { username, password } or bearer: TOKEN",
			},
		},
		{
			name: "step bodies and auth",
			why:  "one body per step; auth is basic or bearer; a file part names its path; redirects ≥ 0",
			doc: head + `scenarios:
  - name: a
    steps:
      - {path: /, form: {a: b}, body_file: x.bin}
      - {path: /, multipart: {files: {f: {name: a.txt}}}}
      - {path: /, multipart: {}}
      - {path: /, auth: {bearer: t, basic: {username: u}}}
      - {path: /, auth: {basic: {password: p}}}
      - {path: /, redirects: -1}
`,
			want: []string{
				"t.yaml:6:44: scenarios[0].steps[0].body_file: set only one of body, json, form, multipart and body_file (this step sets form and body_file)",
				"t.yaml:7:42: scenarios[0].steps[1].multipart.files.f.path: required: the file to send",
				"t.yaml:8:30: scenarios[0].steps[2].multipart: empty: set fields or files",
				"t.yaml:9:25: scenarios[0].steps[3].auth: set basic or bearer, not both",
				"t.yaml:10:33: scenarios[0].steps[4].auth.basic.username: required",
				"t.yaml:11:30: scenarios[0].steps[5].redirects: must be ≥ 0 (0 turns redirects off), got -1",
			},
		},
		{
			name: "HTTP fields on an SQL step",
			why:  "they would be silently ignored",
			doc: head + `databases: {main: {dsn: x}}
scenarios:
  - {name: a, steps: [{sql: {query: select 1}, form: {a: b}}]}
`,
			want: []string{"t.yaml:5:54: scenarios[0].steps[0].form: applies to HTTP steps only (this step runs sql)"},
		},
	})
}

// cookies: accepts true, false and keep; files are resolved next to the
// plan; a step with a form body defaults to POST.
func TestHTTPFeaturesDecode(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want CookieMode
	}{
		{"true", CookiesOn}, {"false", CookiesOff}, {"keep", CookiesKeep},
	} {
		p, err := Parse(filepath.Join("dir", "t.yaml"), []byte("load: {duration: 1s}\nscenarios: [{name: a, steps: [{path: /, form: {a: b}}, {path: /, body_file: b.bin}]}]\ntarget: {base_url: http://x, cookies: "+tc.doc+", tls: {ca_file: ca.pem}}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if p.Target.Cookies != tc.want {
			t.Errorf("cookies: %s decoded as %q, want %q", tc.doc, p.Target.Cookies, tc.want)
		}
		abs, _ := filepath.Abs(filepath.Join("dir", "ca.pem"))
		if p.Target.TLS.CAFile != abs {
			t.Errorf("ca_file %q, want %q", p.Target.TLS.CAFile, abs)
		}
		if m := p.Scenarios[0].Steps[0].Method; m != "POST" {
			t.Errorf("a form step's method is %q, want POST", m)
		}
		if m := p.Scenarios[0].Steps[1].Method; m != "POST" {
			t.Errorf("a body_file step's method is %q, want POST", m)
		}
	}
}
