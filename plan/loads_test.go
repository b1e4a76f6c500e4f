package plan

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestParseLoads(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "loads.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("loads.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Loads) != 2 || p.Loads[0].Name != "zeta" || p.Loads[1].Name != "api" {
		t.Fatalf("loads are not in the order written: %+v", p.Loads)
	}
	zeta, api := p.Loads[0], p.Loads[1]
	if zeta.Model != "closed" || zeta.VUs != 5 || zeta.Duration.D() != 10*time.Second || zeta.Start != 0 {
		t.Errorf("zeta = %+v", zeta)
	}
	if api.Model != "open" || api.Rate != 50 || api.Start.D() != 2*time.Second || api.MaxVUs == 0 || api.GracefulStop != DefaultGracefulStop {
		t.Errorf("api did not get the open model's defaults: %+v", api)
	}
	if !reflect.DeepEqual(api.Scenarios, []string{"orders", "health"}) {
		t.Errorf("api scenarios = %v", api.Scenarios)
	}
	if len(api.Thresholds) != 2 || api.Thresholds[1].Metric != "error_rate" || !api.Thresholds[1].Abort {
		t.Errorf("api thresholds not parsed: %+v", api.Thresholds)
	}
	if !reflect.ValueOf(p.Load).IsZero() {
		t.Errorf("load: got defaults although the plan has loads: %+v", p.Load)
	}
	if !p.HasLoad() {
		t.Error("a plan with loads has a load")
	}
	if got := p.At("loads.api.rate"); got != "loads.yaml:17:11" {
		t.Errorf("At(loads.api.rate) = %s", got)
	}
	q := p.Only(api)
	if len(q.Scenarios) != 2 || q.Scenarios[0].Name != "orders" || q.Load.Rate != 50 || q.Loads != nil {
		t.Errorf("Only(api) = %+v", q)
	}
	if err := q.Validate(); err != nil {
		t.Errorf("one load of a valid plan is a valid plan: %v", err)
	}
}

