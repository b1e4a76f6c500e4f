package plan

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// protocolPlan parses a minimal plan with the given tests block.
func protocolPlan(t *testing.T, tests string) *Plan {
	t.Helper()
	doc := "name: p\ntarget: {base_url: \"http://127.0.0.1:1\"}\nscenarios:\n  - name: s\n    steps: [{path: /}]\nload: {vus: 1, duration: 1s}\n" + tests
	p, err := Parse("p.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p
}

func TestProtocolResolution(t *testing.T) {
	cases := []struct {
		name    string
		tests   string
		profile string
		check   func(t *testing.T, got *Tests)
	}{
		{"no tests block: the standard profile", "", "", func(t *testing.T, got *Tests) {
			if !reflect.DeepEqual(got, StandardTests()) {
				t.Errorf("got %+v", got)
			}
		}},
		{"tests.profile picks the profile", "tests: {profile: quick}\n", "", func(t *testing.T, got *Tests) {
			if !reflect.DeepEqual(got, QuickTests()) {
				t.Errorf("got %+v", got)
			}
		}},
		{"the flag overrides tests.profile", "tests: {profile: quick}\n", "standard", func(t *testing.T, got *Tests) {
			if got.Profile != ProfileStandard || got.Soak.Duration != Duration(2*time.Hour) {
				t.Errorf("profile %q soak %v", got.Profile, got.Soak.Duration)
			}
		}},
		{"a load test named like the profile's changes only what it sets", "tests:\n  load:\n    - {name: peak, users: 800}\n", "", func(t *testing.T, got *Tests) {
			peak := got.Load[1]
			if peak.Name != "peak" || peak.Users != 800 || peak.Duration != Duration(5*time.Minute) || peak.RampUp != Duration(time.Minute) || len(got.Load) != 4 {
				t.Errorf("peak %+v, %d tests", peak, len(got.Load))
			}
		}},
		{"rate replaces the profile's users", "tests:\n  load:\n    - {name: normal, rate: 250}\n", "", func(t *testing.T, got *Tests) {
			if n := got.Load[0]; n.Rate != 250 || n.Users != 0 {
				t.Errorf("normal %+v", n)
			}
		}},
		{"a new name adds a test, skip drops one", "tests:\n  load:\n    - {name: volume, skip: true}\n    - {name: sale, users: 3000, duration: 15m}\n", "", func(t *testing.T, got *Tests) {
			if len(got.Load) != 5 || !got.Load[3].Skip || got.Load[4].Name != "sale" || got.Load[4].Users != 3000 {
				t.Errorf("load %+v", got.Load)
			}
		}},
		{"a zero written in the file is kept", "tests:\n  cool_down: 0s\n  stress: {warmup: 0s, bisect: 0}\n", "", func(t *testing.T, got *Tests) {
			if got.CoolDown != 0 || got.Stress.Warmup != 0 || got.Stress.Bisect != 0 || got.Stress.Hold != Duration(time.Minute) {
				t.Errorf("cool_down %v warmup %v bisect %d hold %v", got.CoolDown, got.Stress.Warmup, got.Stress.Bisect, got.Stress.Hold)
			}
		}},
		{"a step alone adds instead of the profile's factor", "tests:\n  stress: {start: 100, step: 50}\n", "", func(t *testing.T, got *Tests) {
			if got.Stress.Factor != 0 || got.Stress.Step != 50 || got.Stress.Start != 100 {
				t.Errorf("stress %+v", got.Stress)
			}
		}},
		{"pool: the profile's sizes, 200 users for 2m each", "", "", func(t *testing.T, got *Tests) {
			if s := got.Pool; !reflect.DeepEqual(s.Sizes, []int{10, 50, 100, 200}) || s.Users != 200 || s.Duration != Duration(2*time.Minute) || s.DB != "" || s.Skip {
				t.Errorf("pool %+v", s)
			}
		}},
		{"pool in the quick profile: fewer sizes, seconds each", "", "quick", func(t *testing.T, got *Tests) {
			if s := got.Pool; !reflect.DeepEqual(s.Sizes, []int{10, 50}) || s.Users != 50 || s.Duration != Duration(5*time.Second) {
				t.Errorf("pool %+v", s)
			}
		}},
		{"a pool block changes only what it sets; rate replaces the users", "databases:\n  shop: {dsn: x}\n  logs: {dsn: y}\ntests:\n  pool: {db: shop, sizes: [5, 20], rate: 300}\n", "", func(t *testing.T, got *Tests) {
			if s := got.Pool; s.DB != "shop" || !reflect.DeepEqual(s.Sizes, []int{5, 20}) || s.Rate != 300 || s.Users != 0 || s.Duration != Duration(2*time.Minute) {
				t.Errorf("pool %+v", s)
			}
		}},
		{"scalability configurations and unit", "tests:\n  scalability:\n    apply: scale {{ replicas }}\n    configs: [{replicas: \"1\"}, {replicas: \"3\"}]\n", "", func(t *testing.T, got *Tests) {
			s := got.Scalability
			if len(s.Configs) != 2 || ScaleUnit(s) != "replicas" || s.UsersPerUnit != 50 || s.Stabilize != Duration(30*time.Second) {
				t.Errorf("scalability %+v unit %q", s, ScaleUnit(s))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := protocolPlan(t, c.tests)
			before := fmt.Sprintf("%+v", p.Tests)
			got, err := p.Protocol(c.profile)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, got)
			if after := fmt.Sprintf("%+v", p.Tests); after != before {
				t.Errorf("Protocol changed the plan: %s → %s", before, after)
			}
		})
	}
}

func TestProtocolProblems(t *testing.T) {
	p := protocolPlan(t, `tests:
  baseline: {levels: [10, 0]}
  load:
    - {name: normal, users: 10, rate: 5}
    - {name: sale}
  stress: {variant: payload, max: 5, start: 10, error_rate: 2, efficiency: 1.5, precision: 1, closed: true, closed_users: 200000, max_vus: -1}
  recovery: {windows: 0}
  scalability:
    configs: [{replicas: "x"}, {other: "2"}]
    unit: replicas
`)
	_, err := p.Protocol("")
	if err == nil {
		t.Fatal("no problems reported")
	}
	want := []string{
		"p.yaml:8:27: tests.baseline.levels[1]: must be ≥ 1 user, got 0",
		"p.yaml:10:7: tests.load[0]: set users (closed model) or rate (open model), not both",
		"tests.load[1]: set users or rate",
		"tests.load[1].duration: must be > 0",
		"tests.stress.max: must be above start (10), got 5",
		"tests.stress.error_rate: must be a fraction from 0 to 1, got 2",
		"tests.stress.efficiency: must be a fraction below 1, got 1.5",
		"the payload variant repeats variables.payload",
		"tests.stress.precision: must be a fraction below 1 (0.05: within 5%), got 1",
		"tests.stress.closed: compares the open model's capacity with the closed model's: it needs variant rate, not payload",
		"tests.stress.closed_users: must be from 1 to 100000, got 200000",
		"tests.stress.max_vus: must be ≥ 0, got -1",
		"tests.recovery.windows: must be ≥ 1, got 0",
		"tests.scalability.apply: required",
		`tests.scalability.configs[0].replicas: must be a number > 0, got "x"`,
		`tests.scalability.configs[1]: has no "replicas"`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("problems lack %q:\n%s", w, err)
		}
	}
	if _, err := p.Protocol("thorough"); err == nil || !strings.Contains(err.Error(), `unknown profile "thorough"`) {
		t.Errorf("unknown profile: %v", err)
	}
}

