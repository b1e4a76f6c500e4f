package plan

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseValidationProblems(t *testing.T) {
	runProblemCases(t, []problemCase{
		{
			name: "no scenarios",
			why:  "a plan needs something to run",
			doc:  head + "scenarios: []\n",
			want: []string{"t.yaml:3:12: scenarios: at least one scenario is required"},
		},
		{
			name: "scenario names",
			why:  "names are required, unique and free of the scope separator",
			doc: head + `scenarios:
  - {steps: [{path: /}]}
  - {name: a/b, steps: [{path: /}]}
  - {name: c, steps: [{path: /}]}
  - {name: c, steps: [{path: /}]}
`,
			want: []string{
				"t.yaml:4:5: scenarios[0].name: required",
				`t.yaml:5:12: scenarios[1].name: must not contain "/" (thresholds scope steps as "scenario/step")`,
				`t.yaml:7:12: scenarios[3].name: duplicate scenario name "c" (also scenarios[2])`,
			},
		},
		{
			name: "all weights zero",
			why:  "an explicit weight 0 is kept, and at least one scenario must run",
			doc: head + `scenarios:
  - {name: a, weight: 0, steps: [{path: /}]}
  - {name: b, weight: 0, steps: [{path: /}]}
`,
			want: []string{"t.yaml:4:3: scenarios: every scenario has weight 0; at least one must be > 0"},
		},
		{
			name: "negative weight",
			why:  "weights are ≥ 0",
			doc:  head + "scenarios:\n  - {name: a, weight: -1, steps: [{path: /}]}\n",
			want: []string{"t.yaml:4:23: scenarios[0].weight: must be ≥ 0, got -1"},
		},
		{
			name: "steps",
			why:  "a scenario has steps; a step is exactly one of HTTP or SQL, with a known method and one body",
			doc: head + `databases: {main: {dsn: x}}
scenarios:
  - {name: a, steps: []}
  - name: b
    steps:
      - {name: both, path: /, sql: {query: select 1}}
      - {name: neither}
      - {path: /, method: GTE}
      - {path: /, body: x, json: {a: 1}}
`,
			want: []string{
				"t.yaml:5:22: scenarios[0].steps: at least one step is required",
				"t.yaml:8:9: scenarios[1].steps[0]: set either path (HTTP request) or sql (database query), not both",
				"t.yaml:9:9: scenarios[1].steps[1]: set path (HTTP request), sql (database query), ws (WebSocket) or grpc (gRPC call)",
				`t.yaml:10:27: scenarios[1].steps[2].method: unknown method "GTE" (use GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)`,
				"t.yaml:11:25: scenarios[1].steps[3].body: set body or json, not both",
			},
		},
		{
			name: "empty path",
			why:  "a path key without a value is no path",
			doc:  head + "scenarios: [{name: a, steps: [{path}]}]\n",
			want: []string{"t.yaml:3:31: scenarios[0].steps[0]: set path (HTTP request), sql (database query), ws (WebSocket) or grpc (gRPC call)"},
		},
		{
			name: "base_url missing",
			why:  "a relative path needs target.base_url; an absolute one does not",
			doc:  "load: {duration: 1s}\nscenarios:\n  - {name: a, steps: [{path: \"https://x/ok\"}, {path: /rel}]}\n",
			want: []string{`t.yaml:1:1: target.base_url: required: scenarios[0].steps[1].path "/rel" is a relative path`},
		},
		{
			name: "base_url not absolute",
			why:  "base_url must be an http or https URL",
			doc:  "target: {base_url: \"shop.example.com/api\"}\nload: {duration: 1s}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{`t.yaml:1:20: target.base_url: must be an absolute http:// or https:// URL, got "shop.example.com/api"`},
		},
		{
			name: "extractors",
			why:  "an extractor has exactly one source, a regex that compiles and a group it has",
			doc: minimal + `        extract:
          a: {}
          b: {json: x, header: y}
          c: {regex: "("}
          d: {regex: "(a)", group: 2}
          e: {column: id}
          f: {json: x, group: 1}
`,
			want: []string{
				"t.yaml:8:14: scenarios[0].steps[0].extract.a: set one of json, regex, header or column",
				"t.yaml:9:14: scenarios[0].steps[0].extract.b: set only one of json, regex, header or column (found json, header)",
				"t.yaml:10:22: scenarios[0].steps[0].extract.c.regex: invalid regex: error parsing regexp: missing closing ): `(`",
				"t.yaml:11:36: scenarios[0].steps[0].extract.d.group: no group 2: the regex has 1 capture group(s)",
				"t.yaml:12:23: scenarios[0].steps[0].extract.e.column: applies to sql steps only",
				"t.yaml:13:31: scenarios[0].steps[0].extract.f.group: applies to regex only",
			},
		},
		{
			name: "closed and open",
			why:  "vus and rate are different load models",
			doc:  "target: {base_url: http://x}\nload: {vus: 10, rate: 5, duration: 1s}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{"t.yaml:2:7: load: set vus (closed model) or rate (open model), not both"},
		},
		{
			name: "stages",
			why:  "stages replace duration, set users or rate consistently, and last some time",
			doc: `target: {base_url: http://x}
load:
  duration: 1m
  stages:
    - {users: 10, duration: 30s}
    - {rate: 5, duration: 30s}
    - {duration: 10s}
    - {users: 1, rate: 2, duration: 1s}
    - {users: 0}
scenarios: [{name: a, steps: [{path: /}]}]
`,
			want: []string{
				"t.yaml:3:13: load.duration: not used with stages (each stage sets users or rate, ramp_up and duration)",
				"t.yaml:6:14: load.stages[1].rate: stages mix users and rate; every stage must set users like the first",
				"t.yaml:7:7: load.stages[2]: set users (closed model) or rate (open model)",
				"t.yaml:8:7: load.stages[3]: set users (closed model) or rate (open model), not both",
				"t.yaml:9:7: load.stages[4]: ramp_up + duration must be > 0",
			},
		},
		{
			name: "no duration",
			why:  "a run without stages or iterations needs a duration",
			doc:  "target: {base_url: http://x}\nload: {vus: 5}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{"t.yaml:2:7: load.duration: required (> 0) unless stages or iterations are set"},
		},
		{
			name: "iterations instead of duration",
			why:  "a run may stop after a number of iterations",
			doc:  "target: {base_url: http://x}\nload: {vus: 5, iterations: 100}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
		},
		{
			name: "open model limits",
			why:  "pre-allocated VUs fit under max_vus; arrivals are constant or poisson",
			doc:  "target: {base_url: http://x}\nload: {rate: 100, duration: 1m, max_vus: 5, pre_allocated_vus: 10, arrivals: burst}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{
				"t.yaml:2:64: load.pre_allocated_vus: must be ≤ max_vus (5), got 10",
				`t.yaml:2:78: load.arrivals: unknown arrivals "burst" (use constant or poisson)`,
			},
		},
		{
			name: "open model without rate",
			why:  "an explicit model must match the settings",
			doc:  "target: {base_url: http://x}\nload: {model: open, vus: 5, duration: 1m}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{"t.yaml:2:15: load.model: the open model needs rate or stages with rate"},
		},
		{
			name: "open settings in the closed model",
			why:  "max_vus, pre_allocated_vus and poisson arrivals would be ignored by the closed model",
			doc:  "target: {base_url: http://x}\nload: {vus: 5, duration: 1m, max_vus: 10, pre_allocated_vus: 2, arrivals: poisson}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{
				"t.yaml:2:39: load.max_vus: applies to the open model only (set rate)",
				"t.yaml:2:62: load.pre_allocated_vus: applies to the open model only (set rate)",
				"t.yaml:2:75: load.arrivals: applies to the open model only (set rate)",
			},
		},
		{
			name: "unknown model",
			why:  "the model is closed or open",
			doc:  "target: {base_url: http://x}\nload: {model: steady, vus: 5, duration: 1m}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{`t.yaml:2:15: load.model: unknown model "steady" (use closed or open)`},
		},
		{
			name: "feeders",
			why:  "a feeder needs a file and a known mode",
			doc:  minimal + "data:\n  users: {mode: shuffled}\n",
			want: []string{
				"t.yaml:8:10: data.users.file: required",
				`t.yaml:8:17: data.users.mode: unknown mode "shuffled" (use sequential, random or unique)`,
			},
		},
		{
			name: "thresholds",
			why:  "expressions parse and scopes name a scenario or scenario/step",
			doc: head + `scenarios:
  - name: Checkout
    steps: [{name: pay, path: /}]
thresholds:
  - p96 < 1s
  - p95 = 1s
  - p95 < 500
  - error_rate < 5
  - rps > many
  - {expr: p95 < 1s, scope: Chekout}
  - {expr: p95 < 1s, scope: Checkout/pya}
  - {expr: p95 < 1s, scope: Browse}
  - {expr: p99.9 < 1s, scope: Checkout/pay}
  - {expr: "p95 <"}
`,
			want: []string{
				`t.yaml:7:5: thresholds[0]: unknown metric "p96" (use min, mean, max, p50, p90, p95, p99, p999, error_rate, rps, requests, errors, iterations)`,
				`t.yaml:8:5: thresholds[1]: unknown operator "=" (use <, <=, > or >=)`,
				`t.yaml:9:5: thresholds[2]: p95 needs a unit: "500" is ambiguous (write 500ms or 1s)`,
				`t.yaml:10:5: thresholds[3]: error_rate must be a fraction between 0 and 1, got "5" (write 5% for a percentage)`,
				`t.yaml:11:5: thresholds[4]: rps needs a plain number, got "many"`,
				`t.yaml:12:29: thresholds[5].scope: unknown scenario "Chekout" (did you mean "Checkout"?)`,
				`t.yaml:13:29: thresholds[6].scope: unknown step "pya" in scenario "Checkout" (did you mean "pay"?)`,
				`t.yaml:14:29: thresholds[7].scope: unknown scenario "Browse" (scenarios: "Checkout")`,
				`t.yaml:16:12: thresholds[9].expr: threshold "p95 <" has no value`,
			},
		},
		{
			name: "sql steps and databases",
			why:  "sql steps name a declared database and one statement form; databases have a driver and dsn; HTTP settings do not apply",
			doc: `target: {base_url: http://x}
load: {duration: 1s}
databases:
  main: {dsn: x}
  replica: {driver: oracle}
scenarios:
  - name: a
    steps:
      - sql: {query: select 1}
      - sql: {db: nope, query: select 1}
      - sql: {db: main, query: select 1, tx: [select 2]}
      - sql: {db: main}
      - {sql: {db: main, query: select 1}, method: GET, extract: {x: {header: X}}}
`,
			want: []string{
				"t.yaml:5:12: databases.replica.dsn: required",
				`t.yaml:5:21: databases.replica.driver: unknown driver "oracle" (use postgres, mysql or sqlite)`,
				"t.yaml:9:14: scenarios[0].steps[0].sql.db: required (declared: main, replica)",
				`t.yaml:10:19: scenarios[0].steps[1].sql.db: unknown database "nope" (declared: main, replica)`,
				"t.yaml:11:14: scenarios[0].steps[2].sql: set query or tx, not both",
				"t.yaml:12:14: scenarios[0].steps[3].sql.query: required (or tx, or begin/commit/rollback)",
				"t.yaml:13:52: scenarios[0].steps[4].method: applies to HTTP steps only (this step runs sql)",
				"t.yaml:13:79: scenarios[0].steps[4].extract.x.header: applies to HTTP steps only",
			},
		},
		{
			name: "sql without databases",
			why:  "a sql step needs a database declared",
			doc:  head + "scenarios: [{name: a, steps: [{sql: {query: select 1}}]}]\n",
			want: []string{"t.yaml:3:37: scenarios[0].steps[0].sql.db: required, and no databases are declared under databases"},
		},
		{
			name: "benchmarks",
			why:  "a suite has a unique name and exactly one of command or go",
			doc: minimal + `benchmarks:
  - {name: a, command: x, go: ./...}
  - {name: a, bench: X}
  - {command: y, level: huge}
`,
			want: []string{
				"t.yaml:8:5: benchmarks[0]: set command or go, not both",
				"t.yaml:9:5: benchmarks[1]: set command (a program to time) or go (a package pattern)",
				`t.yaml:9:12: benchmarks[1].name: duplicate benchmark name "a" (also benchmarks[0])`,
				"t.yaml:9:22: benchmarks[1].bench: applies to go benchmarks only",
				"t.yaml:10:5: benchmarks[2].name: required",
				`t.yaml:10:25: benchmarks[2].level: unknown level "huge" (use micro, component or system)`,
			},
		},
		{
			name: "think range",
			why:  "max is at least min",
			doc:  head + "scenarios:\n  - name: a\n    think: {min: 3s, max: 1s}\n    steps: [{path: /, think: {max: 2s}}]\n",
			want: []string{"t.yaml:5:27: scenarios[0].think.max: must be ≥ min (3s)"},
		},
		{
			name: "checks",
			why:  "status codes are HTTP codes, row counts are for sql, json checks have a path",
			doc:  head + "scenarios:\n  - name: a\n    steps: [{path: /, check: {status: [200, 999], rows: 1, json: [{equals: 1}]}}]\n",
			want: []string{
				"t.yaml:5:45: scenarios[0].steps[0].check.status[1]: invalid HTTP status 999 (use 100 to 599)",
				"t.yaml:5:57: scenarios[0].steps[0].check.rows: applies to sql steps only",
				"t.yaml:5:67: scenarios[0].steps[0].check.json[0].path: required",
			},
		},
		{
			name: "system and tests",
			why:  "watch targets are well formed and protocol choices known",
			doc: minimal + `system:
  process: {}
  prometheus: localhost:9090
  pprof: http://localhost:6060/debug/pprof
tests: {profile: thorough, stress: {variant: disk}}
`,
			want: []string{
				"t.yaml:8:12: system.process: set one of pid, name or pid_file",
				`t.yaml:9:15: system.prometheus.url: must be an absolute http:// or https:// URL, got "localhost:9090"`,
				`t.yaml:11:18: tests.profile: unknown profile "thorough" (use standard or quick)`,
				`t.yaml:11:46: tests.stress.variant: unknown variant "disk" (use rate, users, payload, database, cpu, memory or network)`,
			},
		},
	})
}

