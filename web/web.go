// Package web holds what stampede's local web pages share: the embedded
// static assets (the pages' script and style, and the uPlot charting
// library vendored from the npm registry at UPlotVersion), the listener
// that binds loopback unless told otherwise, and the guard that refuses
// requests naming a host other than the one bound.
//
// Design: the pages are served by the stampede process itself, from
// files embedded in the binary, so they work offline and need nothing
// beside the binary: no CDN, no build step. Their data comes as JSON (or
// Server-Sent Events for the live dashboard, web/dashboard) and is drawn
// in the browser by uPlot, a small canvas charting library chosen for
// drawing tens of thousands of points cheaply. The pages only read: no
// request changes anything.
//
// Security: the listener binds 127.0.0.1 unless an address names another
// host, and the caller warns then (Loopback). A page bound to loopback
// still answers only requests whose Host header is a loopback name or
// address (Guard), so another web site cannot read it through a DNS
// name that resolves to 127.0.0.1.
package web

import (
	"embed"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
)

// UPlotVersion is the version of the vendored uPlot
// (assets/vendor/uplot/VENDOR.md says where it came from).
const UPlotVersion = "1.6.32"

//go:embed assets
var assets embed.FS

// Assets serves the embedded files under the path prefix "/assets/".
func Assets() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil { // a constant path of an embedded tree: cannot fail
		panic(err)
	}
	return http.StripPrefix("/assets/", http.FileServerFS(sub))
}

// Page is the embedded file name (under assets/) as bytes.
func Page(name string) ([]byte, error) { return assets.ReadFile("assets/" + name) }

// PageHandler serves the embedded HTML page name (under assets/), never
// cached: the page of a new run or a newer binary must not be an old
// one.
func PageHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := Page(name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	})
}

// Listen binds addr: "HOST:PORT", ":PORT" (loopback, not every
// interface: a page is public only when a host says so) or "PORT".
// It returns the listener and whether it is bound to loopback only.
func Listen(addr string) (net.Listener, bool, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, false, err
	}
	ln, err := net.Listen("tcp", a)
	if err != nil {
		return nil, false, err
	}
	return ln, Loopback(ln.Addr().String()), nil
}

// ParseAddr checks a listen address and gives it the loopback host when
// it names none.
func ParseAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", fmt.Errorf("empty address: want HOST:PORT, e.g. 127.0.0.1:8089")
	}
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: want HOST:PORT, e.g. 127.0.0.1:8089", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	var n int
	if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 0 || n > 65535 || fmt.Sprint(n) != port {
		return "", fmt.Errorf("address %q: port %q is not a number from 0 to 65535", addr, port)
	}
	return net.JoinHostPort(host, port), nil
}

// Loopback reports whether a bound address (HOST:PORT) is reachable only
// from this machine.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Guard refuses (421) requests whose Host is not a loopback name or
// address when loopback is set; otherwise it passes every request.
func Guard(loopback bool, h http.Handler) http.Handler {
	if !loopback {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "this page answers only on a loopback address", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// URL is the address to open in a browser for a bound listener address.
func URL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
