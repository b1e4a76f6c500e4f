package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	srv, err := Start(t.Context(), "127.0.0.1:0", Options{Users: 10, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") || strings.HasSuffix(srv.URL(), ":0") {
		t.Errorf("URL() = %q, want http://127.0.0.1:<port>", srv.URL())
	}
	if srv.Shop() == nil {
		t.Error("Shop() = nil")
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	res, err := hc.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("GET /healthz: %d %s", res.StatusCode, body)
	}

	// The address is taken while the server runs.
	if other, err := Start(t.Context(), strings.TrimPrefix(srv.URL(), "http://"), Options{Users: 1}); err == nil {
		_ = other.Close(t.Context())
		t.Error("a second server started on the same address")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := srv.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	hc.CloseIdleConnections()
	if res, err := hc.Get(srv.URL() + "/healthz"); err == nil {
		res.Body.Close()
		t.Errorf("server still answers after Close: %d", res.StatusCode)
	}
}

func TestDialAddr(t *testing.T) {
	for _, tc := range []struct {
		why  string
		addr net.Addr
		want string
	}{
		{"loopback stays", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}, "127.0.0.1:80"},
		{"IPv4 any becomes loopback", &net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "127.0.0.1:8080"},
		{"IPv6 any becomes loopback", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "127.0.0.1:8080"},
		{"IPv6 address is bracketed", &net.TCPAddr{IP: net.IPv6loopback, Port: 9}, "[::1]:9"},
	} {
		if got := dialAddr(tc.addr); got != tc.want {
			t.Errorf("%s: dialAddr(%v) = %q, want %q", tc.why, tc.addr, got, tc.want)
		}
	}
}

// TestServerErrorsAreLogged breaks the database under a running shop: the
// client gets a bare 500, the cause goes to Logf.
func TestServerErrorsAreLogged(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	shop, err := New(t.Context(), Options{Users: 5, Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := shop.Close(); err != nil {
			t.Error(err)
		}
	}()
	srv := httptest.NewServer(shop.Handler())
	defer srv.Close()
	c := &client{t: t, base: srv.URL, hc: srv.Client()}

	if err := shop.st.product.Close(); err != nil {
		t.Fatal(err)
	}
	r := c.expect(http.StatusInternalServerError, "GET", "/api/products/1", "", nil)
	if msg := r.json(t)["error"]; msg != "internal error" {
		t.Errorf("500 body says %q; the cause belongs in the log, not the response", msg)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := len(logged); n == 0 || !strings.Contains(logged[n-1], "GET /api/products/1: read product") {
		t.Errorf("log = %q, want the failed read of product 1", logged)
	}
}
