package curl

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/importer/importertest"
	"github.com/stampede-perf/stampede/plan"
)

func imported(t *testing.T, line string) (string, *plan.Plan) {
	t.Helper()
	p, err := Import(line)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	data, pl := importertest.Check(t, p, t.TempDir())
	return string(data), pl
}

// A command as Chromium's "Copy as cURL (bash)" writes it: $'…' quoting,
// line continuations, a cookie, --compressed.
const chromiumCopy = `curl 'http://127.0.0.1:8080/api/cart/add' \
  -H 'Accept: application/json' \
  -H 'Content-Type: application/json' \
  -b 'sid=abc123; theme=dark' \
  -H 'Origin: http://127.0.0.1:8080' \
  -H $'X-Note: it\'s' \
  --data-raw $'{"product_id":7,"quantity":2,"note":"{{not a template}}"}' \
  --compressed`

func TestChromiumCopy(t *testing.T) {
	data, p := imported(t, chromiumCopy)
	if p.Target.BaseURL != "http://127.0.0.1:8080" {
		t.Errorf("base_url %q", p.Target.BaseURL)
	}
	st := p.Scenarios[0].Steps[0]
	if st.Method != "POST" || st.Path != "/api/cart/add" {
		t.Errorf("step %s %s", st.Method, st.Path)
	}
	want := map[string]string{"Accept": "application/json", "Content-Type": "application/json", "Cookie": "sid=abc123; theme=dark",
		"X-Note": "it's", "Accept-Encoding": "gzip, deflate, br"}
	for k, v := range want {
		if st.Headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, st.Headers[k], v)
		}
	}
	if st.Body != `{"product_id":7,"quantity":2,"note":"{{ "{{" }}not a template}}"}` {
		t.Errorf("body %q", st.Body)
	}
	if !strings.Contains(data, "# Decide:") || !strings.Contains(data, "--compressed") {
		t.Errorf("the plan lacks its comments:\n%s", data)
	}
}

func TestFlags(t *testing.T) {
	cases := []struct {
		line                string
		method, path, body  string
		header, headerValue string
		insecure            bool
	}{
		{line: `curl -XPUT https://api.example.test/v1/items/9 -d 'a=1' -d b=2 -k`, method: "PUT", path: "/v1/items/9", body: "a=1&b=2",
			header: "Content-Type", headerValue: "application/x-www-form-urlencoded", insecure: true},
		{line: `curl -sSL -G --url 'http://h.test/search?x=1' --data-urlencode 'q=hello world'`, method: "GET", path: "/search?x=1&q=hello+world"},
		{line: `curl -u alice:s3cret http://h.test`, method: "GET", path: "/", header: "Authorization",
			headerValue: "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))},
		{line: `curl http://bob:pw@h.test/x`, method: "GET", path: "/x", header: "Authorization",
			headerValue: "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:pw"))},
		{line: `curl -I h.test:8080/health`, method: "HEAD", path: "/health"},
		{line: `curl --json '{"a":1}' http://h.test/j`, method: "POST", path: "/j", body: `{"a":1}`, header: "Accept", headerValue: "application/json"},
		{line: `curl -H "Authorization: Bearer $TOKEN" "http://h.test/users/${USER_ID}/orders"`, method: "GET",
			path: "/users/{{ env.USER_ID }}/orders", header: "Authorization", headerValue: "Bearer {{ env.TOKEN }}"},
		{line: `curl -A 'load/1.0' -e http://ref.test/ --oauth2-bearer tok -X delete http://h.test/a -o /dev/null -w '%{http_code}' --max-time 3`,
			method: "DELETE", path: "/a", header: "Authorization", headerValue: "Bearer tok"},
		{line: `curl -H 'Accept: a' -H 'Accept:' -H 'X-Empty;' http://h.test/`, method: "GET", path: "/", header: "X-Empty", headerValue: ""},
	}
	for _, c := range cases {
		_, p := imported(t, c.line)
		st := p.Scenarios[0].Steps[0]
		if st.Method != c.method || st.Path != c.path || st.Body != c.body {
			t.Errorf("%s:\n got %s %s %q\nwant %s %s %q", c.line, st.Method, st.Path, st.Body, c.method, c.path, c.body)
		}
		if v, ok := st.Headers[c.header]; c.header != "" && (!ok || v != c.headerValue) {
			t.Errorf("%s: header %s = %q, want %q", c.line, c.header, st.Headers[c.header], c.headerValue)
		}
		if p.Target.Insecure != c.insecure {
			t.Errorf("%s: insecure %v", c.line, p.Target.Insecure)
		}
	}
}

func TestErrors(t *testing.T) {
	cases := []struct{ line, want string }{
		{`curl --frobnicate http://h.test/`, "line 1, column 6: unknown flag --frobnicate"},
		{`curl -sZ http://h.test/`, `column 6: unknown flag -Z in "-sZ"`},
		{"curl http://h.test/ \\\n  -H 'A: b' \\\n  --bogus", "line 3, column 3: unknown flag --bogus"},
		{`curl 'http://h.test/`, "line 1, column 6: reached EOF without closing quote"},
		{`wget http://h.test/`, `the command is "wget", not curl`},
		{`curl -X`, "-X needs a value"},
		{`curl`, "the command has no URL"},
		{`curl http://a.test/ http://b.test/`, "a second URL"},
		{`curl -d @body.json http://h.test/`, `read from file "body.json"`},
		{`curl ftp://h.test/x`, "not an http:// or https:// URL"},
		{`curl http://$HOST/x`, "the host of"},
		{`curl -X BREW http://h.test/`, `method "BREW"`},
		{`curl http://h.test/ | jq .`, "want a plain curl command"},
		{`curl a; curl b`, "want one curl command, found 2"},
		{`curl -H 'nocolon' http://h.test/`, "has no ':'"},
		{`curl -H "Authorization: Bearer $!" http://h.test/`, "line 1, column 9: $! is a special shell parameter"},
	}
	for _, c := range cases {
		_, err := Import(c.line)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error containing %q", c.line, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: the error is not one line: %q", c.line, err)
		}
	}
}

func FuzzImport(f *testing.F) {
	f.Add(chromiumCopy)
	f.Add(`curl -sSL -G --url 'http://h.test/search?x=1' --data-urlencode 'q=hello world'`)
	f.Add(`curl -H "Authorization: Bearer $TOKEN" "http://h.test/users/${USER_ID}/orders" -XPATCH --json '{}'`)
	f.Add(`curl -u a:b -b 'x=y' -A ua -e ref -k -I http://h.test:1/`)
	f.Fuzz(func(t *testing.T, line string) {
		p, err := Import(line)
		importertest.Fuzzed(t, p, err)
	})
}
