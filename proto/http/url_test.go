package http

import (
	"context"
	nethttp "net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/tmpl"
)

// A value with a space, '&' or '=' expanded into the path or a query
// value arrives as that value; it used to break the request line.
func TestTemplateValuesAreURLEncoded(t *testing.T) {
	got := make(chan [3]string, 1)
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		got <- [3]string{r.URL.Path, r.URL.Query().Get("q"), r.URL.Query().Get("page")}
	}))
	defer srv.Close()
	c := tmpl.NewCompiler(nil, map[string]string{"term": "x y&z=1"}, nil)
	st, err := Compile(plan.Target{BaseURL: srv.URL}, &plan.Step{Path: "/items/{{ term }}?q={{ term }}", Query: map[string]string{"page": "{{ term }}"}}, c,
		Config{Timeout: 2 * time.Second, KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Config{Timeout: 2 * time.Second, KeepAlive: true})
	var s metrics.Sample
	st.Do(context.Background(), h.vu, &s)
	if s.Kind != metrics.KindNone || s.Status != 200 {
		t.Fatalf("kind %v status %d", s.Kind, s.Status)
	}
	want := [3]string{"/items/x y&z=1", "x y&z=1", "x y&z=1"}
	if g := <-got; g != want {
		t.Fatalf("server saw path, q, page = %q, want %q", g, want)
	}
}
