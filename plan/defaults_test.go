package plan

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestApplyDefaultsLoad(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	n := func(v int) *int { return &v }
	const stop, constant = DefaultGracefulStop, "constant"
	cases := []struct {
		why  string
		in   LoadSpec
		want LoadSpec
	}{
		{
			why:  "nothing set: the closed model with one VU",
			in:   LoadSpec{},
			want: LoadSpec{Model: "closed", VUs: 1, Arrivals: constant, GracefulStop: stop},
		},
		{
			why:  "closed stages: no VU count is invented",
			in:   LoadSpec{Stages: []*Stage{{Users: n(5)}}},
			want: LoadSpec{Model: "closed", Stages: []*Stage{{Users: n(5)}}, Arrivals: constant, GracefulStop: stop},
		},
		{
			why:  "a low rate: max_vus floor 1000, pre-allocated floor 10",
			in:   LoadSpec{Rate: 50},
			want: LoadSpec{Model: "open", Rate: 50, MaxVUs: 1000, PreVUs: 10, Arrivals: constant, GracefulStop: stop},
		},
		{
			why:  "a higher rate: twice the rate, a tenth of it pre-allocated",
			in:   LoadSpec{Rate: 800},
			want: LoadSpec{Model: "open", Rate: 800, MaxVUs: 1600, PreVUs: 80, Arrivals: constant, GracefulStop: stop},
		},
		{
			why:  "a fractional rate rounds up",
			in:   LoadSpec{Rate: 600.5},
			want: LoadSpec{Model: "open", Rate: 600.5, MaxVUs: 1201, PreVUs: 61, Arrivals: constant, GracefulStop: stop},
		},
		{
			why:  "a very high rate: max_vus capped at 20000",
			in:   LoadSpec{Rate: 15000},
			want: LoadSpec{Model: "open", Rate: 15000, MaxVUs: 20000, PreVUs: 1500, Arrivals: constant, GracefulStop: stop},
		},
		{
			why:  "the peak of open stages decides",
			in:   LoadSpec{Stages: []*Stage{{Rate: f(10)}, {Rate: f(3000)}, {Rate: f(0)}}},
			want: LoadSpec{Model: "open", Stages: []*Stage{{Rate: f(10)}, {Rate: f(3000)}, {Rate: f(0)}}, MaxVUs: 6000, PreVUs: 300, Arrivals: constant, GracefulStop: stop},
		},
		{
			why:  "pre-allocated VUs never exceed an explicit max_vus",
			in:   LoadSpec{Rate: 1000, MaxVUs: 50},
			want: LoadSpec{Model: "open", Rate: 1000, MaxVUs: 50, PreVUs: 50, Arrivals: constant, GracefulStop: stop},
		},
		{
			why:  "explicit settings are kept",
			in:   LoadSpec{Rate: 10, PreVUs: 3, Arrivals: "poisson", GracefulStop: Duration(time.Second)},
			want: LoadSpec{Model: "open", Rate: 10, MaxVUs: 1000, PreVUs: 3, Arrivals: "poisson", GracefulStop: Duration(time.Second)},
		},
		{
			why:  "an explicit model is not overridden by inference",
			in:   LoadSpec{Model: "open"},
			want: LoadSpec{Model: "open", MaxVUs: 1000, PreVUs: 10, Arrivals: constant, GracefulStop: stop},
		},
	}
	for _, tc := range cases {
		p := &Plan{Load: tc.in}
		p.ApplyDefaults()
		if !reflect.DeepEqual(p.Load, tc.want) {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.why, dump(p.Load), dump(tc.want))
		}
	}
}