// TestValidateFlagBuilt checks Validate on a plan built in Go, as the CLI
// does from flags: problems carry paths but no positions.
func TestValidateFlagBuilt(t *testing.T) {
	p := &Plan{
		Scenarios: []*Scenario{{Name: "cli", Steps: []*Step{{Path: "/", Method: "FETCH"}}}},
		Load:      LoadSpec{VUs: 5},
	}
	p.ApplyDefaults()
	err := p.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	want := []string{
		`target.base_url: required: scenarios[0].steps[0].path "/" is a relative path`,
		`scenarios[0].steps[0].method: unknown method "FETCH" (use GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)`,
		"load.duration: required (> 0) unless stages or iterations are set",
	}
	if got := strings.Split(ve.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, pr := range ve.Problems {
		if pr.File != "" || pr.Line != 0 {
			t.Errorf("a flag-built plan has no positions, got %+v", pr)
		}
	}

	p.Target.BaseURL = "http://localhost:8080"
	p.Scenarios[0].Steps[0].Method = "GET"
	p.Load.Duration = Duration(time.Minute)
	if err := p.Validate(); err != nil {
		t.Errorf("fixed plan: %v", err)
	}
}

func TestValidateFillsThresholds(t *testing.T) {
	p := &Plan{
		Target:     Target{BaseURL: "http://x"},
		Scenarios:  []*Scenario{{Name: "a", Steps: []*Step{{Path: "/"}}}},
		Load:       LoadSpec{VUs: 1, Duration: Duration(time.Second)},
		Thresholds: []*Threshold{{Expr: "p90 <= 1.5s"}, {Expr: "error_rate < 0.5%", Scope: "a"}},
	}
	p.ApplyDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	got := []Threshold{*p.Thresholds[0], *p.Thresholds[1]}
	want := []Threshold{
		{Expr: "p90 <= 1.5s", Metric: "p90", Op: "<=", Value: 1500},
		{Expr: "error_rate < 0.5%", Scope: "a", Metric: "error_rate", Op: "<", Value: 0.005},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestValidateGoBuiltValues checks values that decoding refuses but Go
// code can set.
func TestValidateGoBuiltValues(t *testing.T) {
	p := &Plan{
		Target:    Target{BaseURL: "http://x"},
		Scenarios: []*Scenario{{Name: "a", Think: &Think{Min: Duration(-time.Second)}, Steps: []*Step{{Path: "/"}, nil}}, nil},
		Load:      LoadSpec{VUs: -2, Duration: Duration(time.Second), RampUp: Duration(-time.Millisecond)},
	}
	p.ApplyDefaults()
	err := p.Validate()
	want := []string{
		"scenarios[0].think.min: must be ≥ 0, got -1s",
		"scenarios[0].steps[1]: empty step: set path (HTTP request), sql (database query), ws (WebSocket) or grpc (gRPC call)",
		"scenarios[1]: empty scenario",
		"load.vus: must be ≥ 0, got -2",
		"load.ramp_up: must be ≥ 0, got -1ms",
	}
	if err == nil {
		t.Fatal("got no error")
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
