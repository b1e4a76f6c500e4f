package cli

import (
	"bytes"
	"context"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
)

// The history, baseline and compare tests run the commands in-process
// against a SQLite history built here, and compare their output with
// golden files in testdata. Refresh those with
//
//	STAMPEDE_UPDATE_GOLDEN=1 go test ./internal/cli -run 'History|Baseline|Compare'
//
// (or -update, when the package's tests define that flag).

// testNow is the fixed "now" of these tests.
var testNow = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

type storeCLIResult struct {
	code           int
	stdout, stderr string
}

// storeCLI runs stampede with STAMPEDE_STORE=dsn and a fixed clock.
func storeCLI(t *testing.T, dsn string, args ...string) storeCLIResult {
	t.Helper()
	var out, errb bytes.Buffer
	vars := map[string]string{store.EnvStore: dsn}
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return vars[k] }, now: func() time.Time { return testNow }}
	code := run(context.Background(), e, args)
	return storeCLIResult{code, out.String(), errb.String()}
}

func updatingGolden() bool {
	if os.Getenv("STAMPEDE_UPDATE_GOLDEN") != "" {
		return true
	}
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with testdata/name.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updatingGolden() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with STAMPEDE_UPDATE_GOLDEN=1)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// shape of a synthetic run in the fixture history.
type shape struct {
	id, plan, kind string
	day            int     // started on 2026-03-<day> at 08:00
	scale          float64 // latency multiplier
	rps            float64
	errProb        float64
	windows        int
	aborted        bool
	verdict        string
	seed           uint64
}

// gauss draws a standard normal from PCG's fixed stream (Box–Muller), so
// golden outputs do not depend on the library's normal sampler.
func gauss(r *rand.PCG) float64 {
	u1 := (float64(r.Uint64()>>11) + 0.5) / (1 << 53)
	u2 := float64(r.Uint64()>>11) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

func nearestRank(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	if k < 0 {
		k = 0
	}
	return s[k]
}

func (sh shape) run() *result.Run {
	src := rand.NewPCG(sh.seed, 99)
	start := time.Date(2026, 3, sh.day, 8, 0, 0, 0, time.UTC)
	r := &result.Run{Version: 1, ID: sh.id, Kind: sh.kind, Plan: sh.plan, PlanHash: "h1",
		StartedAt: start, EndedAt: start.Add(time.Duration(sh.windows) * time.Second),
		Aborted: sh.aborted, Verdict: result.Verdict(sh.verdict),
		Git:   &result.Git{Commit: "0123456789abcdef0123456789abcdef01234567", Branch: "main"},
		Steps: []result.StepResult{{Scenario: "shop", Step: "home"}, {Scenario: "shop", Step: "item"}}}
	var all []float64
	var steps [2][]float64
	var errs, stepErrs [2]int64
	for w := 0; w < sh.windows; w++ {
		n := int(sh.rps * (1 + 0.03*gauss(src)))
		var lat []float64
		var sl [2][]float64
		var we int64
		var swe [2]int64
		for i := 0; i < n; i++ {
			k := i % 2
			v := (8 + 4*float64(k)) * math.Exp(0.35*gauss(src)) * sh.scale
			lat, sl[k] = append(lat, v), append(sl[k], v)
			if float64(src.Uint64()>>11)/(1<<53) < sh.errProb {
				we++
				swe[k]++
			}
		}
		win := result.Window{TS: float64(w), Requests: int64(n), RPS: float64(n), Errors: we,
			P50: nearestRank(lat, 50), P95: nearestRank(lat, 95), P99: nearestRank(lat, 99)}
		for k := 0; k < 2; k++ {
			win.Steps = append(win.Steps, result.StepWindow{Index: k, Requests: int64(len(sl[k])), Errors: swe[k],
				P50: nearestRank(sl[k], 50), P95: nearestRank(sl[k], 95), P99: nearestRank(sl[k], 99)})
			steps[k] = append(steps[k], sl[k]...)
			stepErrs[k] += swe[k]
		}
		r.Series = append(r.Series, win)
		all = append(all, lat...)
		errs[0] += we
	}
	d := float64(sh.windows)
	r.Summary = result.Summary{Requests: int64(len(all)), Errors: errs[0], ErrorRate: float64(errs[0]) / float64(len(all)),
		RPS: float64(len(all)) / d, DurationS: d,
		Latency: result.Latency{P50: nearestRank(all, 50), P95: nearestRank(all, 95), P99: nearestRank(all, 99)}}
	for k := range r.Steps {
		st := &r.Steps[k]
		st.Requests, st.Errors, st.RPS = int64(len(steps[k])), stepErrs[k], float64(len(steps[k]))/d
		st.Latency = result.Latency{P50: nearestRank(steps[k], 50), P95: nearestRank(steps[k], 95), P99: nearestRank(steps[k], 99)}
	}
	return r
}

// fixture is the history the CLI tests read: three healthy shop runs, an
// api run, an aborted shop run, and a shop run 25% slower than the rest.
var fixture = []shape{
	{id: "r1", plan: "shop", kind: "load", day: 1, scale: 1, rps: 120, errProb: 0.01, windows: 12, verdict: "pass", seed: 1},
	{id: "r2", plan: "shop", kind: "load", day: 2, scale: 1, rps: 120, errProb: 0.01, windows: 12, verdict: "pass", seed: 2},
	{id: "a1", plan: "api", kind: "test", day: 3, scale: 0.5, rps: 300, windows: 12, verdict: "pass", seed: 3},
	{id: "r3", plan: "shop", kind: "load", day: 4, scale: 1, rps: 60, errProb: 0.01, windows: 3, aborted: true, seed: 4},
	{id: "r4", plan: "shop", kind: "load", day: 5, scale: 1.25, rps: 120, errProb: 0.01, windows: 12, verdict: "fail", seed: 5},
}

// fixtureStore writes the fixture into a new SQLite history and returns
// its path.
func fixtureStore(t *testing.T, shapes []shape) string {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), ".stampede", "history.db")
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, sh := range shapes {
		if id, err := s.Save(context.Background(), sh.run()); err != nil || id != sh.id {
			t.Fatalf("saving %s: %q, %v", sh.id, id, err)
		}
	}
	return dsn
}

