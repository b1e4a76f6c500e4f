package result

// Phase is one phase of the test protocol (warm-up, baseline, load, spike,
// soak, stress, recovery, scalability, bench). Its Series are the phase's
// windows of Run.Series (same t_s, counted from the test's start) without
// their histograms, which the Run's own series carry.
type Phase struct {
	Name       string            `json:"name"`
	Kind       string            `json:"kind"`
	StartS     float64           `json:"start_s"` // offset from the run start
	Summary    Summary           `json:"summary"`
	Series     []Window          `json:"series,omitempty"`
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
	Pass       bool              `json:"pass"`
	Note       string            `json:"note,omitempty"`
	Skipped    bool              `json:"skipped,omitempty"`
	// Users or Rate is the phase's load level (the peak of its ramp).
	Users int     `json:"users,omitempty"`
	Rate  float64 `json:"rate,omitempty"`
	// Inconclusive says the phase's result rests on a saturated load
	// generator: it measured stampede, not the target, and is neither a
	// pass nor a fail (Note says why).
	Inconclusive bool `json:"inconclusive,omitempty"`
	// System is what the watch saw beside this phase (t_s as in Series).
	System *System `json:"system,omitempty"`
}

// Stress is the outcome of the stress phase.
type Stress struct {
	// BreakingPoint is the lowest level that broke, in Unit: the plan's
	// own unit ("iterations/s", or "requests/s" when every iteration is
	// one request, for the rate variant; "users", "× payload",
	// "connections" for the others).
	BreakingPoint float64 `json:"breaking_point"`
	Unit          string  `json:"unit"`
	Limit         string  `json:"limit"` // latency, errors, throughput, generator, none
	// MaxThroughputRPS is the highest throughput a step that held
	// sustained, in requests/s whatever the unit.
	MaxThroughputRPS float64 `json:"max_throughput_rps"`
	// RequestsPerIteration is the plan's mean requests per iteration as
	// measured (1 for one-request scenarios); BreakingPointRPS the
	// breaking point in requests/s (open model).
	RequestsPerIteration float64 `json:"requests_per_iteration,omitempty"`
	BreakingPointRPS     float64 `json:"breaking_point_rps,omitempty"`
	// Precision is the bracket the search ended with: (breaking point −
	// last good) ÷ breaking point; 0 when nothing broke.
	Precision float64 `json:"precision,omitempty"`
	// Closed is the closed-model capacity, measured when the plan asks
	// for it (tests.stress.closed).
	Closed    *ClosedCapacity `json:"closed,omitempty"`
	RecoveryS float64         `json:"recovery_s"` // -1 when it never recovered
	Recovered bool            `json:"recovered"`
	Curve     []StressPoint   `json:"curve"`
	System    string          `json:"system_at_break,omitempty"`
	Variant   string          `json:"variant,omitempty"`
	// LastGood is the highest load that held every limit; the breaking
	// point lies between it and BreakingPoint.
	LastGood float64 `json:"last_good"`
	Why      string  `json:"why,omitempty"` // what broke, with the numbers
	// Knee is the load where the throughput curve bends (Kneedle), 0 when
	// the curve has none.
	Knee         float64  `json:"knee,omitempty"`
	RecoveryLoad float64  `json:"recovery_load,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
	// Network is the network variant's outcome (its curve's loads are
	// the stepped condition's values).
	Network *NetworkStress `json:"network,omitempty"`
	// Resource is what the cpu and memory variants found of the resource
	// they stepped towards.
	Resource *ResourceLimit `json:"resource,omitempty"`
}

// ClosedCapacity is the most throughput users achieve as they double,
// beside the open model's: the two measure one capacity and should agree.
type ClosedCapacity struct {
	MaxThroughputRPS float64 `json:"max_throughput_rps"`
	Users            int     `json:"users"` // the fewest users that reached it (within 5%)
	// Ratio is MaxThroughputRPS ÷ the open model's max_throughput_rps
	// (0 when the open search sustained nothing).
	Ratio float64       `json:"ratio_to_open"`
	Curve []ClosedPoint `json:"curve"`
}

// ClosedPoint is one step of the closed-model capacity search.
type ClosedPoint struct {
	Users     int     `json:"users"`
	RPS       float64 `json:"rps"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	ErrorRate float64 `json:"error_rate"`
	Saturated bool    `json:"generator_saturated,omitempty"`
}

