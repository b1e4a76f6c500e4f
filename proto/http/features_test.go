package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/tmpl"
)

// withTarget adds to cfg the settings proto.Compile derives from target.
func withTarget(t testing.TB, target plan.Target, cfg Config) Config {
	t.Helper()
	cfg.Timeout = 10 * time.Second // generous: a loaded machine is slow, not broken
	if target.Timeout != 0 {
		cfg.Timeout = target.Timeout.D()
	}
	tc, err := TLSConfig(target)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = tc
	return cfg
}

// compileT compiles a step against target; cfg comes from withTarget.
func compileT(t testing.TB, target plan.Target, st *plan.Step, cfg Config) *Step {
	t.Helper()
	s, err := Compile(target, st, tmpl.NewCompiler(nil, nil, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countConns counts the connections srv (not started yet) accepts.
func countConns(srv *httptest.Server, n *atomic.Int64) {
	srv.Config.ConnState = func(_ net.Conn, s nethttp.ConnState) {
		if s == nethttp.StateNew {
			n.Add(1)
		}
	}
}

// run runs steps in order as one iteration and returns their samples.
func (h *harness) run(steps ...*Step) []metrics.Sample {
	h.vu.Iter++
	out := make([]metrics.Sample, len(steps))
	for i, st := range steps {
		st.Do(context.Background(), h.vu, &out[i])
	}
	return out
}

// cookieServer sets a session cookie at /login (after a redirect from
// /start) and answers /me only to a request that carries it.
func cookieServer(t *testing.T) *httptest.Server {
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/start", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Redirect(w, r, "/login", nethttp.StatusFound)
	})
	mux.HandleFunc("/login", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.SetCookie(w, &nethttp.Cookie{Name: "sid", Value: "s3cret", Path: "/"})
		nethttp.SetCookie(w, &nethttp.Cookie{Name: "admin", Value: "x", Path: "/admin"})
		nethttp.SetCookie(w, &nethttp.Cookie{Name: "gone", Value: "x", Path: "/", MaxAge: -1})
		// A cookie for another site is refused by the jar's domain rules.
		w.Header().Add("Set-Cookie", "evil=1; Domain=example.com; Path=/")
		fmt.Fprint(w, "welcome")
	})
	mux.HandleFunc("/admin/go", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Redirect(w, r, "/me", nethttp.StatusFound)
	})
	mux.HandleFunc("/me", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		c, err := r.Cookie("sid")
		if err != nil || c.Value != "s3cret" || len(r.Cookies()) != 1 {
			w.WriteHeader(401)
			fmt.Fprintf(w, "cookies: %q", r.Header.Get("Cookie"))
			return
		}
		fmt.Fprint(w, "hello")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestCookies(t *testing.T) {
	srv := cookieServer(t)
	tests := []struct {
		name      string
		mode      plan.CookieMode
		sameIter  int // status of /me in the iteration that logged in
		nextIter  int // status of /me alone in the next iteration
		loginFrom string
		me        string
	}{
		{"a jar per VU, cleared at each iteration", plan.CookiesOn, 200, 401, "/login", "/me"},
		{"keep holds cookies across iterations", plan.CookiesKeep, 200, 200, "/login", "/me"},
		{"cookies: false sends none", plan.CookiesOff, 401, 401, "/login", "/me"},
		{"a cookie set behind a redirect is kept", plan.CookiesOn, 200, 401, "/start", "/me"},
		// /admin/go gets the /admin cookie too; /me, where it redirects,
		// must not.
		{"each hop gets the cookies of its own URL", plan.CookiesOn, 200, 401, "/login", "/admin/go"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withTarget(t, plan.Target{}, Config{KeepAlive: true, Cookies: tc.mode})
			h := newHarness(t, cfg)
			target := plan.Target{BaseURL: srv.URL}
			login := compileT(t, target, &plan.Step{Name: "login", Path: tc.loginFrom}, cfg)
			me := compileT(t, target, &plan.Step{Name: "me", Path: tc.me, Check: &plan.Check{Status: []int{200, 401}}}, cfg)
			s := h.run(login, me)
			if s[0].Status != 200 || int(s[1].Status) != tc.sameIter {
				t.Fatalf("login %d, me %d; want 200, %d", s[0].Status, s[1].Status, tc.sameIter)
			}
			if s = h.run(me); int(s[0].Status) != tc.nextIter {
				t.Fatalf("next iteration: me %d, want %d", s[0].Status, tc.nextIter)
			}
		})
	}
}