func TestHistoryTable(t *testing.T) {
	dsn := fixtureStore(t, fixture)
	// A run still being written shows as running.
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(context.Background(), store.Meta{Plan: "shop", Kind: "load", StartedAt: time.Date(2026, 3, 6, 8, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	res := storeCLI(t, dsn, "history")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	// The running run's id ends in random digits.
	out := regexp.MustCompile(`20260306-080000-[0-9a-f]{8}`).ReplaceAllString(res.stdout, "20260306-080000-xxxxxxxx")
	golden(t, "history.golden", out)
	if strings.Contains(res.stdout, "\x1b[") {
		t.Error("colour codes written to a non-terminal")
	}
}

func TestHistoryFilters(t *testing.T) {
	dsn := fixtureStore(t, fixture)
	for _, tc := range []struct {
		why  string
		args []string
		ids  []string
	}{
		{"one plan", []string{"--plan", "api"}, []string{"a1"}},
		{"one kind", []string{"--kind", "load"}, []string{"r4", "r3", "r2", "r1"}},
		{"a limit", []string{"--limit", "2"}, []string{"r4", "r3"}},
		{"no limit", []string{"--limit", "0"}, []string{"r4", "r3", "a1", "r2", "r1"}},
	} {
		res := storeCLI(t, dsn, append([]string{"history"}, tc.args...)...)
		if res.code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.why, res.code, res.stderr)
		}
		var ids []string
		for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n")[1:] {
			ids = append(ids, strings.Fields(line)[0])
		}
		if strings.Join(ids, " ") != strings.Join(tc.ids, " ") {
			t.Errorf("%s: rows %v, want %v", tc.why, ids, tc.ids)
		}
	}
}

func TestHistoryTrendAcrossTheLimit(t *testing.T) {
	// With --limit 1 the previous run is not listed; the arrow still
	// compares with it (r4 is 25% slower than r2; r3 is aborted, skipped).
	dsn := fixtureStore(t, fixture)
	res := storeCLI(t, dsn, "history", "--limit", "1")
	line := strings.Split(strings.TrimSpace(res.stdout), "\n")[1]
	if !strings.Contains(line, "↑") {
		t.Errorf("no rising latency arrow against the unlisted previous run: %q", line)
	}
}

func TestHistoryInvalid(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		why     string
		dsn     string
		args    []string
		code    int
		message string
	}{
		{"no history yet", filepath.Join(dir, "none", "history.db"), nil, ExitInvalid, "no run history at"},
		{"unsupported store URL", "mysql://x/y", nil, ExitInvalid, "unsupported scheme"},
		{"--store overrides the environment", filepath.Join(dir, "none.db"), []string{"--store", "redis://x"}, ExitInvalid, "unsupported scheme"},
		{"negative limit", filepath.Join(dir, "x.db"), []string{"--limit", "-1"}, ExitInvalid, "--limit"},
		{"stray argument", filepath.Join(dir, "x.db"), []string{"shop"}, ExitInvalid, "unknown command"},
	} {
		res := storeCLI(t, tc.dsn, append([]string{"history"}, tc.args...)...)
		if res.code != tc.code || !strings.Contains(res.stderr, tc.message) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.why, res.code, res.stderr, tc.code, tc.message)
		}
	}
}

func TestHistoryEmptyStore(t *testing.T) {
	dsn := fixtureStore(t, nil)
	res := storeCLI(t, dsn, "history")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "no runs in ") {
		t.Fatalf("exit %d, stdout %q", res.code, res.stdout)
	}
}

func TestTrendArrow(t *testing.T) {
	for _, tc := range []struct {
		why       string
		cur, prev float64
		want      string
		dir       int
	}{
		{"steady within 5%", 104, 100, "→", 0},
		{"up", 106, 100, "↑", 1},
		{"down", 94, 100, "↓", -1},
		{"from zero", 0.01, 0, "↑", 1},
		{"zero to zero", 0, 0, "→", 0},
	} {
		if got, dir := trendArrow(tc.cur, tc.prev); got != tc.want || dir != tc.dir {
			t.Errorf("%s: trendArrow(%g, %g) = %s %d, want %s %d", tc.why, tc.cur, tc.prev, got, dir, tc.want, tc.dir)
		}
	}
	prev := 10.0
	if got := trendText("12ms", 12, &prev, true, true); got != "12ms \x1b[31m↑\x1b[0m" {
		t.Errorf("slower latency on a terminal: %q, want a red arrow", got)
	}
	if got := trendText("12/s", 12, &prev, false, true); got != "12/s \x1b[32m↑\x1b[0m" {
		t.Errorf("more throughput on a terminal: %q, want a green arrow", got)
	}
	if got := trendText("12ms", 12, &prev, true, false); got != "12ms ↑" {
		t.Errorf("no terminal: %q", got)
	}
}