// StressPoint is one step of the stress ramp.
type StressPoint struct {
	Load       float64 `json:"load"`
	RPS        float64 `json:"rps"`
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	ErrorRate  float64 `json:"error_rate"`
	Efficiency float64 `json:"efficiency"`
	OK         bool    `json:"ok"`
	TS         float64 `json:"t_s"`               // when the step started
	Offered    float64 `json:"offered_rps"`       // requests/s asked (open model)
	Limit      string  `json:"limit,omitempty"`   // what broke at this step
	Probe      bool    `json:"probe,omitempty"`   // a bisection probe
	Dropped    int64   `json:"dropped,omitempty"` // open model: iterations no VU could start
	Saturated  bool    `json:"generator_saturated,omitempty"`
	// MaxVUs bounds the step's iterations in flight (open model; 0: the
	// open model's default max_vus) and VUs is the most that ran.
	MaxVUs int `json:"max_vus,omitempty"`
	VUs    int `json:"vus,omitempty"`
	// What the watched process used over the judged windows (the cpu and
	// memory variants): cores (one core = 1), the machine's CPU, peak
	// RSS, and the share of the time the garbage collector took.
	CPUCores float64 `json:"cpu_cores,omitempty"`
	HostCPU  float64 `json:"host_cpu_percent,omitempty"` // the machine's, all cores
	RSSMB    float64 `json:"rss_mb,omitempty"`
	GCPct    float64 `json:"gc_percent,omitempty"`
}

// Soak is the outcome of the endurance phase.
type Soak struct {
	Trend        string   `json:"trend"` // "stable" or "degrading"
	SlopePerHour float64  `json:"slope_per_hour"`
	Metric       string   `json:"metric"`
	PValue       float64  `json:"p_value"`
	Details      []Trend  `json:"details,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
}

// Trend is one metric's trend test.
type Trend struct {
	Metric       string  `json:"metric"`
	Trend        string  `json:"trend"`
	SlopePerHour float64 `json:"slope_per_hour"`
	PValue       float64 `json:"p_value"`
	Unit         string  `json:"unit,omitempty"` // of the metric: ms, ratio, MB
	CILow        float64 `json:"ci_low_per_hour"`
	CIHigh       float64 `json:"ci_high_per_hour"`
	Start        float64 `json:"start"` // the metric's level at the start of the soak
	Points       int     `json:"points"`
}

// Scalability is the outcome of the scalability phase.
type Scalability struct {
	Configs    []ScaleConfig `json:"configs"`
	Efficiency []float64     `json:"efficiency"`
	// LinearityR2 is r², the square of LinearityR, the Pearson
	// correlation between N and throughput; Linear says r² > 0.8 with
	// throughput rising (r > 0). (Runs recorded before these fields held
	// the R² of a line through the origin here, which can be negative.)
	LinearityR2 float64     `json:"linearity_r2"`
	LinearityR  float64     `json:"linearity_r"`
	Linear      bool        `json:"linear"`
	USL         *USL        `json:"usl,omitempty"`
	Drops       []ScaleDrop `json:"drops"`
	Unit        string      `json:"unit,omitempty"` // the configuration key that is N
	Warnings    []string    `json:"warnings,omitempty"`
}

// ScaleConfig is one configuration and what it achieved.
type ScaleConfig struct {
	Name      string            `json:"name"`
	N         float64           `json:"n"`
	Params    map[string]string `json:"params,omitempty"`
	RPS       float64           `json:"rps"`
	P99       float64           `json:"p99_ms"`
	ErrorRate float64           `json:"error_rate"`
}

// USL is a Universal Scalability Law fit.
type USL struct {
	Sigma           float64 `json:"sigma"`
	Kappa           float64 `json:"kappa"`
	Lambda          float64 `json:"lambda"`
	PeakConcurrency float64 `json:"peak_concurrency"` // +Inf encoded as 0 with Unbounded
	Unbounded       bool    `json:"unbounded,omitempty"`
	R2              float64 `json:"r2"`
}

// ScaleDrop marks a configuration step where efficiency fell sharply.
type ScaleDrop struct {
	From    float64 `json:"from"`
	To      float64 `json:"to"`
	DropPct float64 `json:"drop_pct"`
}