// redirectServer answers /r/N with a redirect to /r/N-1 and /r/0 with
// 200 and the method it saw; every answer waits delay first.
func redirectServer(t *testing.T, delay time.Duration) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		time.Sleep(delay)
		var n int
		var code int
		if _, err := fmt.Sscanf(r.URL.Path, "/r/%d/%d", &n, &code); err != nil {
			code = 302
			fmt.Sscanf(r.URL.Path, "/r/%d", &n)
		}
		if n == 0 {
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s %q", r.Method, r.Header.Get("Authorization"), body)
			return
		}
		next := fmt.Sprintf("/r/%d/%d", n-1, code)
		if n%2 == 0 { // relative and absolute locations both
			next = "http://" + r.Host + next
		}
		nethttp.Redirect(w, r, next, code)
	}))
	countConns(srv, &conns)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestRedirects(t *testing.T) {
	const delay = 20 * time.Millisecond
	srv, _ := redirectServer(t, delay)
	ten, zero, two := 10, 0, 2
	tests := []struct {
		name      string
		step      plan.Step
		status    uint16
		body      string
		minTTFB   time.Duration
		wantBytes bool
	}{
		{"followed by default", plan.Step{Path: "/r/3"}, 200, "GET", 4 * delay, true},
		{"redirects: 0 returns the redirect", plan.Step{Path: "/r/3", Redirects: &zero}, 302, "", delay, true},
		{"at most redirects hops", plan.Step{Path: "/r/3", Redirects: &two}, 302, "", 3 * delay, true},
		{"302 after POST becomes GET", plan.Step{Path: "/r/1", Method: "POST", Body: "x", Redirects: &ten}, 200, `GET  ""`, 2 * delay, true},
		{"307 keeps the method and body", plan.Step{Path: "/r/2/307", Method: "POST", Body: "x"}, 200, `POST  "x"`, 3 * delay, true},
		{"same-origin redirects keep auth", plan.Step{Path: "/r/2", Auth: &plan.Auth{Bearer: "t0k"}}, 200, `GET Bearer t0k`, 3 * delay, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withTarget(t, plan.Target{}, Config{KeepAlive: true})
			h := newHarness(t, cfg)
			st := tc.step
			st.Check = &plan.Check{Status: []int{200, 302}, BodyContains: tc.body}
			s := h.run(compileT(t, plan.Target{BaseURL: srv.URL}, &st, cfg))[0]
			if s.Kind != metrics.KindNone || s.Status != tc.status {
				t.Fatalf("kind %v status %d, want none %d", s.Kind, s.Status, tc.status)
			}
			// Every hop's time to first byte is counted under the step.
			if ttfb := time.Duration(s.TTFBUS) * time.Microsecond; ttfb < tc.minTTFB {
				t.Fatalf("time to first byte %v, want ≥ %v (each hop waits %v)", ttfb, tc.minTTFB, delay)
			}
		})
	}
}

// Every hop's connection is counted: without keep-alive a chain of three
// hops connects three times.
func TestRedirectHopsAreTimed(t *testing.T) {
	srv, conns := redirectServer(t, 0)
	cfg := withTarget(t, plan.Target{}, Config{KeepAlive: false})
	h := newHarness(t, cfg)
	one := compileT(t, plan.Target{BaseURL: srv.URL}, &plan.Step{Path: "/r/0"}, cfg)
	three := compileT(t, plan.Target{BaseURL: srv.URL}, &plan.Step{Path: "/r/2"}, cfg)
	a := h.run(one)[0]
	before := conns.Load()
	b := h.run(three)[0]
	if got := conns.Load() - before; got != 3 {
		t.Fatalf("%d connections for three hops, want 3", got)
	}
	if b.BytesOut < 3*a.BytesOut-10 || b.BytesIn < 2*a.BytesIn {
		t.Fatalf("bytes out %d in %d for three hops; one hop is %d/%d", b.BytesOut, b.BytesIn, a.BytesOut, a.BytesIn)
	}
}

