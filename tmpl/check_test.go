package tmpl

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/internal/racedetect"
	"github.com/stampede-perf/stampede/plan"
)

func TestCheck(t *testing.T) {
	yes, no := true, false
	body := []byte(`{"order":{"id":"o-17","status":"paid","total":12.5,"n":3,"big":12345678901234567890,"paid":true,"note":null,"exp":1e2}}`)
	tests := []struct {
		name       string
		check      *plan.Check
		status     int
		body       []byte
		wantOK     bool
		wantReason string
	}{
		{"nil check passes 2xx", nil, 204, nil, true, ""},
		{"nil check passes 3xx", nil, 302, nil, true, ""},
		{"nil check fails 4xx", nil, 404, nil, false, "status 404, want 200-399"},
		{"empty status list is the default", &plan.Check{}, 500, nil, false, "status 500, want 200-399"},
		{"one status", &plan.Check{Status: []int{200}}, 500, nil, false, "status 500, want 200"},
		{"status list", &plan.Check{Status: []int{200, 201, 204}}, 404, nil, false, "status 404, want 200, 201 or 204"},
		{"status in list", &plan.Check{Status: []int{200, 404}}, 404, nil, true, ""},
		{"listed status replaces the default range", &plan.Check{Status: []int{201}}, 200, nil, false, "status 200, want 201"},
		{"body contains", &plan.Check{BodyContains: `"paid"`}, 200, body, true, ""},
		{"body does not contain", &plan.Check{BodyContains: "refunded"}, 200, body, false, `body does not contain "refunded"`},
		{"long needle is cut in the reason", &plan.Check{BodyContains: strings.Repeat("ab", 40)}, 200, body, false,
			`body does not contain "` + strings.Repeat("ab", 32) + `"…`},
		{"status is checked before the body", &plan.Check{BodyContains: "x"}, 500, body, false, "status 500, want 200-399"},
		{"json exists by default", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.id"}}}, 200, body, true, ""},
		{"json missing", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.nope"}}}, 200, body, false, `json path "order.nope" missing`},
		{"json missing on a body that is not JSON", &plan.Check{JSON: []*plan.JSONCheck{{Path: "id"}}}, 200, []byte("<html>"), false,
			`json path "id" missing: body is not JSON`},
		{"json null exists", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.note", Exists: &yes}}}, 200, body, true, ""},
		{"json must be absent", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.error", Exists: &no}}}, 200, body, true, ""},
		{"json present but must be absent", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.id", Exists: &no}}}, 200, body, false,
			`json path "order.id" = "o-17", want absent`},
		{"json equals string", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.status", Equals: "paid"}}}, 200, body, true, ""},
		{"json string differs", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.status", Equals: "pending"}}}, 200, body, false,
			`json path "order.status" = "paid", want "pending"`},
		{"json equals YAML unsigned integer", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.n", Equals: uint64(3)}}}, 200, body, true, ""},
		{"json equals int", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.n", Equals: 3}}}, 200, body, true, ""},
		{"json integer equals float", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.n", Equals: 3.0}}}, 200, body, true, ""},
		{"json float equals float", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.total", Equals: 12.5}}}, 200, body, true, ""},
		{"json exponent equals integer", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.exp", Equals: 100}}}, 200, body, true, ""},
		{"json number differs", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.n", Equals: int64(4)}}}, 200, body, false,
			`json path "order.n" = 3, want 4`},
		{"json big integers compare exactly", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.big", Equals: uint64(12345678901234567891)}}}, 200, body, false,
			`json path "order.big" = 12345678901234567890, want 12345678901234567891`},
		{"json big integer equal", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.big", Equals: uint64(12345678901234567890)}}}, 200, body, true, ""},
		{"json number from a JSON plan", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.total", Equals: json.Number("12.50")}}}, 200, body, true, ""},
		{"json string is not a number", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.n", Equals: "3"}}}, 200, body, false,
			`json path "order.n" = 3, want "3"`},
		{"json equals bool", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.paid", Equals: true}}}, 200, body, true, ""},
		{"json bool differs", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.paid", Equals: false}}}, 200, body, false,
			`json path "order.paid" = true, want false`},
		{"json equals with exists true", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.id", Equals: "o-17", Exists: &yes}}}, 200, body, true, ""},
		{"json equals on a missing path", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.x", Equals: "o-17"}}}, 200, body, false,
			`json path "order.x" missing`},
		{"first failing json check is reported", &plan.Check{JSON: []*plan.JSONCheck{{Path: "order.id"}, {Path: "a"}, {Path: "b"}}}, 200, body, false,
			`json path "a" missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := CompileCheck(tt.check)
			if err != nil {
				t.Fatal(err)
			}
			ok, reason := c.Check(tt.status, tt.body)
			if ok != tt.wantOK || reason != tt.wantReason {
				t.Errorf("Check = %v, %q; want %v, %q", ok, reason, tt.wantOK, tt.wantReason)
			}
		})
	}
}

func TestNilCheck(t *testing.T) {
	var c *Check
	if ok, reason := c.Check(500, nil); ok || reason != "status 500, want 200-399" {
		t.Errorf("nil Check(500) = %v, %q", ok, reason)
	}
	if ok, _ := c.CheckRows(0); !ok {
		t.Error("nil CheckRows failed")
	}
	if c.NeedsBody() {
		t.Error("nil check needs the body")
	}
}

func TestCheckRows(t *testing.T) {
	zero, one, three := 0, 1, 3
	tests := []struct {
		name       string
		check      plan.Check
		n          int
		wantOK     bool
		wantReason string
	}{
		{"no row checks", plan.Check{}, 0, true, ""},
		{"exact rows", plan.Check{Rows: &three}, 3, true, ""},
		{"exact rows differ", plan.Check{Rows: &one}, 3, false, "rows 3, want 1"},
		{"exactly zero rows", plan.Check{Rows: &zero}, 0, true, ""},
		{"min rows met", plan.Check{MinRows: &one}, 3, true, ""},
		{"min rows not met", plan.Check{MinRows: &one}, 0, false, "rows 0, want at least 1"},
		{"both, exact fails first", plan.Check{Rows: &three, MinRows: &one}, 2, false, "rows 2, want 3"},
	}
	for _, tt := range tests {
		c, err := CompileCheck(&tt.check)
		if err != nil {
			t.Fatal(err)
		}
		ok, reason := c.CheckRows(tt.n)
		if ok != tt.wantOK || reason != tt.wantReason {
			t.Errorf("%s: CheckRows(%d) = %v, %q; want %v, %q", tt.name, tt.n, ok, reason, tt.wantOK, tt.wantReason)
		}
	}
}

func TestCheckNeedsBody(t *testing.T) {
	tests := []struct {
		name  string
		check plan.Check
		want  bool
	}{
		{"status only", plan.Check{Status: []int{200}}, false},
		{"body contains", plan.Check{BodyContains: "x"}, true},
		{"json", plan.Check{JSON: []*plan.JSONCheck{{Path: "a"}}}, true},
	}
	for _, tt := range tests {
		c, err := CompileCheck(&tt.check)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.NeedsBody(); got != tt.want {
			t.Errorf("%s: NeedsBody = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCompileCheckErrors(t *testing.T) {
	no, minus := false, -1
	tests := []struct {
		name  string
		check plan.Check
		want  string
	}{
		{"status out of range", plan.Check{Status: []int{200, 2000}}, "check status 2000 is not an HTTP status (use 100–599)"},
		{"json without path", plan.Check{JSON: []*plan.JSONCheck{{Equals: "x"}}}, "check json[0] has no path (set path to a gjson path such as order.id)"},
		{"nil json entry", plan.Check{JSON: []*plan.JSONCheck{nil}}, "check json[0] has no path (set path to a gjson path such as order.id)"},
		{"equals and exists false", plan.Check{JSON: []*plan.JSONCheck{{Path: "a", Equals: 1, Exists: &no}}}, `check json "a" sets equals and exists: false (keep one)`},
		{"equals a map", plan.Check{JSON: []*plan.JSONCheck{{Path: "a", Equals: map[string]any{"b": 1}}}},
			`check json "a": equals must be a string, number or boolean, got map[string]interface {} (check nested values with their own paths)`},
		{"negative rows", plan.Check{Rows: &minus}, "check rows is -1 (use 0 or more)"},
		{"negative min rows", plan.Check{MinRows: &minus}, "check min_rows is -1 (use 0 or more)"},
	}
	for _, tt := range tests {
		_, err := CompileCheck(&tt.check)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestCheckNoAllocs(t *testing.T) {
	racedetect.Skip(t, "the race detector changes allocation counts")
	c, err := CompileCheck(&plan.Check{
		Status:       []int{200, 201},
		BodyContains: "paid",
		JSON:         []*plan.JSONCheck{{Path: "order.id"}, {Path: "order.status", Equals: "paid"}, {Path: "order.n", Equals: uint64(3)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"order":{"id":"o-17","status":"paid","n":3}}`)
	allocs := testing.AllocsPerRun(100, func() {
		if ok, reason := c.Check(201, body); !ok {
			t.Fatal(reason)
		}
	})
	if allocs != 0 {
		t.Errorf("passing Check: %v allocs, want 0", allocs)
	}
}
