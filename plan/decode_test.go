package plan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// head is the start of a plan that is valid once it has a scenario.
const head = "target: {base_url: http://x}\nload: {duration: 1s}\n"

// minimal is a complete valid plan of six lines; rows append to it, so a
// seventh line is theirs.
const minimal = head + `scenarios:
  - name: a
    steps:
      - path: /
`

// problemLines parses doc as t.yaml and returns its problems, one formatted
// line each (nil when the plan is valid).
func problemLines(t *testing.T, doc string) []string {
	t.Helper()
	p, err := Parse("t.yaml", []byte(doc))
	if err == nil {
		if p == nil {
			t.Fatal("Parse returned neither a plan nor an error")
		}
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Parse error is %T, want *ValidationError: %v", err, err)
	}
	if p != nil {
		t.Error("Parse returned a plan along with an error")
	}
	lines := make([]string, len(ve.Problems))
	for i, pr := range ve.Problems {
		lines[i] = pr.String()
	}
	if got := strings.Join(lines, "\n"); got != ve.Error() {
		t.Errorf("Error() is not the problems one per line:\n%s", ve.Error())
	}
	return lines
}

type problemCase struct {
	name string
	why  string // what the row proves
	doc  string
	want []string
}

func runProblemCases(t *testing.T, cases []problemCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := problemLines(t, tc.doc)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s\ngot:\n  %s\nwant:\n  %s", tc.why, strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestParseDecodeProblems(t *testing.T) {
	runProblemCases(t, []problemCase{
		{
			name: "valid",
			why:  "the base document of the other rows has no problem",
			doc:  minimal,
		},
		{
			name: "syntax error",
			why:  "a YAML syntax error is one problem at the position the parser gives",
			doc:  "target: 1\n bad: 2\n",
			want: []string{"t.yaml:1:9: mapping value is not allowed in this context"},
		},
		{
			name: "unterminated quote",
			why:  "lexer errors are positioned too",
			doc:  "name: \"shop\n",
			want: []string{"t.yaml:1:7: could not find end character of double-quoted text"},
		},
		{
			name: "tab indentation",
			why:  "control characters in parser messages are escaped",
			doc:  "name: x\n\tload: 1\n",
			want: []string{`t.yaml:2:1: found character '\t' that cannot start any token`},
		},
		{
			name: "duplicate key",
			why:  "a key set twice is refused by the parser",
			doc:  "name: a\nname: b\n",
			want: []string{`t.yaml:2:1: mapping key "name" already defined at [1:1]`},
		},
		{
			name: "string for integer",
			why:  "a type error names the expected type and the value written",
			doc:  minimal + "    weight: high\n",
			want: []string{`t.yaml:7:13: scenarios[0].weight: expected an integer, got "high"`},
		},
		{
			name: "quoted number for integer",
			why:  "a quoted number is a string, not an integer",
			doc:  minimal + "    weight: \"2\"\n",
			want: []string{`t.yaml:7:13: scenarios[0].weight: expected an integer, got "2"`},
		},
		{
			name: "fraction for integer",
			why:  "vus must be whole",
			doc:  "target: {base_url: http://x}\nload: {duration: 1s, vus: 1.5}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{"t.yaml:2:27: load.vus: expected an integer, got 1.5"},
		},
		{
			name: "string for number",
			why:  "rate must be a number",
			doc:  "target: {base_url: http://x}\nload: {duration: 1s, rate: fast}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{`t.yaml:2:28: load.rate: expected a number, got "fast"`},
		},
		{
			name: "infinite number",
			why:  ".inf is a YAML float but no use as a rate",
			doc:  "target: {base_url: http://x}\nload: {duration: 1s, rate: .inf}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{"t.yaml:2:28: load.rate: expected a finite number, got .inf"},
		},
		{
			name: "yes for bool",
			why:  "only true and false are booleans",
			doc:  "target: {base_url: http://x, insecure_skip_verify: yes}\nload: {duration: 1s}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{`t.yaml:1:52: target.insecure_skip_verify: expected true or false, got "yes"`},
		},
		{
			name: "scalar for list",
			why:  "steps must be a list; the empty list it leaves is not reported again",
			doc:  head + "scenarios: [{name: a, steps: home}]\n",
			want: []string{`t.yaml:3:30: scenarios[0].steps: expected a list, got "home"`},
		},
		{
			name: "mapping for the step path",
			why:  "a path written wrongly is one problem; the step is not also reported as having no path",
			doc:  head + "scenarios: [{name: a, steps: [{path: {a: b}}]}]\n",
			want: []string{"t.yaml:3:38: scenarios[0].steps[0].path: expected a string, got a mapping"},
		},
		{
			name: "list for mapping",
			why:  "target must be a mapping",
			doc:  "target: [http://x]\nload: {duration: 1s}\nscenarios: [{name: a, steps: [{path: http://x/}]}]\n",
			want: []string{"t.yaml:1:9: target: expected a mapping, got a list"},
		},
		{
			name: "root is a list",
			why:  "a plan is a mapping; nothing else is reported about a document of the wrong shape",
			doc:  "- name: a\n",
			want: []string{"t.yaml:1:1: expected a mapping, got a list"},
		},
		{
			name: "bad duration",
			why:  "durations use Go syntax; the value is reported once, not again as missing",
			doc:  "target: {base_url: http://x}\nload: {duration: 5 minutes}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{`t.yaml:2:18: load.duration: invalid duration "5 minutes" (use 500ms, 2m, 1h30m or a number of seconds)`},
		},
		{
			name: "negative seconds",
			why:  "a number of seconds must not be negative",
			doc:  "target: {base_url: http://x}\nload: {duration: -5}\nscenarios: [{name: a, steps: [{path: /}]}]\n",
			want: []string{"t.yaml:2:18: load.duration: negative duration -5"},
		},
		{
			name: "list for think",
			why:  "think is a duration or {min, max}",
			doc:  minimal + "        think: [1s]\n",
			want: []string{"t.yaml:7:16: scenarios[0].steps[0].think: expected a duration or {min, max}, got a list"},
		},
		{
			name: "number for threshold",
			why:  "a threshold is an expression or a mapping",
			doc:  minimal + "thresholds: [5]\n",
			want: []string{`t.yaml:7:14: thresholds[0]: expected an expression like "p95 < 500ms" or {expr, scope, abort}, got 5`},
		},
		{
			name: "string in status list",
			why:  "list items are positioned and typed one by one",
			doc:  minimal + "        check: {status: [ok]}\n",
			want: []string{`t.yaml:7:26: scenarios[0].steps[0].check.status[0]: expected an integer, got "ok"`},
		},
		{
			name: "integer out of range",
			why:  "pid is 32 bits; the process block is not also reported as empty",
			doc:  minimal + "system: {process: {pid: 3000000000}}\n",
			want: []string{"t.yaml:7:25: system.process.pid: 3000000000 is out of range"},
		},
		{
			name: "typo with suggestion",
			why:  "an unknown key is reported at the key, with the closest known one",
			doc:  minimal + "        heders: {X: y}\n",
			want: []string{`t.yaml:7:9: scenarios[0].steps[0].heders: unknown field (did you mean "headers"?)`},
		},
		{
			name: "unknown key without suggestion",
			why:  "when nothing is close, the known keys are listed",
			doc:  minimal + "        colour: red\n",
			want: []string{"t.yaml:7:9: scenarios[0].steps[0].colour: unknown field (known: name, method, path, headers, query, body, json, form, multipart, body_file, auth, redirects, timeout, parallel, think, extract, check, sql, ws, grpc)"},
		},
		{
			name: "typo inside a map value",
			why:  "keys of structs under free-form maps are checked; the file it meant is not also reported missing",
			doc:  minimal + "data:\n  users: {fille: u.csv}\n",
			want: []string{`t.yaml:8:11: data.users.fille: unknown field (did you mean "file"?)`},
		},
		{
			name: "typo of a required section",
			why:  "a misspelt scenarios is one problem, not also 'at least one scenario'",
			doc:  head + "scenario:\n  - name: a\n    steps: [{path: /}]\n",
			want: []string{`t.yaml:3:1: scenario: unknown field (did you mean "scenarios"?)`},
		},
		{
			name: "undefined alias",
			why:  "an alias must name an anchor defined before it",
			doc:  minimal + "        headers: *common\n",
			want: []string{"t.yaml:7:18: scenarios[0].steps[0].headers: undefined alias *common"},
		},
		{
			name: "recursive alias",
			why:  "an alias inside its own anchor is refused instead of expanded forever",
			doc:  minimal + "        json: &j {a: *j}\n",
			want: []string{"t.yaml:7:22: scenarios[0].steps[0].json.a.a: recursive alias *j"},
		},
		{
			name: "merge of a scalar",
			why:  "a merge key needs mappings",
			doc:  minimal + "        headers: {<<: 5}\n",
			want: []string{"t.yaml:7:23: scenarios[0].steps[0].headers: a merge key (<<) needs a mapping or a list of mappings, got 5"},
		},
		{
			name: "NaN in a JSON body",
			why:  "free-form values must be encodable as JSON",
			doc:  minimal + "        json: {a: .nan}\n",
			want: []string{"t.yaml:7:19: scenarios[0].steps[0].json.a: expected a finite number, got .nan"},
		},
		{
			name: "second document",
			why:  "a plan file holds one document",
			doc:  minimal + "---\nname: second\n",
			want: []string{"t.yaml:7:1: a plan file holds one YAML document; found another one here"},
		},
		{
			name: "empty document",
			why:  "an empty file is an empty plan, positioned at the start",
			doc:  "",
			want: []string{
				"t.yaml:1:1: scenarios: at least one scenario is required",
				"t.yaml:1:1: load.duration: required (> 0) unless stages or iterations are set",
			},
		},
	})
}