func TestApplyDefaultsSteps(t *testing.T) {
	cases := []struct {
		why       string
		databases map[string]*Database
		in, want  Step
	}{
		{why: "GET by default, named after method and path", in: Step{Path: "/x"}, want: Step{Name: "GET /x", Method: "GET", Path: "/x"}},
		{why: "POST with a body", in: Step{Path: "/x", Body: "a"}, want: Step{Name: "POST /x", Method: "POST", Path: "/x", Body: "a"}},
		{why: "POST with json", in: Step{Path: "/x", JSON: 1}, want: Step{Name: "POST /x", Method: "POST", Path: "/x", JSON: 1}},
		{why: "methods are upper-cased", in: Step{Path: "/x", Method: "put"}, want: Step{Name: "PUT /x", Method: "PUT", Path: "/x"}},
		{why: "a name is kept", in: Step{Path: "/x", Name: "n"}, want: Step{Name: "n", Method: "GET", Path: "/x"}},
		{
			why:       "an sql step takes the only database and is named after its statement",
			databases: map[string]*Database{"main": {DSN: "x"}},
			in:        Step{SQL: &SQLStep{Query: "SELECT  1\n  FROM t"}},
			want:      Step{Name: "SQL SELECT 1 FROM t", SQL: &SQLStep{DB: "main", Query: "SELECT  1\n  FROM t"}},
		},
		{
			why:       "with several databases the choice is left to the author",
			databases: map[string]*Database{"a": {DSN: "x"}, "b": {DSN: "y"}},
			in:        Step{SQL: &SQLStep{Commit: true}},
			want:      Step{Name: "SQL COMMIT", SQL: &SQLStep{Commit: true}},
		},
	}
	for _, tc := range cases {
		st := tc.in
		p := &Plan{Databases: tc.databases, Scenarios: []*Scenario{{Steps: []*Step{&st}}}}
		p.ApplyDefaults()
		if !reflect.DeepEqual(st, tc.want) {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.why, dump(st), dump(tc.want))
		}
	}
}

func TestApplyDefaultsSections(t *testing.T) {
	p := &Plan{
		Data:      map[string]*Feeder{"u": {File: "u.csv"}, "v": {File: "v.csv", Mode: "random"}},
		Databases: map[string]*Database{"main": {DSN: "x"}, "lite": {Driver: "sqlite", DSN: "y"}},
		System:    &System{},
		Scenarios: []*Scenario{{Name: "a"}},
	}
	p.ApplyDefaults()
	checks := []struct {
		why       string
		got, want any
	}{
		{"target timeout 10s", p.Target.Timeout, Duration(10 * time.Second)},
		{"a scenario built in Go with weight 0 gets weight 1", p.Scenarios[0].Weight, 1},
		{"feeder mode sequential", p.Data["u"].Mode, "sequential"},
		{"an explicit feeder mode is kept", p.Data["v"].Mode, "random"},
		{"database driver postgres", p.Databases["main"].Driver, "postgres"},
		{"an explicit driver is kept", p.Databases["lite"].Driver, "sqlite"},
		{"system interval 1s", p.System.Interval, Duration(time.Second)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.why, c.got, c.want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	doc := head + `data:
  rel: {file: data/users.csv}
  abs: {file: /srv/users.csv}
scenarios:
  - {name: a, steps: [{path: /}]}
  - {name: b, weight: 0, steps: [{path: /}]}
`
	p, err := Parse(filepath.Join("plans", "shop.yaml"), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		why       string
		got, want any
	}{
		{"an absent weight is 1", p.Scenarios[0].Weight, 1},
		{"an explicit weight 0 is kept", p.Scenarios[1].Weight, 0},
		{"a relative feeder file is resolved against the plan's directory", p.Data["rel"].File, absPath(t, "plans", "data", "users.csv")},
		{"an absolute feeder file is kept", p.Data["abs"].File, "/srv/users.csv"},
		{"Parse sets File", p.File, filepath.Join("plans", "shop.yaml")},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.why, c.got, c.want)
		}
	}
}

func TestParseStages(t *testing.T) {
	p, err := Load(filepath.Join("testdata", "stages.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		why       string
		got, want any
	}{
		{"stages with users are the closed model", p.Load.Model, "closed"},
		{"no VU count is invented for stages", p.Load.VUs, 0},
		{"open-model settings stay unset", p.Load.MaxVUs, 0},
		{"a ramp-down stage to 0 users is kept", *p.Load.Stages[2].Users, 0},
		{"step names default to method and path", p.Scenarios[0].Steps[1].Name, "POST /search"},
		{"the feeder file is next to the plan", p.Data["terms"].File, absPath(t, "testdata", "terms.csv")},
		{"a fraction error rate", p.Thresholds[1].Value, 0.01},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.why, c.got, c.want)
		}
	}
}

// TestApplyDefaultsIdempotent checks that applying defaults to a parsed
// plan again changes nothing, so callers may re-apply after overrides.
func TestApplyDefaultsIdempotent(t *testing.T) {
	for _, name := range []string{"full.yaml", "stages.yaml"} {
		once, err := Load(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		twice, err := Load(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		twice.ApplyDefaults()
		if err := twice.Validate(); err != nil {
			t.Errorf("%s: valid plan became invalid: %v", name, err)
		}
		if !reflect.DeepEqual(once, twice) {
			diffPlans(t, twice, once)
		}
	}
}
