package result

// LoadResult is one load of a plan's `loads:` block: what it was asked
// (model, scenarios, start, target rate) and what it measured. Its
// requests are those of its own scenarios' steps, so the loads of a run
// add up to its summary; Hist is the merge of those steps' histograms,
// behind every percentile shown.
type LoadResult struct {
	Name      string   `json:"name"`
	Model     Model    `json:"model"` // closed or open
	Scenarios []string `json:"scenarios"`
	// Tags are the plan's tags of the load.
	Tags map[string]string `json:"tags,omitempty"`
	// StartS is when the load started, in seconds from the run's start;
	// DurationS how long it ran from there.
	StartS     float64 `json:"start_s"`
	DurationS  float64 `json:"duration_s"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	ErrorRate  float64 `json:"error_rate"` // 0..1
	RPS        float64 `json:"rps"`        // requests over DurationS
	Iterations int64   `json:"iterations"`
	Latency    Latency `json:"latency_ms"`
	Hist       string  `json:"hist,omitempty"`
	// TargetRPS is the open model's asked rate, iterations per second over
	// the load's duration.
	TargetRPS   float64 `json:"target_rps,omitempty"`
	MaxVUs      int     `json:"max_vus"`
	Dropped     int64   `json:"dropped_iterations"`
	Interrupted int64   `json:"interrupted_iterations"`
	// Thresholds are the load's own, judged on its requests alone.
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
}

// LoadWindow is one load's share of one window. Its requests and
// percentiles are those of its steps' windows (their histograms are in
// the window's steps); VUs and RPS are what its executor saw.
type LoadWindow struct {
	Index    int     `json:"i"` // index into Run.Loads
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	RPS      float64 `json:"rps"`
	VUs      int     `json:"vus"`
	P50      float64 `json:"p50_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
}