func TestPoolProblems(t *testing.T) {
	// What the block says wrong by itself is found when the plan is read,
	// with positions.
	_, err := Parse("p.yaml", []byte(`name: p
target: {base_url: "http://127.0.0.1:1"}
scenarios: [{name: s, steps: [{path: /}]}]
load: {vus: 1, duration: 1s}
databases: {shop: {dsn: x}, logs: {dsn: y}}
tests:
  pool:
    db: orders
    sizes: [10, 0, 50, 40]
    users: 10
    rate: 5
`))
	if err == nil {
		t.Fatal("no problems reported")
	}
	for _, w := range []string{
		`p.yaml:8:5: tests.pool: set users (closed model) or rate (open model), not both`,
		`p.yaml:8:9: tests.pool.db: no database "orders" under databases (declared: logs, shop)`,
		`p.yaml:9:17: tests.pool.sizes[1]: must be ≥ 1 connection, got 0`,
		`p.yaml:9:24: tests.pool.sizes[3]: must be larger than the size before it (50): list the sizes in increasing order`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("problems lack %q:\n%s", w, err)
		}
	}
	if strings.Contains(err.Error(), "sizes[2]") {
		t.Errorf("50 after 0 is not a problem of its own:\n%s", err)
	}

	// What depends on the profile and the rest of the plan is found when
	// the protocol is resolved.
	cases := []struct {
		why, doc, want string
	}{
		{"several databases and none named", "databases: {shop: {dsn: x}, logs: {dsn: y}}\ntests:\n  pool: {sizes: [1, 2]}\n",
			"p.yaml:9:9: tests.pool.db: required: several databases are declared (logs, shop); name the one whose pool changes"},
		{"no database to scale", "tests:\n  pool: {users: 20}\n",
			"p.yaml:8:9: tests.pool: the pool phase changes a database's connection pool: declare one under databases"},
		{"a zero duration written", "databases: {shop: {dsn: x}}\ntests:\n  pool: {duration: 0s}\n",
			"tests.pool.duration: must be > 0"},
	}
	for _, c := range cases {
		p := protocolPlan(t, c.doc)
		if _, err := p.Protocol(""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.why, err, c.want)
		}
	}

	// Nothing to complain about: the profile's phase without a database
	// to scale (skipped when the protocol runs), one database left
	// unnamed, and a skipped block.
	for _, doc := range []string{
		"",
		"databases: {shop: {dsn: x}, logs: {dsn: y}}\n",
		"databases: {shop: {dsn: x}}\ntests:\n  pool: {sizes: [1, 2]}\n",
		"tests:\n  pool: {skip: true, sizes: [3, 2], db: nowhere}\n",
	} {
		if _, err := protocolPlan(t, doc).Protocol(""); err != nil {
			t.Errorf("%q: %v", doc, err)
		}
	}
}

