package http

import (
	"context"
	"fmt"
	nethttp "net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/racedetect"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/tmpl"
)

// bigServer answers /N with N bytes written from a small buffer, with a
// Content-Length, or chunked under /chunked/N; it counts connections.
func bigServer(t *testing.T) (string, *atomic.Int64) {
	var conns atomic.Int64
	chunk := []byte(strings.Repeat("x", 64<<10))
	srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/")
		chunked := strings.HasPrefix(p, "chunked/")
		n, _ := strconv.Atoi(strings.TrimPrefix(p, "chunked/"))
		if !chunked {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		for n > 0 {
			k := min(n, len(chunk))
			w.Write(chunk[:k])
			n -= k
		}
	}))
	countConns(srv, &conns)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, &conns
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// A body that no check or extraction reads is counted and discarded as it
// arrives: a 32 MiB body costs no 32 MiB buffer (50 MB bodies used to take
// 240 MB at one VU), and the connection is kept for the next request.
func TestUnreadBodiesAreNotBuffered(t *testing.T) {
	base, conns := bigServer(t)
	const size = 32 << 20
	for _, path := range []string{"/" + strconv.Itoa(size), "/chunked/" + strconv.Itoa(size)} {
		h := newHarness(t, Config{Timeout: 10 * time.Second, KeepAlive: true})
		// A header extractor does not read the body either.
		st := compile(t, base, &plan.Step{Path: path, Extract: map[string]*plan.Extractor{"ct": {Header: "Content-Type"}}})
		before := conns.Load()
		for i := range 2 {
			a0 := totalAlloc()
			var s metrics.Sample
			st.Do(context.Background(), h.vu, &s)
			allocated := totalAlloc() - a0
			if s.Kind != metrics.KindNone || s.Status != 200 {
				t.Fatalf("%s #%d: kind %v status %d", path, i, s.Kind, s.Status)
			}
			if s.BytesIn < size {
				t.Fatalf("%s #%d: %d bytes in, want the whole %d byte body counted", path, i, s.BytesIn, size)
			}
			if allocated > 4<<20 {
				t.Fatalf("%s #%d: reading the response allocated %d MiB; a discarded body must not be held", path, i, allocated>>20)
			}
		}
		if n := conns.Load() - before; n != 1 {
			t.Fatalf("%s: %d connections for two requests, want the one kept alive", path, n)
		}
	}
}

// A body a check reads is kept up to target.max_body; beyond, the request
// fails as body_too_large, saying what to raise.
func TestKeptBodyIsBounded(t *testing.T) {
	base, _ := bigServer(t)
	target := plan.Target{BaseURL: base, MaxBody: 1 << 20}
	for _, tc := range []struct {
		path string
		kind metrics.ErrKind
	}{
		{"/524288", metrics.KindNone},
		{"/1048576", metrics.KindNone},
		{"/1048577", metrics.KindBodyTooLarge},
		{"/chunked/2097152", metrics.KindBodyTooLarge},
		{"/1024", metrics.KindNone}, // the VU goes on after a refused body
	} {
		h := newHarness(t, Config{Timeout: 10 * time.Second, KeepAlive: true})
		st, err := Compile(target, &plan.Step{Path: tc.path, Check: &plan.Check{BodyContains: "xx"}}, tmpl.NewCompiler(nil, nil, nil), Config{Timeout: 10 * time.Second, KeepAlive: true})
		if err != nil {
			t.Fatal(err)
		}
		var s metrics.Sample
		st.Do(context.Background(), h.vu, &s)
		if s.Kind != tc.kind {
			t.Errorf("%s: kind %v, want %v", tc.path, s.Kind, tc.kind)
		}
	}
	if metrics.KindBodyTooLarge.String() != "body_too_large" {
		t.Fatalf("kind name %q", metrics.KindBodyTooLarge)
	}
}

func TestBodyTooLargeExample(t *testing.T) {
	base, _ := bigServer(t)
	h := newHarness(t, Config{Timeout: 10 * time.Second, KeepAlive: true})
	st, err := Compile(plan.Target{BaseURL: base, MaxBody: 1024}, &plan.Step{Path: "/4096", Extract: map[string]*plan.Extractor{"x": {Regex: "(x)"}}},
		tmpl.NewCompiler(nil, nil, nil), Config{Timeout: 10 * time.Second, KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	var s metrics.Sample
	st.Do(context.Background(), h.vu, &s)
	if s.Kind != metrics.KindBodyTooLarge {
		t.Fatalf("kind %v, want body_too_large", s.Kind)
	}
	if h.vu.WantExample(metrics.KindBodyTooLarge) {
		t.Fatal("no example message recorded")
	}
}

// The default keeps 4 MiB; more than the bound is refused when compiling.
func TestMaxBodyDefaultAndBound(t *testing.T) {
	c := tmpl.NewCompiler(nil, nil, nil)
	st, err := Compile(plan.Target{BaseURL: "http://127.0.0.1:1"}, &plan.Step{Path: "/"}, c, Config{})
	if err != nil || st.maxBody != plan.DefaultMaxBody {
		t.Fatalf("default max body %d, %v; want %d", st.maxBody, err, plan.DefaultMaxBody)
	}
	_, err = Compile(plan.Target{BaseURL: "http://127.0.0.1:1", MaxBody: plan.MaxMaxBody + 1}, &plan.Step{Path: "/"}, c, Config{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(plan.MaxMaxBody)) {
		t.Fatalf("err = %v, want the bound", err)
	}
}

// A request whose body is discarded allocates nothing either.
func TestStreamedRequestDoesNotAllocate(t *testing.T) {
	racedetect.Skip(t, "the race detector allocates")
	base := cannedServer(t)
	h := newHarness(t, Config{Timeout: time.Second, KeepAlive: true, Buffers: NewBuffers(0)})
	st := compile(t, base, &plan.Step{Path: "/x/{{ vu }}", Check: &plan.Check{Status: []int{200}}})
	if st.keepBody {
		t.Fatal("a status check does not need the body")
	}
	var s metrics.Sample
	st.Do(context.Background(), h.vu, &s)
	allocs := testing.AllocsPerRun(200, func() {
		s = metrics.Sample{}
		st.Do(context.Background(), h.vu, &s)
	})
	if s.Kind != metrics.KindNone {
		t.Fatalf("request failed: %v", s.Kind)
	}
	if allocs > 0 {
		t.Fatalf("%.1f allocations per request, want 0", allocs)
	}
}

// A request body, written as body or json, is bounded: every VU holds its
// own copy.
func TestRequestBodyBound(t *testing.T) {
	c := tmpl.NewCompiler(nil, nil, nil)
	big := strings.Repeat("x", plan.MaxRequestBody)
	for _, st := range []*plan.Step{{Path: "/", Body: big + "x"}, {Path: "/", JSON: map[string]any{"a": big}}} {
		_, err := Compile(plan.Target{BaseURL: "http://127.0.0.1:1"}, st, c, Config{})
		if err == nil || !strings.Contains(err.Error(), "above the limit of 8 MiB") {
			t.Fatalf("err = %v, want the 8 MiB limit", err)
		}
	}
	if _, err := Compile(plan.Target{BaseURL: "http://127.0.0.1:1"}, &plan.Step{Path: "/", Body: big}, c, Config{}); err != nil {
		t.Fatalf("a body at the limit: %v", err)
	}
}
