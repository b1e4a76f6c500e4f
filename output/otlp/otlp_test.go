package otlp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/output"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in, want string
		why      string
	}{
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/metrics", "the standard path is added"},
		{"http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/metrics", "a bare slash is no path"},
		{"https://otel.example:4318/custom/metrics", "https://otel.example:4318/custom/metrics", "a path is kept"},
		{"127.0.0.1:4318", "", "no scheme"},
		{"grpc://127.0.0.1:4317", "", "OTLP/HTTP only"},
		{"http://", "", "no host"},
	} {
		got, err := ParseURL(c.in)
		if (err != nil) != (c.want == "") || got != c.want {
			t.Errorf("%s (%s): %q, %v", c.in, c.why, got, err)
		}
	}
}

// A collector that refuses every export does not stop the run; Close
// says how many exports failed.
func TestFailedExportsAreReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad request", http.StatusBadRequest) // not retried
	}))
	defer srv.Close()
	s, err := New(context.Background(), srv.URL, Options{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(&output.Update{Phase: "load", NewRequests: []output.StepCount{{Step: 0, Count: 3}},
		Steps: []output.StepName{{Scenario: "s", Step: "a"}}}); err != nil {
		t.Fatal(err)
	}
	err = s.Close(nil)
	if err == nil || !strings.Contains(err.Error(), "1 of the exports failed") {
		t.Fatalf("Close: %v", err)
	}
}

// ParseURL never panics, and what it accepts is an absolute http(s) URL
// with a path.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:4318", "https://h/v1/metrics", "h:4318", "http://", "http://[::1]:4318/", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			t.Fatalf("%q gave %q", s, u)
		}
		if again, err := ParseURL(u); err != nil || again != u {
			t.Fatalf("%q gave %q, which reads again as %q, %v", s, u, again, err)
		}
	})
}
