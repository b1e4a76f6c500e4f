package http

import (
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
)

// HTTP/2 over TLS goes through a proxy's CONNECT tunnel; h2c cannot go
// through a proxy and is refused when the plan is compiled.
func TestHTTP2ThroughProxy(t *testing.T) {
	p := newPKI(t)
	tlsSrv, _ := p.server(t, false, 0, true)
	tlsSrv.Config.Handler = protoHandler
	proxyURL, count := forwardProxy(t, "http://127.0.0.1:1", strings.TrimPrefix(tlsSrv.URL, "https://"), "")
	target := plan.Target{BaseURL: "https://stampede.test", HTTP: 2, Proxy: proxyURL, TLS: &plan.TLS{CAFile: p.caFile}}
	proxy, err := ProxyFunc(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := withTarget(t, target, Config{KeepAlive: true, HTTP2: true, Proxy: proxy})
	if err := CheckH2CProxy(target, cfg); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, cfg)
	s := h.run(compileT(t, target, &plan.Step{Path: "/", Check: &plan.Check{BodyContains: `"proto": 2`}}, cfg))[0]
	if s.Kind != metrics.KindNone || count.Load() != 1 {
		t.Fatalf("kind %v status %d, %d requests through the proxy", s.Kind, s.Status, count.Load())
	}

	h2c := plan.Target{BaseURL: "http://shop.test", HTTP: 2}
	env := func(k string) string {
		if k == "HTTP_PROXY" {
			return proxyURL
		}
		return ""
	}
	if proxy, err = ProxyFunc(h2c, env); err != nil {
		t.Fatal(err)
	}
	err = CheckH2CProxy(h2c, Config{HTTP2: true, Proxy: proxy})
	if err == nil || !strings.Contains(err.Error(), "(from HTTP_PROXY)") {
		t.Fatalf("h2c through HTTP_PROXY: %v, want it refused", err)
	}
	if err := CheckH2CProxy(h2c, Config{HTTP2: false, Proxy: proxy}); err != nil {
		t.Fatalf("HTTP/1.1 through a proxy refused: %v", err)
	}
}