// echoServer answers with what a form, multipart or raw body held.
func echoServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		ct := r.Header.Get("Content-Type")
		switch {
		case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
			r.ParseForm()
			fmt.Fprintf(w, "form user=%q pass=%q", r.PostForm.Get("user"), r.PostForm.Get("pass"))
		case strings.HasPrefix(ct, "multipart/form-data"):
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				w.WriteHeader(400)
				fmt.Fprint(w, err)
				return
			}
			f, fh, err := r.FormFile("avatar")
			if err != nil {
				w.WriteHeader(400)
				fmt.Fprint(w, err)
				return
			}
			data, _ := io.ReadAll(f)
			sum := sha256.Sum256(data)
			fmt.Fprintf(w, "multipart title=%q file=%q type=%q sha=%s", r.FormValue("title"), fh.Filename, fh.Header.Get("Content-Type"), hex.EncodeToString(sum[:]))
		default:
			data, _ := io.ReadAll(r.Body)
			sum := sha256.Sum256(data)
			u, p, ok := r.BasicAuth()
			fmt.Fprintf(w, "raw sha=%s auth=%q basic=%v:%q:%q", hex.EncodeToString(sum[:]), r.Header.Get("Authorization"), ok, u, p)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestBodiesAndAuth(t *testing.T) {
	srv := echoServer(t)
	dir := t.TempDir()
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	file := filepath.Join(dir, "photo.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	tests := []struct {
		name   string
		target plan.Target
		step   plan.Step
		want   string
	}{
		{"form is urlencoded", plan.Target{}, plan.Step{Path: "/", Method: "POST", Form: map[string]string{"user": "a b&c", "pass": "{{ vu }}"}}, `form user="a b&c" pass="1"`},
		{"multipart with a file from disk", plan.Target{}, plan.Step{Path: "/", Method: "POST", Multipart: &plan.Multipart{
			Fields: map[string]string{"title": "hi \"there\""}, Files: map[string]*plan.FilePart{"avatar": {Path: file, ContentType: "image/png"}}}},
			`multipart title="hi \"there\"" file="photo.bin" type="image/png" sha=` + sha},
		{"templated multipart", plan.Target{}, plan.Step{Path: "/", Method: "POST", Multipart: &plan.Multipart{
			Fields: map[string]string{"title": "vu {{ vu }}"}, Files: map[string]*plan.FilePart{"avatar": {Path: file, Name: "a.bin"}}}},
			`multipart title="vu 1" file="a.bin" type="application/octet-stream" sha=` + sha},
		{"body_file is sent as it is", plan.Target{}, plan.Step{Path: "/", Method: "PUT", BodyFile: file}, "raw sha=" + sha},
		{"basic auth", plan.Target{}, plan.Step{Path: "/", Auth: &plan.Auth{Basic: &plan.BasicAuth{Username: "ann", Password: "p:{{ vu }}"}}}, `basic=true:"ann":"p:1"`},
		{"bearer from the target", plan.Target{Auth: &plan.Auth{Bearer: "tok-{{ vu }}"}}, plan.Step{Path: "/"}, `auth="Bearer tok-1"`},
		{"an Authorization header wins", plan.Target{Auth: &plan.Auth{Bearer: "tok"}}, plan.Step{Path: "/", Headers: map[string]string{"Authorization": "Custom x"}}, `auth="Custom x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withTarget(t, plan.Target{}, Config{KeepAlive: true})
			h := newHarness(t, cfg)
			tc.target.BaseURL = srv.URL
			st := tc.step
			st.Check = &plan.Check{Status: []int{200}, BodyContains: tc.want}
			for range 2 { // the second request reuses the VU's buffers
				s := h.run(compileT(t, tc.target, &st, cfg))[0]
				if s.Kind != metrics.KindNone {
					t.Fatalf("kind %v (status %d)", s.Kind, s.Status)
				}
			}
		})
	}
}
