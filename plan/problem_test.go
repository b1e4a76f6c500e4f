package plan

import (
	"testing"

	"github.com/stampede-perf/stampede/internal/suggest"
)

func TestProblemString(t *testing.T) {
	cases := []struct {
		why  string
		pr   Problem
		want string
	}{
		{"everything known", Problem{File: "shop.yaml", Line: 12, Col: 7, Path: "scenarios[1].steps[0].method", Msg: "bad"}, "shop.yaml:12:7: scenarios[1].steps[0].method: bad"},
		{"no path (a syntax error)", Problem{File: "shop.yaml", Line: 1, Col: 4, Msg: "bad"}, "shop.yaml:1:4: bad"},
		{"a file without positions", Problem{File: "shop.yaml", Path: "load", Msg: "bad"}, "shop.yaml: load: bad"},
		{"positions without a file", Problem{Line: 3, Col: 2, Path: "load", Msg: "bad"}, "3:2: load: bad"},
		{"a flag-built plan", Problem{Path: "load.duration", Msg: "bad"}, "load.duration: bad"},
	}
	for _, tc := range cases {
		if got := tc.pr.String(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.why, got, tc.want)
		}
	}
	if got := (&ValidationError{}).Error(); got != "invalid plan" {
		t.Errorf("empty ValidationError: got %q", got)
	}
}

func TestAt(t *testing.T) {
	doc := `target: {base_url: http://x}
variables: {"a.b": c}
load:
  duration: 1s
scenarios:
  - name: a
    steps:
      - path: /
        method: GET
        think:
`
	p, err := Parse("shop.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		why  string
		want string
	}{
		{"scenarios[0].steps[0].method", "a field points at its value", "shop.yaml:9:17"},
		{"scenarios[0].steps[0]", "a list item points at its first key", "shop.yaml:8:9"},
		{"scenarios[0].steps[0].think", "an empty value points at its key", "shop.yaml:10:9"},
		{"scenarios[0].steps[0].timeout", "an unwritten field points at its nearest written ancestor", "shop.yaml:8:9"},
		{"scenarios[0].steps[3].path", "missing list items fall back to the list", "shop.yaml:8:7"},
		{`variables["a.b"]`, "odd map keys are quoted", "shop.yaml:2:20"},
		{"data.users.file", "a missing section falls back to the start", "shop.yaml:1:1"},
		{"", "the root", "shop.yaml:1:1"},
	}
	for _, tc := range cases {
		if got := p.At(tc.path); got != tc.want {
			t.Errorf("At(%q) (%s): got %s, want %s", tc.path, tc.why, got, tc.want)
		}
	}
	pr := p.Problem("scenarios[0].steps[0].method", "refused by %s", "server")
	want := Problem{File: "shop.yaml", Line: 9, Col: 17, Path: "scenarios[0].steps[0].method", Msg: "refused by server"}
	if pr != want {
		t.Errorf("Problem: got %+v, want %+v", pr, want)
	}

	if got := (&Plan{}).At("load.rate"); got != "flags" {
		t.Errorf("flag-built plan: got %q, want flags", got)
	}
	if got := (&Plan{File: "built.yaml"}).At("load.rate"); got != "built.yaml" {
		t.Errorf("plan with a file but no positions: got %q, want built.yaml", got)
	}
	if got := (&Plan{}).Problem("load.rate", "x"); got != (Problem{Path: "load.rate", Msg: "x"}) {
		t.Errorf("flag-built Problem: got %+v", got)
	}
}

func TestPaths(t *testing.T) {
	parents := []struct{ path, want, why string }{
		{"a.b[2]", "a.b", "an index"},
		{"a.b", "a", "a field"},
		{"a", "", "a top-level field"},
		{"", "", "the root stays the root"},
		{`variables["a.b"]`, "variables", "a quoted key with a dot"},
		{`x["a[1]"].y`, `x["a[1]"]`, "a field after a quoted key with a bracket"},
		{`x["q\"]"]`, "x", "an escaped quote inside a quoted key"},
	}
	for _, tc := range parents {
		if got := parentPath(tc.path); got != tc.want {
			t.Errorf("parentPath(%q) (%s): got %q, want %q", tc.path, tc.why, got, tc.want)
		}
	}
	keys := []struct{ key, want, why string }{
		{"users", "data.users", "a word"},
		{"X-Request-ID", "data.X-Request-ID", "dashes are plain"},
		{"a.b", `data["a.b"]`, "a dot is quoted"},
		{"", `data[""]`, "the empty key is quoted"},
		{"a b", `data["a b"]`, "a space is quoted"},
	}
	for _, tc := range keys {
		if got := keyPath("data", tc.key); got != tc.want {
			t.Errorf("keyPath(%q) (%s): got %q, want %q", tc.key, tc.why, got, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"name", "method", "path", "headers", "query", "body", "json", "timeout", "think", "extract", "check", "sql"}
	cases := []struct {
		key, want string
		ok        bool
		why       string
	}{
		{"heders", "headers", true, "a missing letter"},
		{"mehtod", "method", true, "swapped neighbours cost one"},
		{"Path", "path", true, "case is ignored"},
		{"timout", "timeout", true, "a missing letter in a longer word"},
		{"sq", "sql", true, "a short key, one edit"},
		{"xy", "", false, "nothing close to a short key"},
		{"colour", "", false, "nothing close"},
	}
	for _, tc := range cases {
		got, ok := closestName(tc.key, names)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("closestName(%q) (%s): got %q, %v; want %q, %v", tc.key, tc.why, got, ok, tc.want, tc.ok)
		}
	}
	dists := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
	}
	for _, tc := range dists {
		if got := suggest.Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("suggest.Distance(%q, %q): got %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
