package result

// Benchmark is one benchmarked command or Go benchmark. Times are in
// seconds: for a command, per run (shell start-up subtracted); for a Go
// benchmark, per operation.
type Benchmark struct {
	Name      string            `json:"name,omitempty"`
	Command   string            `json:"command"`
	Package   string            `json:"package,omitempty"` // Go benchmarks: the import path
	Level     string            `json:"level,omitempty"`   // micro, component, system
	Unit      string            `json:"unit,omitempty"`
	Runs      int               `json:"runs"`
	Warmup    int               `json:"warmup,omitempty"`
	MeanS     float64           `json:"mean_s"`
	StddevS   float64           `json:"stddev_s"`
	MedianS   float64           `json:"median_s"`
	MinS      float64           `json:"min_s"`
	MaxS      float64           `json:"max_s"`
	P95S      float64           `json:"p95_s"` // nearest-rank percentiles of the runs' times
	P99S      float64           `json:"p99_s"`
	OpsPerS   float64           `json:"ops_per_s"` // 1 / mean_s: operations (runs of a command) per second
	UserS     float64           `json:"user_s"`
	SystemS   float64           `json:"system_s"`
	MaxRSSMB  float64           `json:"max_rss_mb"`
	BytesOp   float64           `json:"bytes_per_op,omitempty"`
	AllocsOp  float64           `json:"allocs_per_op,omitempty"`
	Outliers  int               `json:"outliers"`
	ExitCodes []int             `json:"exit_codes,omitempty"`
	Times     []float64         `json:"times_s,omitempty"`
	Params    map[string]string `json:"parameters,omitempty"`
	Notes     []string          `json:"notes,omitempty"`

	// OutlierRuns are the indexes into Times of the outlying runs; they
	// are flagged, never removed.
	OutlierRuns []int `json:"outlier_runs,omitempty"`
	// ShellOverheadS is the mean shell start-up time that was subtracted
	// from every run (0 when commands ran without a shell).
	ShellOverheadS float64 `json:"shell_overhead_s,omitempty"`
	// Samples holds every run's value per unit (Go benchmarks: "sec/op",
	// "B/op", "allocs/op", custom units), so comparisons need no
	// re-parsing of `go test` output.
	Samples map[string][]float64 `json:"samples,omitempty"`
	// Warnings explain what may make the numbers misleading (outliers,
	// failed runs, too-short runs).
	Warnings []string `json:"warnings,omitempty"`
	// MaxRSSFloorMB is the spawning process's own peak RSS: the kernel
	// charges a child with its parent's peak until exec, so a max_rss_mb
	// at this floor is only an upper bound.
	MaxRSSFloorMB float64 `json:"max_rss_floor_mb,omitempty"`
	// Partial is set when the benchmark stopped before all its planned
	// runs (interrupted or failed).
	Partial bool `json:"partial,omitempty"`
}
