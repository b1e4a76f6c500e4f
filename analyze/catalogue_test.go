package analyze

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// findingKinds reads every result.FindingKind constant from the result
// package's source, so a kind added there without advice fails the test.
func findingKinds(t *testing.T) []result.FindingKind {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "result", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []result.FindingKind
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "FindingKind" {
				return true
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					kinds = append(kinds, result.FindingKind(strings.Trim(lit.Value, "\"`")))
				}
			}
			return true
		})
	}
	if len(kinds) < 30 {
		t.Fatalf("read %d finding kinds from the result package: the source changed shape", len(kinds))
	}
	return kinds
}

func TestEveryFindingKindHasAdvice(t *testing.T) {
	kinds := findingKinds(t)
	known := map[result.FindingKind]bool{}
	for _, k := range kinds {
		known[k] = true
		if _, ok := catalogue[k]; !ok {
			t.Errorf("finding kind %s has no entry in the advice catalogue", k)
		}
	}
	for k := range catalogue {
		if !known[k] {
			t.Errorf("the catalogue has an entry for %s, which is no finding kind", k)
		}
	}
}

// The evidence each kind's rule writes (the numbers its gains read).
var catalogueEvidence = map[result.FindingKind][]result.Evidence{
	result.KindGeneratorSaturated:  {{Metric: "generator_cpu", Value: 97, Unit: "%", Source: "generator", Threshold: 90}},
	result.KindRegression:          {{Metric: "p95", Value: 41, Unit: "ms", Source: "comparison"}},
	result.KindCPUHotspot:          {{Metric: "cum_pct", Value: 62, Unit: "%", Source: "cpu profile"}},
	result.KindLockContention:      {{Metric: "mutex_wait_per_s", Value: 4, Source: "mutex profile"}},
	result.KindMemoryLeak:          {{Metric: "growth_mb_per_min", Value: 70, Unit: "MB/min", Source: "heap"}},
	result.KindGoroutineLeak:       {{Metric: "growth_per_min", Value: 120, Source: "goroutines"}},
	result.KindCoherency:           {{Metric: "usl_kappa", Value: 0.01, Source: "scalability"}},
	result.KindScalingEfficiency:   {{Metric: "efficiency", Value: 0.4, Unit: "ratio", Source: "scalability", Threshold: 0.7}},
	result.KindGCPressure:          {{Metric: "gc_pause_pct", Value: 12, Unit: "%", Source: "runtime metrics"}},
	result.KindSlowDatabase:        {{Metric: "mean_ms", Value: 620, Unit: "ms", Source: "pg_stat_statements"}},
	result.KindCPUSaturation:       {{Metric: "cpu", Value: 98, Unit: "%", Source: "process", Threshold: 90}},
	result.KindMemoryPressure:      {{Metric: "memory_available", Value: 3, Unit: "%", Source: "host", Threshold: 10}},
	result.KindDiskBound:           {{Metric: "iowait", Value: 40, Unit: "%", Source: "host"}},
	result.KindSlowDependency:      {{Metric: "wait_ms_per_request", Value: 35, Unit: "ms", Source: "goroutines"}},
	result.KindDiskIO:              {{Metric: "wait_ms_per_request", Value: 9, Unit: "ms", Source: "goroutines"}},
	result.KindLargeResponses:      {{Metric: "bytes_per_response", Value: 3 << 20, Unit: "B", Source: "step"}},
	result.KindDiskThroughput:      {{Metric: "write_bytes_per_s", Value: 200 << 20, Unit: "B", Source: "process"}},
	result.KindNetworkBound:        {{Metric: "link_use", Value: 0.95, Unit: "ratio", Source: "host"}},
	result.KindNetworkLatency:      {{Metric: "connect_share", Value: 0.4, Unit: "ratio", Source: "phases"}},
	result.KindConnectionErrors:    {{Metric: "connection_errors", Value: 1200, Source: "errors"}},
	result.KindNetworkSensitivity:  {{Metric: "p95_per_rtt_ms", Value: 3.1, Unit: "ms", Source: "network stress"}},
	result.KindCPULimit:            {{Metric: "saturating_rate", Value: 800, Unit: "req/s", Source: "stress"}},
	result.KindMemoryLimit:         {{Metric: "peak_rss", Value: 900 << 20, Unit: "B", Source: "stress"}},
	result.KindLatencyKnee:         {{Metric: "knee_load", Value: 400, Source: "stress"}},
	result.KindThroughputShortfall: {{Metric: "delivered_ratio", Value: 0.8, Unit: "ratio", Source: "load"}},
	result.KindErrorRate:           {{Metric: "error_rate", Value: 0.048, Unit: "ratio", Source: "phase spike", Threshold: 0.01}},
	result.KindSlowResponse:        {{Metric: "latency_mean", Value: 850, Unit: "ms", Source: "load"}},
	result.KindSoakDegradation:     {{Metric: "p95_slope", Value: 2, Unit: "ms/min", Source: "soak"}},
	result.KindBenchVariance:       {{Metric: "cv", Value: 0.2, Unit: "ratio", Source: "bench"}},
	result.KindBenchMemory:         {{Metric: "allocs_per_op", Value: 120, Source: "bench"}},
	result.KindBenchSlowOp:         {{Metric: "ns_per_op", Value: 1e6, Unit: "ns", Source: "bench"}},
	result.KindDBPoolWait:          {{Metric: "pool_wait_mean", Value: 12, Unit: "ms", Source: "step checkout/pay"}},
	result.KindDBConnections:       {{Metric: "connection_share", Value: 95, Unit: "%", Source: "pg_stat_activity", Threshold: 90}},
	result.KindDBLocks:             {{Metric: "lock_wait_samples", Value: 40, Unit: "%", Source: "pg_locks", Threshold: 25}},
	result.KindDBCache:             {{Metric: "cache_hit_ratio", Value: 93, Unit: "%", Source: "pg_stat_database", Threshold: 99}},
	result.KindDBConflicts:         {{Metric: "deadlocks", Value: 0, Source: "errors"}, {Metric: "serialization_failures", Value: 14, Source: "errors"}},
}