func TestPoolDB(t *testing.T) {
	one := map[string]*Database{"shop": {DSN: "x"}}
	two := map[string]*Database{"shop": {DSN: "x"}, "logs": {DSN: "y"}}
	for _, c := range []struct {
		why  string
		dbs  map[string]*Database
		s    *PoolSpec
		want string
	}{
		{"named", two, &PoolSpec{DB: "logs"}, "logs"},
		{"the only one", one, &PoolSpec{}, "shop"},
		{"several, none named: nothing to scale", two, &PoolSpec{}, ""},
		{"no database", nil, &PoolSpec{}, ""},
		{"named but not declared", one, &PoolSpec{DB: "logs"}, ""},
		{"no pool block", one, nil, ""},
	} {
		p := &Plan{Databases: c.dbs}
		if got := p.PoolDB(c.s); got != c.want {
			t.Errorf("%s: %q, want %q", c.why, got, c.want)
		}
	}
}

func TestScaled(t *testing.T) {
	q := QuickTests()
	s := q.Scaled(0.1)
	if !reflect.DeepEqual(q, QuickTests()) {
		t.Error("Scaled changed its receiver")
	}
	checks := []struct {
		what      string
		got, want Duration
	}{
		{"a hold is at least a second", s.Warmup.Duration, Duration(time.Second)},
		{"a long hold scales", s.Load[3].Duration, Duration(1500 * time.Millisecond)},
		{"a ramp scales to below a second", s.Load[0].RampUp, Duration(300 * time.Millisecond)},
		{"cool-down scales", s.CoolDown, Duration(3 * time.Second)},
		{"a baseline ramp-up scales", s.Baseline.RampUp[2], Duration(300 * time.Millisecond)},
		{"the baseline's pause scales", s.Baseline.Pause, Duration(200 * time.Millisecond)},
		{"stress warm-up scales to nothing much", s.Stress.Warmup, Duration(100 * time.Millisecond)},
		{"recovery keeps room for its windows", s.Recovery.Limit, Duration(5 * time.Second)},
		{"a pool size holds at least a second", s.Pool.Duration, Duration(time.Second)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, time.Duration(c.got), time.Duration(c.want))
		}
	}
	if s.Load[2].Users != q.Load[2].Users || s.Stress.Max != q.Stress.Max {
		t.Error("Scaled changed a load")
	}
	if !reflect.DeepEqual(q.Scaled(1), q) || !reflect.DeepEqual(q.Scaled(0), q) {
		t.Error("a scale of 1 (or unset) should change nothing")
	}
}

func TestCloneIsDeep(t *testing.T) {
	a := StandardTests()
	a.Scalability.Configs = []map[string]string{{"n": "1"}}
	b := a.Clone()
	b.Load[0].Users = 7
	b.Baseline.Levels[0] = 9
	b.Scalability.Configs[0]["n"] = "2"
	b.Stress.Max = 1
	b.Pool.Sizes[0] = 3
	if a.Load[0].Users == 7 || a.Baseline.Levels[0] == 9 || a.Scalability.Configs[0]["n"] == "2" || a.Stress.Max == 1 || a.Pool.Sizes[0] == 3 {
		t.Error("Clone shares memory with the original")
	}
}

// TestDocProfiles keeps docs/protocol.md's table of the profiles' figures
// in step with the code.
func TestDocProfiles(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	table := profileTable(StandardTests(), QuickTests())
	if !strings.Contains(string(doc), table) {
		t.Errorf("docs/protocol.md lacks the profiles table as the code has it:\n\n%s", table)
	}
}

