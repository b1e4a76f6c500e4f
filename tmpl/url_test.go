package tmpl

import (
	"math/rand/v2"
	"testing"

	"github.com/stampede-perf/stampede/internal/racedetect"
)

// Values expanded into a URL are percent-encoded for where they land; the
// plan's own text is left as written. A value like `x y&z=1` used to
// break the request line.
func TestAppendURL(t *testing.T) {
	f, err := NewFeeder([]string{"name"}, [][]string{{"a/b c"}}, "sequential")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"REGION": "eu west/1"}
	c := NewCompiler(map[string]*Feeder{"users": f}, map[string]string{"plan_var": "p q"}, func(k string) string { return env[k] })
	for _, tc := range []struct {
		why, tmpl, want string
	}{
		{"a path value is one segment", "/items/{{ term }}", "/items/x%20y&z=1%3F%23%2F%25"},
		{"a query value after a literal ?", "/search?q={{ term }}&page=2", "/search?q=x+y%26z%3D1%3F%23%2F%25&page=2"},
		{"literal text is left alone", "/a b/{{ id }}?x=1&y=%20", "/a b/42?x=1&y=%20"},
		{"feeder cells and env values are values", "/{{ users.name }}/{{ env.REGION }}", "/a%2Fb%20c/eu%20west%2F1"},
		{"plan variables too", "/{{ plan_var }}", "/p%20q"},
		{"built-ins need no encoding", "/{{ vu }}/{{ iteration }}", "/7/3"},
		{"unicode is percent-encoded", "/{{ uni }}", "/%C3%A9t%C3%A9"},
		{"no actions", "/plain path", "/plain path"},
		{"only env", "/{{ env.REGION }}", "/eu%20west%2F1"},
	} {
		tp, err := c.Compile(tc.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tc.why, err)
		}
		s := NewState(7, rand.New(rand.NewPCG(1, 1)), nil)
		s.NewIteration(3)
		s.Set("term", "x y&z=1?#/%")
		s.Set("id", "42")
		s.Set("uni", "été")
		if got := string(tp.AppendURL(nil, s)); got != tc.want {
			t.Errorf("%s: %q expands to %q, want %q", tc.why, tc.tmpl, got, tc.want)
		}
		// Append itself is unchanged: bodies and headers are not URLs.
		if tc.why == "only env" {
			if got := tp.String(s); got != "/eu west/1" {
				t.Errorf("Append of env: %q", got)
			}
		}
	}
}

func TestAppendURLMissingVariable(t *testing.T) {
	tp, err := NewCompiler(nil, nil, nil).Compile("/orders/{{ order_id }}")
	if err != nil {
		t.Fatal(err)
	}
	s := NewState(1, nil, nil)
	tp.AppendURL(nil, s)
	if s.Missing() != "order_id" {
		t.Fatalf("missing = %q, want order_id", s.Missing())
	}
}

func TestAppendURLDoesNotAllocate(t *testing.T) {
	racedetect.Skip(t, "the race detector allocates")
	tp, err := NewCompiler(nil, nil, nil).Compile("/items/{{ id }}?q={{ q }}&n={{ vu }}")
	if err != nil {
		t.Fatal(err)
	}
	s := NewState(1, nil, nil)
	s.Set("id", "a b")
	s.Set("q", "x&y")
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = tp.AppendURL(buf[:0], s) }); n > 0 {
		t.Fatalf("%.1f allocations", n)
	}
}