// TestCatalogueEntries builds a finding of each kind and reads its
// recommendations on a test run: each names the finding's subject and
// has every field filled (the estimate wherever the entry has a gain),
// its steps hold its techniques and its command runs the entry's phase.
func TestCatalogueEntries(t *testing.T) {
	for _, kind := range findingKinds(t) {
		t.Run(string(kind), func(t *testing.T) {
			ev, ok := catalogueEvidence[kind]
			if !ok {
				t.Fatalf("no evidence for %s in the test's table", kind)
			}
			e := catalogue[kind]
			for _, subject := range append([]string{"checkout.(*Cart).Total"}, keys(e.subjects)...) {
				f := result.Finding{Kind: kind, Severity: result.SeverityMedium, Subject: subject, Evidence: ev}
				recs := Recommend([]result.Finding{f}, &result.Run{Kind: "test", Plan: "shop.yaml"})
				if len(recs) == 0 || len(recs) != len(e.actionsFor(subject)) {
					t.Fatalf("subject %q: %d recommendations, the entry has %d actions", subject, len(recs), len(e.actionsFor(subject)))
				}
				for i, r := range recs {
					a := e.actionsFor(subject)[i]
					if r.Finding != kind || r.Subject != subject {
						t.Errorf("%q answers %s about %q, want %s about %q", r.Title, r.Finding, r.Subject, kind, subject)
					}
					if strings.Contains(a.title, "%s") && !strings.Contains(r.Title, subject) {
						t.Errorf("title %q does not name the subject %q", r.Title, subject)
					}
					for field, v := range map[string]string{
						"title": r.Title, "priority": r.Priority, "effort": r.Effort, "impact": r.Impact,
						"plan": string(r.Plan), "because": r.Because, "risk": r.Risk, "verify": r.Verify,
					} {
						if v == "" || strings.Contains(v, "%!") {
							t.Errorf("%q: %s is %q", r.Title, field, v)
						}
					}
					if (r.Estimate != "") != (len(e.gains) > 0) || strings.Contains(r.Estimate, "%!") {
						t.Errorf("%q: estimate %q from %d gains", r.Title, r.Estimate, len(e.gains))
					}
					if len(r.Techniques) == 0 {
						t.Errorf("%q has no techniques", r.Title)
					}
					steps := strings.Join(r.Steps, "\n")
					for _, tq := range r.Techniques {
						if tq == "" || !strings.Contains(steps, tq) {
							t.Errorf("%q: technique %q is not among the steps", r.Title, tq)
						}
					}
					if phase := verifyPhase(kind, ""); !strings.HasSuffix(r.Verify, "--only "+phase) {
						t.Errorf("%q: verify %q does not run the %s phase", r.Title, r.Verify, phase)
					}
				}
			}
		})
	}
}

func keys(m map[string][]advice) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestGainsReadTheirOwnNumber: an estimate quotes the number its gain
// reads, and a finding without it gets none rather than a wrong one.
func TestGainsReadTheirOwnNumber(t *testing.T) {
	f := result.Finding{Kind: result.KindErrorRate, Subject: "s",
		Evidence: []result.Evidence{{Metric: "error_rate", Value: 0.25, Unit: "ratio", Source: "load"}}}
	if got := catalogue[f.Kind].estimate(&f); !strings.Contains(got, "25%") {
		t.Errorf("estimate %q does not quote the 25%% error rate", got)
	}
	f.Evidence[0].Metric = "p95"
	if got := catalogue[f.Kind].estimate(&f); got != "" {
		t.Errorf("estimate %q without the error rate in the evidence", got)
	}
	// Conflicts: the first count that is not zero speaks.
	c := result.Finding{Kind: result.KindDBConflicts, Evidence: []result.Evidence{
		{Metric: "deadlocks", Value: 0}, {Metric: "serialization_failures", Value: 0}, {Metric: "lock_timeouts", Value: 7}}}
	if got := catalogue[c.Kind].estimate(&c); !strings.HasPrefix(got, "7 lock timeouts") {
		t.Errorf("conflicts estimate %q, want the 7 lock timeouts", got)
	}
}