// TestParseReportsEveryProblem checks that problems of different kinds in
// one document are all reported, in file order.
func TestParseReportsEveryProblem(t *testing.T) {
	doc := `target:
  base_url: http://shop
  timout: 5s
load: {vus: 10, duration: 1m}
scenarios:
  - name: Browse
    weight: many
    steps:
      - path: /
        method: GTE
      - path: /cart
        extract:
          id: {regex: "("}
thresholds:
  - p95 < 500
`
	want := []string{
		`t.yaml:3:3: target.timout: unknown field (did you mean "timeout"?)`,
		`t.yaml:7:13: scenarios[0].weight: expected an integer, got "many"`,
		`t.yaml:10:17: scenarios[0].steps[0].method: unknown method "GTE" (use GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)`,
		"t.yaml:13:23: scenarios[0].steps[1].extract.id.regex: invalid regex: error parsing regexp: missing closing ): `(`",
		`t.yaml:15:5: thresholds[0]: p95 needs a unit: "500" is ambiguous (write 500ms or 1s)`,
	}
	if got := problemLines(t, doc); !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestParseForms(t *testing.T) {
	// Each short form decodes to the same value as its long form.
	doc := head + `analysis: {k: 1}
scenarios:
  - name: a
    think: 2
    steps:
      - path: /
        think: {min: 1s}
        check: {status: 201}
        timeout: 1.5
        headers: &h {X-A: a, X-B: b}
      - path: /x
        think: {min: 1s, max: 2500ms}
        headers: {<<: *h, X-B: c}
      - path: /y
        headers: *h
      - path: /z
        headers: {<<: [{X-B: first}, *h, {X-C: c}]}
thresholds: [{expr: "rps > 1"}, "rps > 2"]
system: {prometheus: "http://p:9090/metrics"}
`
	p, err := Parse("t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Scenarios[0]
	checks := []struct {
		why       string
		got, want any
	}{
		{"think as seconds is a fixed pause", *s.Think, Think{Min: Duration(2 * time.Second), Max: Duration(2 * time.Second)}},
		{"think without max is a fixed pause", *s.Steps[0].Think, Think{Min: Duration(time.Second), Max: Duration(time.Second)}},
		{"think with min and max is a range", *s.Steps[1].Think, Think{Min: Duration(time.Second), Max: Duration(2500 * time.Millisecond)}},
		{"a single status is a one-item list", s.Steps[0].Check.Status, []int{201}},
		{"a fractional number of seconds is a duration", s.Steps[0].Timeout, Duration(1500 * time.Millisecond)},
		{"a merge key brings in keys not set beside it", s.Steps[1].Headers, map[string]string{"X-A": "a", "X-B": "c"}},
		{"the anchored mapping itself is unchanged", s.Steps[0].Headers, map[string]string{"X-A": "a", "X-B": "b"}},
		{"an alias used again decodes the same", s.Steps[2].Headers, map[string]string{"X-A": "a", "X-B": "b"}},
		{"merging a list of mappings, earlier ones win", s.Steps[3].Headers, map[string]string{"X-A": "a", "X-B": "first", "X-C": "c"}},
		{"a threshold mapping", p.Thresholds[0].Expr, "rps > 1"},
		{"a threshold string", p.Thresholds[1].Expr, "rps > 2"},
		{"prometheus as a URL", *p.System.Prometheus, PrometheusSpec{URL: "http://p:9090/metrics"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.why, c.got, c.want)
		}
	}
}

// TestParseFull decodes testdata/full.yaml, which sets every field, and
// compares it with the plan written out by hand (defaults applied,
// thresholds parsed).
func TestParseFull(t *testing.T) {
	p, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sec := func(n float64) Duration { return Duration(n * float64(time.Second)) }
	ptr := func(v int) *int { return &v }
	yes, no := true, false
	want := &Plan{
		Name: "shop",
		Target: Target{
			BaseURL:   "https://shop.example.com",
			Headers:   map[string]string{"Accept": "application/json", "X-Run": "{{ run_id }}"},
			Timeout:   sec(5),
			Insecure:  true,
			KeepAlive: &no,
		},
		Variables: map[string]string{"region": "eu", "version": "1.10"},
		Data: map[string]*Feeder{
			"users":    {File: absPath(t, "testdata", "users.csv"), Mode: "unique"},
			"products": {File: "/srv/data/products.json", Mode: "sequential"},
		},
		Scenarios: []*Scenario{
			{
				Name: "Browse", Weight: 3, Think: &Think{Min: sec(1), Max: sec(3)},
				Steps: []*Step{
					{
						Name: "home", Method: "GET", Path: "/",
						Headers: map[string]string{"Content-Type": "application/json"},
						Query:   map[string]string{"page": "1"},
						Timeout: sec(2),
						Think:   &Think{Min: sec(0.5), Max: sec(0.5)},
						Check:   &Check{Status: []int{200}, BodyContains: "Welcome"},
					},
					{
						Name: "GET /products/{{ products.id }}", Method: "GET", Path: "/products/{{ products.id }}",
						Headers: map[string]string{"Content-Type": "application/json", "X-Trace": "on"},
						Extract: map[string]*Extractor{
							"price": {JSON: "product.price"},
							"token": {Regex: `csrf="([^"]+)"`, Group: 1},
							"etag":  {Header: "ETag"},
						},
						Check: &Check{Status: []int{200, 304}, JSON: []*JSONCheck{
							{Path: "product.id", Exists: &yes},
							{Path: "product.currency", Equals: "EUR"},
						}},
					},
				},
			},
			{
				Name: "Checkout", Weight: 1, Think: &Think{Min: sec(2), Max: sec(2)},
				Steps: []*Step{
					{
						Name: "place order", Method: "PUT", Path: "https://orders.example.com/orders",
						JSON: map[string]any{"user": "{{ users.email }}", "items": []any{int64(1), 2.5, true, nil}},
					},
					{Name: "apply coupon", Method: "POST", Path: "/cart/coupon", Body: "code=SPRING\n"},
					{
						Name: "create order row",
						SQL: &SQLStep{
							DB: "main", Query: "INSERT INTO orders (email) VALUES ($1) RETURNING id",
							Args: []string{"{{ users.email }}"}, Prepared: &yes,
						},
						Extract: map[string]*Extractor{"order_id": {Column: "id"}},
						Check:   &Check{Rows: ptr(1), MinRows: ptr(1)},
					},
					{
						Name: "SQL tx: UPDATE stock SET n = n - 1 WHERE id …",
						SQL: &SQLStep{DB: "main", Tx: []string{
							"UPDATE stock SET n = n - 1 WHERE id = 1",
							"UPDATE stock SET n = n + 1 WHERE id = 2",
						}, Begin: true, Commit: true},
					},
				},
			},
			{
				Name: "Idle", Weight: 0,
				Steps: []*Step{{Name: "ping", Method: "HEAD", Path: "/ping"}},
			},
		},
		Load: LoadSpec{
			Model: "open", Rate: 50, Duration: sec(90), RampUp: sec(10), RampDown: sec(5),
			MaxVUs: 400, PreVUs: 20, Arrivals: "poisson", GracefulStop: sec(10),
			Iterations: 100000, Seed: 42,
		},
		Thresholds: []*Threshold{
			{Expr: "p95 < 500ms", Metric: "p95", Op: "<", Value: 500},
			{Expr: "error_rate < 1%", Scope: "Checkout", Abort: true, Metric: "error_rate", Op: "<", Value: 0.01},
			{Expr: "p99.9 <= 2s", Scope: "Checkout/place order", Metric: "p999", Op: "<=", Value: 2000},
			{Expr: "rps >= 45", Metric: "rps", Op: ">=", Value: 45},
		},
		System: &System{
			Process: &ProcessRef{Name: "shopd"},
			Prometheus: &PrometheusSpec{
				URL:     "http://localhost:9090/metrics",
				Metrics: []string{"go_goroutines", "process_resident_memory_bytes"},
			},
			Pprof:      "http://localhost:6060/debug/pprof",
			Interval:   sec(2),
			Postgres:   "${SHOP_DSN}",
			CPUProfile: sec(30),
		},
		Tests: &Tests{
			Profile:  "standard",
			CoolDown: sec(30),
			Warmup:   &PhaseSpec{Users: 5, Duration: sec(30)},
			Baseline: &BaselineSpec{Levels: []int{1, 10, 50}, Duration: sec(60)},
			Load: []*PhaseSpec{
				{Name: "normal", Users: 50, Duration: sec(300), RampUp: sec(30)},
				{Name: "peak", Rate: 200, Duration: sec(120), Skip: true},
			},
			Stress: &StressSpec{
				Variant: "rate", Start: 50, Step: 25, Factor: 1.5, Max: 2000,
				Hold: sec(60), Warmup: sec(10), P99: sec(1), ErrorRate: 0.05, Bisect: 3,
			},
			Recovery: &RecoverySpec{Limit: sec(120), Tolerance: 0.1, Windows: 3},
			Soak:     &PhaseSpec{Users: 20, Duration: sec(3600)},
			Scalability: &ScalabilitySpec{
				Apply:     "kubectl scale deploy/shop --replicas={{ replicas }}",
				Revert:    "kubectl scale deploy/shop --replicas=1",
				Stabilize: sec(30), Duration: sec(120),
				Configs:      []map[string]string{{"replicas": "1"}, {"replicas": "2"}},
				UsersPerUnit: 25, RatePerUnit: 100.5, Unit: "replicas",
			},
		},
		Databases: map[string]*Database{
			"main":  {Driver: "postgres", DSN: "${SHOP_DSN}", Pool: 20, MinPool: 2, Timeout: sec(3)},
			"cache": {Driver: "sqlite", DSN: "file:cache.db"},
		},
		Benchmarks: []*BenchmarkSuite{
			{Name: "codec", Level: "micro", Go: "./metrics/...", Bench: "BenchmarkEncode", Warmup: 1, Runs: 10, MinTime: sec(1)},
			{Name: "startup", Level: "system", Command: "./bin/shopd --version", Prepare: "make build", Runs: 20},
		},
		Analysis: map[string]float64{"knee_error_rate": 0.05, "leak_slope_mb_per_h": 10},
		File:     filepath.Join("testdata", "full.yaml"),
	}
	if p.pos == nil {
		t.Fatal("Parse recorded no positions")
	}
	p.pos = nil
	if !reflect.DeepEqual(p, want) {
		diffPlans(t, p, want)
	}
}

// absPath is the absolute form of a path relative to the package directory.
func absPath(t *testing.T, elem ...string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(elem...))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// diffPlans reports which top-level sections differ, to keep a failure
// readable.
func diffPlans(t *testing.T, got, want *Plan) {
	t.Helper()
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range gv.NumField() {
		if !gv.Type().Field(i).IsExported() {
			continue
		}
		if g, w := gv.Field(i).Interface(), wv.Field(i).Interface(); !reflect.DeepEqual(g, w) {
			t.Errorf("%s differs:\ngot:  %s\nwant: %s", gv.Type().Field(i).Name, dump(g), dump(w))
		}
	}
}

// dump prints a value with pointers followed, so two dumps can be compared
// by eye.
func dump(v any) string {
	var b strings.Builder
	var walk func(reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() {
				b.WriteString("nil")
				return
			}
			walk(v.Elem())
		case reflect.Struct:
			b.WriteString("{")
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fmt.Fprintf(&b, "%s:", v.Type().Field(i).Name)
					walk(v.Field(i))
					b.WriteString(" ")
				}
			}
			b.WriteString("}")
		case reflect.Slice:
			b.WriteString("[")
			for i := range v.Len() {
				walk(v.Index(i))
				b.WriteString(" ")
			}
			b.WriteString("]")
		case reflect.Map:
			b.WriteString("map[")
			keys := v.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
			for _, k := range keys {
				fmt.Fprintf(&b, "%v:", k)
				walk(v.MapIndex(k))
				b.WriteString(" ")
			}
			b.WriteString("]")
		default:
			fmt.Fprintf(&b, "%#v", v.Interface())
		}
	}
	walk(reflect.ValueOf(v))
	return b.String()
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want an error wrapping os.ErrNotExist", err)
	}
}

// TestParseLimits checks that hostile documents end in one problem instead
// of exhausting memory or the stack.
func TestParseLimits(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString(minimal + "        json:\n          l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i < 10; i++ {
		refs := strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 9) + fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&bomb, "          l%d: &l%d [%s]\n", i, i, refs)
	}
	cases := []struct {
		why  string
		doc  string
		want string
	}{
		{
			why:  "aliases that expand to 10^10 values are cut off",
			doc:  bomb.String(),
			want: "document too large (more than 1000000 values after expanding aliases)",
		},
		{
			why:  "deep nesting is cut off",
			doc:  minimal + "        json: " + strings.Repeat("[", 300) + strings.Repeat("]", 300) + "\n",
			want: "nested more than 200 levels deep",
		},
	}
	for _, tc := range cases {
		_, err := Parse("t.yaml", []byte(tc.doc))
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Msg != tc.want {
			t.Errorf("%s: got %v, want one problem %q", tc.why, err, tc.want)
		}
	}
}