func TestParseOneLoadRunsEveryScenario(t *testing.T) {
	p, err := Parse("t.yaml", []byte(`target: {base_url: http://x}
scenarios:
  - {name: a, steps: [{path: /}]}
  - {name: b, steps: [{path: /}]}
loads:
  only: {vus: 2, duration: 1s}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Loads[0].Scenarios; !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("scenarios = %v, want every scenario", got)
	}
}

const loadsHead = `target: {base_url: http://x}
scenarios:
  - {name: a, steps: [{path: /}]}
  - {name: b, steps: [{path: /}]}
`

func TestParseLoadsProblems(t *testing.T) {
	runProblemCases(t, []problemCase{
		{
			name: "load and loads",
			why:  "one plan holds one of the two",
			doc:  loadsHead + "load: {vus: 1, duration: 1s}\nloads:\n  x: {vus: 1, duration: 1s, scenarios: [a, b]}\n",
			want: []string{"t.yaml:5:7: load: set load (one load) or loads (several named loads), not both"},
		},
		{
			name: "load fields checked at their path",
			why:  "a load is checked as load: is, each problem at loads.NAME.field",
			doc: loadsHead + `loads:
  x: {vus: 1, rate: 5, duration: 1s, scenarios: [a]}
  y: {rate: -1, duration: 1s, scenarios: [b], arrivals: often}
  z: {vus: 2, scenarios: [], start: 1s}
`,
			want: []string{
				"t.yaml:6:6: loads.x: set vus (closed model) or rate (open model), not both",
				"t.yaml:7:6: loads.y.model: the closed model takes vus or stages with users, not rate",
				"t.yaml:7:13: loads.y.rate: must be ≥ 0, got -1",
				`t.yaml:7:57: loads.y.arrivals: unknown arrivals "often" (use constant or poisson)`,
				"t.yaml:8:6: loads.z.duration: required (> 0) unless stages or iterations are set",
				"t.yaml:8:26: loads.z.scenarios: required when the plan has several loads: list the scenarios this load runs",
			},
		},
		{
			name: "scenarios of loads",
			why:  "each named scenario exists and runs in exactly one load; a scenario in no load is refused",
			doc: loadsHead + `  - {name: c, steps: [{path: /}]}
loads:
  x: {vus: 1, duration: 1s, scenarios: [a, aa]}
  y: {vus: 1, duration: 1s, scenarios: [a]}
`,
			want: []string{
				`t.yaml:4:12: scenarios[1].name: scenario "b" runs in no load: add it to the scenarios of one of loads`,
				`t.yaml:5:12: scenarios[2].name: scenario "c" runs in no load: add it to the scenarios of one of loads`,
				`t.yaml:7:44: loads.x.scenarios[1]: unknown scenario "aa" (did you mean "a"?)`,
				`t.yaml:8:41: loads.y.scenarios[0]: scenario "a" already runs in loads.x; a scenario runs in one load: copy it under another name for this one`,
			},
		},
		{
			name: "thresholds of a load",
			why:  "a load's threshold is parsed and scoped to its own scenarios",
			doc: loadsHead + `loads:
  x: {vus: 1, duration: 1s, scenarios: [a], thresholds: ["p95 <", {expr: p95 < 1s, scope: b}]}
  y: {vus: 1, duration: 1s, scenarios: [b]}
`,
			want: []string{
				`t.yaml:6:58: loads.x.thresholds[0]: threshold "p95 <" has no value`,
				`t.yaml:6:91: loads.x.thresholds[1].scope: scenario "b" is not one this load runs (did you mean "a"?)`,
			},
		},
		{
			name: "bounds",
			why:  "a load's levels and its end are bounded like load:",
			doc: loadsHead + `loads:
  x: {vus: 2000000, duration: 1s, scenarios: [a]}
  y: {rate: 1, duration: 20h, start: 5h, scenarios: [b]}
`,
			want: []string{
				"t.yaml:6:12: loads.x.vus: 2,000,000 is above the limit of 1,000,000 (lower it; for more, run several stampede processes with --segment k/n and merge their results)",
				"t.yaml:7:38: loads.y.start: the load ends 25h0m0s after the run starts; at most 24h0m0s is allowed",
			},
		},
		{
			name: "not a mapping",
			why:  "loads is a mapping of names to loads",
			doc:  loadsHead + "loads: [a]\n",
			want: []string{"t.yaml:5:8: loads: expected a mapping of named loads (loads: {api: {rate: 50, duration: 1m}}), got a list"},
		},
		{
			name: "tags of a load",
			why:  "a tag's name labels series in every output: a plain word, not one the outputs already use; values and counts are bounded",
			doc: loadsHead + `loads:
  x: {vus: 1, duration: 1s, scenarios: [a], tags: {team: payments, 1st: x, step: y}}
  y: {vus: 1, duration: 1s, scenarios: [b], tags: {t0: 0, t1: 1, t2: 2, t3: 3, t4: 4, t5: 5, t6: 6, t7: 7, t8: 8, t9: 9, t10: 10, t11: 11, t12: 12, t13: 13, t14: 14, t15: 15, t16: 16}}
`,
			want: []string{
				`t.yaml:6:73: loads.x.tags.1st: a tag's name starts with a letter and holds only letters, digits and _ (e.g. team, tier_1)`,
				`t.yaml:6:82: loads.x.tags.step: "step" is a label the outputs already use: choose another name`,
				"t.yaml:7:51: loads.y.tags: 17 tags; at most 16 are allowed",
			},
		},
		{
			name: "unknown field of a load",
			why:  "typos inside a load are caught with a suggestion",
			doc:  loadsHead + "loads:\n  x: {vus: 1, duration: 1s, scenarios: [a, b], strat: 1s}\n",
			want: []string{`t.yaml:6:48: loads.x.strat: unknown field (did you mean "start"?)`},
		},
	})
}

func TestLoadsWithTestsRefused(t *testing.T) {
	got := problemLines(t, loadsHead+"loads:\n  x: {vus: 1, duration: 1s}\ntests: {profile: quick}\n")
	want := "t.yaml:6:3: loads: the test protocol (tests:) runs one load: write it under load:, or run this plan with stampede run"
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
