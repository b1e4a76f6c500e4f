package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
		why      string
	}{
		{"127.0.0.1:8089", "127.0.0.1:8089", true, "as given"},
		{":8089", "127.0.0.1:8089", true, "no host is loopback, not every interface"},
		{"8089", "127.0.0.1:8089", true, "a bare port"},
		{"0.0.0.0:80", "0.0.0.0:80", true, "every interface only when said"},
		{"[::1]:0", "[::1]:0", true, "IPv6 loopback"},
		{"", "", false, "empty"},
		{"host:http", "", false, "a port name"},
		{"host:70000", "", false, "a port out of range"},
		{"a:b:c", "", false, "not host:port"},
	} {
		got, err := ParseAddr(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s: ParseAddr(%q) = %q, %v; want %q, ok %v", tc.why, tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "127.3.4.5:1": true, "[::1]:1": true, "localhost:1": true,
		"0.0.0.0:1": false, "[::]:1": false, "192.168.1.2:1": false, "example.com:1": false, "junk": false} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// A page bound to loopback answers only requests that name a loopback
// host: a DNS name pointed at 127.0.0.1 by another site gets 421.
func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, tc := range []struct {
		loopback bool
		host     string
		want     int
	}{
		{true, "127.0.0.1:8089", 204}, {true, "localhost:8089", 204}, {true, "[::1]:8089", 204}, {true, "127.0.0.1", 204},
		{true, "evil.example:8089", 421}, {true, "192.168.1.2:8089", 421},
		{false, "evil.example:8089", 204},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = tc.host
		w := httptest.NewRecorder()
		Guard(tc.loopback, ok).ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("loopback %v, Host %s: %d, want %d", tc.loopback, tc.host, w.Code, tc.want)
		}
	}
}

// The vendored library and the pages are embedded and served.
func TestAssets(t *testing.T) {
	srv := httptest.NewServer(Assets())
	defer srv.Close()
	for _, p := range []string{"/assets/vendor/uplot/uPlot.iife.min.js", "/assets/vendor/uplot/uPlot.min.css", "/assets/vendor/uplot/LICENSE",
		"/assets/charts.js", "/assets/dashboard.js", "/assets/history.js", "/assets/monitor.js", "/assets/style.css",
		"/assets/dashboard.html", "/assets/history.html", "/assets/monitor.html"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	b, err := Page("vendor/uplot/uPlot.iife.min.js")
	if err != nil || !containsVersion(b, UPlotVersion) {
		t.Errorf("the vendored uPlot is not version %s (%v)", UPlotVersion, err)
	}
}

func containsVersion(b []byte, v string) bool {
	return strings.Contains(string(b[:min(len(b), 200)]), "(v"+v+")")
}