// TestDocExamples parses every plan example in docs/protocol.md and
// resolves its protocol.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) == 0 {
		t.Fatal("no yaml examples in docs/protocol.md")
	}
	for i, b := range blocks {
		p, err := Parse(fmt.Sprintf("docs example %d", i+1), []byte(b[1]))
		if err != nil {
			t.Errorf("example %d: %v", i+1, err)
			continue
		}
		if _, err := p.Protocol(""); err != nil {
			t.Errorf("example %d: %v", i+1, err)
		}
	}
}

// TestDocPoolExample resolves the pool block of docs/database.md inside
// a plan of one SQL step.
func TestDocPoolExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/database.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, b := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if strings.Contains(b[1], "\n  pool:") {
			block = b[1]
		}
	}
	if block == "" {
		t.Fatal("no tests.pool example in docs/database.md")
	}
	const minimal = "name: x\nscenarios: [{ name: s, steps: [{ sql: { query: \"SELECT 1\" } }] }]\nload: { vus: 1, duration: 1s }\n"
	p, err := Parse("docs/database.md pool example", []byte(minimal+block))
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Protocol("")
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Pool; p.PoolDB(s) != "shop" || !reflect.DeepEqual(s.Sizes, []int{10, 50, 100, 200}) || s.Users != 200 || s.Duration != Duration(2*time.Minute) {
		t.Errorf("pool %+v, database %q", s, p.PoolDB(s))
	}
}

func profileTable(std, quick *Tests) string {
	var b strings.Builder
	b.WriteString("| phase | standard | quick |\n|---|---|---|\n")
	row := func(name string, f func(t *Tests) string) {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, f(std), f(quick))
	}
	phase := func(s *PhaseSpec) string {
		load := fmt.Sprintf("%d users", s.Users)
		if s.Rate > 0 {
			load = fmt.Sprintf("%g/s", s.Rate)
		}
		out := load + ", " + short(s.Duration)
		if s.RampUp > 0 {
			out += " (ramp " + short(s.RampUp) + ")"
		}
		return out
	}
	row("cool-down between load tests", func(t *Tests) string { return short(t.CoolDown) })
	row("warm-up", func(t *Tests) string { return phase(t.Warmup) })
	row("baseline", func(t *Tests) string {
		l := fmt.Sprint(t.Baseline.Levels)
		var ramps []string
		for _, r := range t.Baseline.RampUp {
			ramps = append(ramps, short(r))
		}
		return strings.ReplaceAll(l[1:len(l)-1], " ", ", ") + " users, " + short(t.Baseline.Duration) + " each after a ramp-up of " +
			strings.Join(ramps, ", ") + "; " + short(t.Baseline.Pause) + " pause between levels"
	})
	for i := range std.Load {
		row("load: "+std.Load[i].Name, func(t *Tests) string { return phase(t.Load[i]) })
	}
	row("stress", func(t *Tests) string {
		s := t.Stress
		return fmt.Sprintf("%s ×%g per step up to %g/s; each step %s after a %s warm-up; up to %d bisection probes until within %g%% or %s; efficiency limit %g",
			s.Variant, s.Factor, s.Max, short(s.Hold), short(s.Warmup), s.Bisect, 100*s.Precision, short(s.Budget), s.Efficiency)
	})
	row("recovery", func(t *Tests) string {
		r := t.Recovery
		return fmt.Sprintf("within %g%% for %d windows, given up after %s", 100*r.Tolerance, r.Windows, short(r.Limit))
	})
	row("soak", func(t *Tests) string { return phase(t.Soak) })
	row("scalability", func(t *Tests) string {
		s := t.Scalability
		return fmt.Sprintf("%s to stabilize, %s of %d users per unit per configuration", short(s.Stabilize), short(s.Duration), s.UsersPerUnit)
	})
	row("pool", func(t *Tests) string {
		s := t.Pool
		l := fmt.Sprint(s.Sizes)
		return fmt.Sprintf("pools of %s connections, each %s of %d users", strings.ReplaceAll(l[1:len(l)-1], " ", ", "), short(s.Duration), s.Users)
	})
	return b.String()
}

// short writes 30s, 2m, 1h, 1m30s.
func short(d Duration) string {
	v := time.Duration(d)
	switch {
	case v == 0:
		return "0s"
	case v%time.Hour == 0:
		return fmt.Sprintf("%dh", v/time.Hour)
	case v%time.Minute == 0:
		return fmt.Sprintf("%dm", v/time.Minute)
	}
	return v.String()
}
