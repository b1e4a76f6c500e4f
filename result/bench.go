package result

// Benchmark is one benchmarked command or Go benchmark.
type Benchmark struct {
	Name      string            `json:"name,omitempty"`
	Command   string            `json:"command"`
	Level     string            `json:"level,omitempty"` // micro, component, system
	Unit      string            `json:"unit,omitempty"`
	Runs      int               `json:"runs"`
	MeanS     float64           `json:"mean_s"`
	StddevS   float64           `json:"stddev_s"`
	MedianS   float64           `json:"median_s"`
	MinS      float64           `json:"min_s"`
	MaxS      float64           `json:"max_s"`
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
}
