package analyze

import (
	"fmt"

	"github.com/stampede-perf/stampede/result"
)

const addBenchmarks = "benchmarks: [ { name: …, go: ./… } ]"

func benchName(b *result.Benchmark) string {
	if b.Name != "" {
		return b.Name
	}
	return b.Command
}

// isGoBench reports whether b is a Go benchmark (times per operation)
// rather than a command (times per run).
func isGoBench(b *result.Benchmark) bool {
	_, ok := b.Samples["sec/op"]
	return b.Package != "" || ok
}

// ruleBenchVariance: a benchmark's runs vary more than bench_cv (default
// 0.2) of their mean (stddev/mean), so comparisons of it need many more
// runs to see a real change. Medium from twice the threshold, else low.
func ruleBenchVariance(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	if len(ev.run.Benchmarks) == 0 {
		return nil, notEvaluated("the run has no benchmarks", addBenchmarks)
	}
	limit := ev.cfg["bench_cv"]
	var out []result.Finding
	for i := range ev.run.Benchmarks {
		b := &ev.run.Benchmarks[i]
		if b.Runs < 2 || b.MeanS <= 0 {
			continue
		}
		cv := b.StddevS / b.MeanS
		if cv <= limit {
			continue
		}
		ratio := ratioOver(cv, limit)
		sev := SeverityLow
		if ratio >= 2 {
			sev = SeverityMedium
		}
		f := result.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("Benchmark %s is noisy: its runs vary by %s of their mean", benchName(b), percent(cv)),
			Subject:  benchName(b),
			Detail:   "With this much variation only large changes can be told from noise; the machine was busy, the CPU frequency changed, or the code's cost depends on state.",
			Evidence: []result.Evidence{
				{Metric: "cv", Value: cv, Unit: "ratio", Source: "benchmark " + benchName(b), Threshold: limit},
				{Metric: "runs", Value: float64(b.Runs), Source: "benchmark " + benchName(b)},
			},
			Confidence: confidence(ratio, b.Runs),
		}
		if b.Outliers > 0 {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "outliers", Value: float64(b.Outliers), Source: "benchmark " + benchName(b)})
		}
		out = append(out, f)
	}
	return out, nil
}

// ruleBenchMemory: a Go benchmark allocates more than bench_bytes_per_op
// (default 1 MiB) per operation. High from ten times the threshold.
func ruleBenchMemory(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	if len(ev.run.Benchmarks) == 0 {
		return nil, notEvaluated("the run has no benchmarks", addBenchmarks)
	}
	limit := ev.cfg["bench_bytes_per_op"]
	var out []result.Finding
	for i := range ev.run.Benchmarks {
		b := &ev.run.Benchmarks[i]
		if b.BytesOp <= limit {
			continue
		}
		ratio := ratioOver(b.BytesOp, limit)
		sev := SeverityMedium
		if ratio >= 10 {
			sev = SeverityHigh
		}
		out = append(out, result.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("Benchmark %s allocates %s MiB per operation (%s allocations)", benchName(b), num(b.BytesOp/(1<<20)), num(b.AllocsOp)),
			Subject:  benchName(b),
			Detail:   "Every operation allocates a lot of memory that the garbage collector must then reclaim.",
			Evidence: []result.Evidence{
				{Metric: "bytes_per_op", Value: b.BytesOp, Unit: "B", Source: "benchmark " + benchName(b), Threshold: limit},
				{Metric: "allocs_per_op", Value: b.AllocsOp, Source: "benchmark " + benchName(b)},
			},
			Confidence: confidence(ratio, b.Runs),
		})
	}
	return out, nil
}

// ruleBenchSlowOp: one operation of a Go benchmark (or one run of a
// command) takes longer than bench_op_ms (default 100 ms) on average.
// Medium from ten times the threshold, else low.
func ruleBenchSlowOp(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	if len(ev.run.Benchmarks) == 0 {
		return nil, notEvaluated("the run has no benchmarks", addBenchmarks)
	}
	limit := ev.cfg["bench_op_ms"]
	var out []result.Finding
	for i := range ev.run.Benchmarks {
		b := &ev.run.Benchmarks[i]
		ms := 1000 * b.MeanS
		if ms <= limit {
			continue
		}
		what := "a run"
		if isGoBench(b) {
			what = "an operation"
		}
		ratio := ratioOver(ms, limit)
		sev := SeverityLow
		if ratio >= 10 {
			sev = SeverityMedium
		}
		out = append(out, result.Finding{
			Severity: sev,
			Title:    fmt.Sprintf("Benchmark %s takes %s ms for %s", benchName(b), num(ms), what),
			Subject:  benchName(b),
			Detail:   "The operation is slow enough to be felt where it is called; a CPU profile of the benchmark shows where the time goes.",
			Evidence: []result.Evidence{
				{Metric: "mean_ms", Value: ms, Unit: "ms", Source: "benchmark " + benchName(b), Threshold: limit},
				{Metric: "median_ms", Value: 1000 * b.MedianS, Unit: "ms", Source: "benchmark " + benchName(b)},
			},
			Confidence: confidence(ratio, b.Runs),
		})
	}
	return out, nil
}
