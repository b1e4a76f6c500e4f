package analyze

import (
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

func TestDescribeStatement(t *testing.T) {
	got := DescribeStatement(result.SlowStatement{Query: "SELECT *\n  FROM orders WHERE id = $1", Calls: 1234, MeanMS: 620.4, SharePct: 38.2})
	want := "SELECT * FROM orders WHERE id = $1: mean 620 ms, 38% of database time (1,234 calls)"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	long := DescribeStatement(result.SlowStatement{Query: strings.Repeat("x", 300), Calls: 1, MeanMS: 1.5})
	if !strings.HasPrefix(long, strings.Repeat("x", 99)+"…: mean 1.50 ms") {
		t.Errorf("long statement not cut: %q", long)
	}
}

func TestDatabaseFindings(t *testing.T) {
	sqlStep := func(wait, mean float64, errs ...result.ErrorCount) result.StepResult {
		return result.StepResult{Scenario: "s", Step: "q", Kind: "sql", Requests: 500,
			Latency: result.Latency{Mean: mean}, Phases: result.Timing{PoolWait: wait}, Errs: errs}
	}
	points := func(waiting ...int) []result.DatabasePoint {
		var ps []result.DatabasePoint
		for _, w := range waiting {
			ps = append(ps, result.DatabasePoint{LocksWaiting: w})
		}
		return ps
	}
	for _, tc := range []struct {
		why  string
		run  result.Run
		want map[result.FindingKind]string // kind → severity
	}{
		{"nothing database-related", result.Run{Steps: []result.StepResult{{Kind: "http", Requests: 100}}}, nil},
		{"a healthy SQL step", result.Run{Steps: []result.StepResult{sqlStep(0.1, 2)}}, nil},
		{"waiting 60% for the pool", result.Run{Steps: []result.StepResult{sqlStep(6, 10)}},
			map[result.FindingKind]string{result.KindDBPoolWait: "medium"}},
		{"pool exhausted is high even with a short mean wait", result.Run{Steps: []result.StepResult{sqlStep(1, 10, result.ErrorCount{Kind: "pool_exhausted", Count: 3})}},
			map[result.FindingKind]string{result.KindDBPoolWait: "high"}},
		{"an HTTP step's wait does not count", result.Run{Steps: []result.StepResult{{Kind: "http", Requests: 500, Latency: result.Latency{Mean: 10}, Phases: result.Timing{PoolWait: 9}}}}, nil},
		{"connections near the limit, locks most of the time, cold cache", result.Run{System: &result.System{Database: &result.Database{
			MaxConnections: 100, PeakConnections: 95, CacheHitRatio: 0.85, Timeline: points(0, 2, 3, 1)}}},
			map[result.FindingKind]string{result.KindDBConnections: "medium", result.KindDBLocks: "high", result.KindDBCache: "high"}},
		{"refused connections, rare locks, warm cache", result.Run{
			Errors: []result.ErrorCount{{Kind: "connection_refused", Count: 7}},
			System: &result.System{Database: &result.Database{MaxConnections: 100, PeakConnections: 40, CacheHitRatio: 0.999, Timeline: points(0, 0, 0, 0, 1)}}},
			map[result.FindingKind]string{result.KindDBConnections: "high"}},
		{"serialization failures only", result.Run{Errors: []result.ErrorCount{{Kind: "serialization_failure", Count: 4}}},
			map[result.FindingKind]string{result.KindDBConflicts: "medium"}},
		{"deadlocks seen by the server", result.Run{System: &result.System{Database: &result.Database{Deadlocks: 2, CacheHitRatio: 1}}},
			map[result.FindingKind]string{result.KindDBConflicts: "high"}},
	} {
		got := map[result.FindingKind]string{}
		for _, f := range DatabaseFindings(&tc.run) {
			got[f.Kind] = string(f.Severity)
			if f.Title == "" || len(f.Evidence) == 0 || f.Confidence <= 0 || f.Confidence > 1 {
				t.Errorf("%s: finding %s lacks a title, evidence or confidence: %+v", tc.why, f.Kind, f)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: findings %v, want %v", tc.why, got, tc.want)
			continue
		}
		for k, sev := range tc.want {
			if got[k] != sev {
				t.Errorf("%s: %s severity %q, want %q (all: %v)", tc.why, k, got[k], sev, got)
			}
		}
	}
	f := DatabaseFindings(&result.Run{Steps: []result.StepResult{sqlStep(6, 10)}})[0]
	if want := "SQL step s/q waits for a pool connection: 60% of its time (6.00 of 10.0 ms on average)"; f.Title != want {
		t.Errorf("title %q, want %q", f.Title, want)
	}
}
