package importer

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/tmpl"
)

// Literal text expands to itself, whatever braces it holds, also when a
// reference follows it.
func TestLiteral(t *testing.T) {
	c := tmpl.NewCompiler(nil, map[string]string{"v": "V"}, func(string) string { return "" })
	for _, text := range []string{"plain", "{{ x }}", "{{{", "a{", "{", "}}{{", `{{ "{{" }}`, "{{{{{"} {
		for _, after := range []string{"", "{{ v }}"} {
			tp, err := c.Compile(Literal(text) + after)
			if err != nil {
				t.Errorf("%q then %q: %v", text, after, err)
				continue
			}
			want := text
			if after != "" {
				want += "V"
			}
			if got := string(tp.Append(nil, tmpl.NewState(1, nil, nil))); got != want {
				t.Errorf("%q then %q expands to %q", text, after, got)
			}
		}
	}
}

func TestVarName(t *testing.T) {
	for in, want := range map[string]string{"X-CSRF-Token": "x_csrf_token", "orderId": "order_id", "user.id": "user_id",
		"42abc": "_42abc", "": "value", "¿qué?": "qu", "__": "value"} {
		if got := VarName(in); got != want {
			t.Errorf("VarName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every string is quoted and every body round-trips, whatever it holds.
func TestWriteRoundTrips(t *testing.T) {
	bodies := []string{"line one\nline two", "{\n  \"a\": 1\n}", "  leading\nspace", "tab\there", "trailing\n", "# not a comment\nx: y",
		"key: value", "- item", "\u2028sep", "a\r\nb", "'quoted'"}
	p := &Plan{Name: "n: with colon", BaseURL: "http://127.0.0.1:1",
		Headers:   []KV{{Key: "X-A", Value: "# not a comment", Comment: "line\nbreak"}},
		Scenarios: []*Scenario{{Name: "s", Comment: []string{"multi\nline"}}}}
	for i, b := range bodies {
		p.Scenarios[0].Steps = append(p.Scenarios[0].Steps, &Step{Name: "b" + strings.Repeat("x", i), Method: "POST", Path: "/", Body: b,
			Think: 1500 * time.Millisecond, Status: []int{200, 201}, Extract: []Extract{{Var: "v", Regex: `"a": (\d+)`}}})
	}
	data, err := Write(p, "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Parse("t.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Name != p.Name || pl.Target.Headers["X-A"] != "# not a comment" {
		t.Errorf("name %q, header %q", pl.Name, pl.Target.Headers["X-A"])
	}
	for i, st := range pl.Scenarios[0].Steps {
		want := bodies[i]
		if st.Body != want || st.Think.Min.D() != 1500*time.Millisecond || len(st.Check.Status) != 2 {
			t.Errorf("step %d: body %q (want %q), think %v, status %v", i, st.Body, want, st.Think, st.Check.Status)
		}
	}
}

// A plan the plan package refuses is an error, not a file.
func TestWriteRefusesInvalid(t *testing.T) {
	_, err := Write(&Plan{Name: "x", BaseURL: "ftp://h", Scenarios: []*Scenario{{Name: "a/b", Steps: []*Step{{Name: "s", Method: "GET", Path: "/"}}}}}, "x.yaml")
	if err == nil || !strings.Contains(err.Error(), "does not validate") {
		t.Errorf("got %v", err)
	}
}

func TestWriteRefusesTooLarge(t *testing.T) {
	p := &Plan{Name: "x", BaseURL: "http://127.0.0.1:1", Scenarios: []*Scenario{{Name: "s"}}}
	for i := range 200 {
		p.Scenarios[0].Steps = append(p.Scenarios[0].Steps, &Step{Name: fmt.Sprint(i), Method: "POST", Path: "/", Body: strings.Repeat("x", 8<<10)})
	}
	_, err := Write(p, "x.yaml")
	if err == nil || !strings.Contains(err.Error(), "more than the 1024 KiB a plan file may be") {
		t.Errorf("got %v", err)
	}
}

func TestUnique(t *testing.T) {
	used := map[string]bool{}
	if a, b, c := UniqueName(used, "GET /x"), UniqueName(used, "GET /x"), Unique(used, "v"); a != "GET /x" || b != "GET /x #2" || c != "v" {
		t.Errorf("%q %q %q", a, b, c)
	}
	if v := Unique(used, "v"); v != "v_2" {
		t.Errorf("%q", v)
	}
}

// A recorded redirect is a step that stops at it (redirects: 0), checked
// for its recorded status; other steps follow redirects as plans do.
func TestWriteRecordedRedirectStops(t *testing.T) {
	p := &Plan{Name: "r", BaseURL: "http://127.0.0.1:1", Scenarios: []*Scenario{{Name: "s", Steps: []*Step{
		{Name: "login", Method: "POST", Path: "/login", Status: []int{302}},
		{Name: "home", Method: "GET", Path: "/home", Status: []int{200}},
	}}}}
	data, err := Write(p, "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Parse("r.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	steps := pl.Scenarios[0].Steps
	if steps[0].Redirects == nil || *steps[0].Redirects != 0 || steps[1].Redirects != nil {
		t.Errorf("redirects %v, %v; want 0 on the recorded redirect only:\n%s", steps[0].Redirects, steps[1].Redirects, data)
	}
}
