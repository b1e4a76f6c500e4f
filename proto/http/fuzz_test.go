package http

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/stampede-perf/stampede/plan"
)

// FuzzResponseHeaders feeds arbitrary Location and Set-Cookie values to
// the redirect resolution and the jar: nothing panics, a followed
// redirect is always an http or https URL with a host, and cookies a
// response sets go back only to the origin that may have them.
func FuzzResponseHeaders(f *testing.F) {
	for _, s := range [][2]string{
		{"/next", "sid=1; Path=/"},
		{"http://127.0.0.1:1/x?y#z", "a=b; Domain=127.0.0.1; Max-Age=10; Secure; HttpOnly"},
		{"//other.test/a", "c=d; Domain=.test"},
		{"javascript:alert(1)", "=; Path"},
		{"../../..", "x=y; Expires=Wed, 21 Oct 2015 07:28:00 GMT"},
		{"https://[::1]:443/%zz", "e=\"f\"; SameSite=Strict"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, location, setCookie string) {
		u, err := resolveRedirect("http://127.0.0.1:8080", "/a/b?c", location)
		if err == nil && (u.Host == "" || u.Scheme != "http" && u.Scheme != "https") {
			t.Fatalf("followed %q to %v", location, u)
		}
		var resp fasthttp.Response
		resp.Header.Add("Set-Cookie", setCookie)
		var k cookies
		k.store(&resp, "http://127.0.0.1:8080", []byte("/a/b"), 1)
		var req fasthttp.Request
		k.apply(&req, "http://127.0.0.1:8080", []byte("/a/b"), 0)
		k.apply(&req, "http://other.test", []byte("/a/b"), 1)
		if c := req.Header.Peek("Cookie"); len(c) > 0 {
			t.Fatalf("cookies for 127.0.0.1 sent to other.test: %q", c)
		}
		k.newIteration(plan.CookiesOn, 2)
		if k.jar != nil {
			t.Fatal("the jar outlived its iteration")
		}
		if strings.Contains(string(req.Header.Peek("Cookie")), "\n") {
			t.Fatalf("a cookie header with a line break from %q", setCookie)
		}
	})
}
