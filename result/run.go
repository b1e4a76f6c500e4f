// Package result defines the Run document: the one JSON-able record that a
// plan run produces and that every other part reads (store, report, compare,
// merge). Its keys are a public contract: snake_case, units in key names,
// versioned by Version. Fields are only ever added; renaming or removing one
// needs a new Version.
//
// The document carries the encoded HDR histograms behind every percentile it
// prints, so two Runs (for example two execution segments of one test) can be
// merged exactly rather than by averaging percentiles.
package result

import (
	"strconv"
	"time"
)

// Version is the current version of the Run document.
const Version = 1

// Model is how a load offers work.
type Model string

// Models of a load.
const (
	// ModelClosed: a number of users, each starting its next iteration
	// when the last one ends, so the system's speed sets the rate.
	ModelClosed Model = "closed"
	// ModelOpen: iterations started on a schedule of arrivals, whatever
	// the system's speed; a late one is measured from its intended start.
	ModelOpen Model = "open"
	// ModelMixed is a Run's model when its loads are of both models.
	ModelMixed Model = "mixed"
)

// Arrivals is how an open model spaces the starts of its iterations.
type Arrivals string

// Arrivals of an open model.
const (
	ArrivalsConstant Arrivals = "constant" // evenly spaced at the rate
	ArrivalsPoisson  Arrivals = "poisson"  // exponential gaps of the rate's mean
)

// Run is the outcome of one run: a load test, a protocol (`stampede test`),
// or a benchmark session. A partial run (interrupted or recovered after a
// crash) is still a valid Run with Aborted set.
type Run struct {
	Version     int               `json:"version"`
	ID          string            `json:"id,omitempty"`
	Kind        string            `json:"kind"` // "load", "test", "bench"
	Plan        string            `json:"plan,omitempty"`
	PlanHash    string            `json:"plan_hash,omitempty"`
	Target      string            `json:"target,omitempty"`
	Model       Model             `json:"model,omitempty"`
	Segment     string            `json:"segment,omitempty"`
	StartedAt   time.Time         `json:"started_at"`
	EndedAt     time.Time         `json:"ended_at"`
	Aborted     bool              `json:"aborted"`
	AbortReason string            `json:"abort_reason,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Analysis is the plan's `analysis:` thresholds the findings used, so
	// a report made later concludes the same way.
	Analysis map[string]float64 `json:"analysis,omitempty"`
	// Ceilings are the device ceilings in Analysis with their sources.
	Ceilings *Ceilings `json:"ceilings,omitempty"`
	Host     *Host     `json:"host,omitempty"`
	Git      *Git      `json:"git,omitempty"`

	Summary    Summary           `json:"summary"`
	Steps      []StepResult      `json:"steps"`
	Scenarios  []ScenarioResult  `json:"scenarios"`
	Errors     []ErrorCount      `json:"errors"`
	Series     []Window          `json:"series"`
	Thresholds []ThresholdResult `json:"thresholds"`
	Generator  Generator         `json:"generator"`
	Warnings   []string          `json:"warnings,omitempty"`
	// Agents is the per-agent breakdown of a test run by several agents
	// (run --agents): the merged numbers above are exact, these say how
	// each part did.
	Agents []Agent `json:"agents,omitempty"`
	// Loads are the named loads of a plan with `loads:`, in plan order.
	Loads []LoadResult `json:"loads,omitempty"`
	// Network is the network conditions the run was shaped by, one a
	// shaped load; none over the plain network.
	Network []Network `json:"network,omitempty"`

	// Sections filled by the watch, the protocol, benchmarks and analysis.
	System          *System          `json:"system,omitempty"`
	Phases          []Phase          `json:"phases,omitempty"`
	Stress          *Stress          `json:"stress,omitempty"`
	Soak            *Soak            `json:"soak,omitempty"`
	Scalability     *Scalability     `json:"scalability,omitempty"`
	Benchmarks      []Benchmark      `json:"benchmarks,omitempty"`
	Findings        []Finding        `json:"findings,omitempty"`
	Recommendations []Recommendation `json:"recommendations,omitempty"`
	NotEvaluated    []NotEvaluated   `json:"not_evaluated,omitempty"`
	Comparison      *Comparison      `json:"comparison,omitempty"`
	// Verdict is "pass", "fail" or "inconclusive" (the run could not be
	// judged: its numbers rest on a saturated load generator);
	// VerdictReason says why when it is not "pass".
	Verdict       Verdict `json:"verdict,omitempty"`
	VerdictReason string  `json:"verdict_reason,omitempty"`
}

// Verdict is the judgement of a Run.
type Verdict string

// Verdicts of a Run.
const (
	VerdictPass = Verdict("pass")
	VerdictFail = Verdict("fail")
	// VerdictInconclusive: the run could not be judged, because what it
	// measured rests on a saturated load generator.
	VerdictInconclusive = Verdict("inconclusive")
)

// Summary is the whole-run view over every step.
type Summary struct {
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	ErrorRate  float64 `json:"error_rate"` // 0..1
	RPS        float64 `json:"rps"`
	DurationS  float64 `json:"duration_s"`
	Iterations int64   `json:"iterations"`
	// Dropped counts open-model iterations whose intended start passed
	// without any VU to run them before the run ended.
	Dropped int64 `json:"dropped_iterations"`
	// Interrupted counts iterations cut short by the end of the graceful
	// stop or an interrupt; their unfinished requests are not measured.
	Interrupted int64   `json:"interrupted_iterations"`
	TargetRPS   float64 `json:"target_rps,omitempty"` // open model: what was asked
	BytesIn     int64   `json:"bytes_in"`
	BytesOut    int64   `json:"bytes_out"`
	Latency     Latency `json:"latency_ms"`
	Service     Latency `json:"service_ms"` // completion − actual send
	StartLag    Latency `json:"start_lag_ms"`
	Phases      Timing  `json:"timing_ms"`              // mean per-request phases
	Hist        string  `json:"hist,omitempty"`         // encoded HDR of latency (µs)
	ServiceH    string  `json:"service_hist,omitempty"` // encoded HDR of service time (µs)
	StartLagH   string  `json:"start_lag_hist,omitempty"`
	MaxVUs      int     `json:"max_vus"`
}

// Latency holds the standard percentile set, in milliseconds.
type Latency struct {
	Min    float64 `json:"min"`
	Mean   float64 `json:"mean"`
	Stddev float64 `json:"stddev"`
	P50    float64 `json:"p50"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
	P999   float64 `json:"p999"`
	Max    float64 `json:"max"`
}

// Timing is the mean duration of each request phase, in milliseconds.
type Timing struct {
	DNS      float64 `json:"dns"`
	Connect  float64 `json:"connect"`
	TLS      float64 `json:"tls"`
	Send     float64 `json:"send"`
	TTFB     float64 `json:"ttfb"`
	Receive  float64 `json:"receive"`
	PoolWait float64 `json:"pool_wait,omitempty"`
}

// StepResult is one step of one scenario.
type StepResult struct {
	Scenario string  `json:"scenario"`
	Step     string  `json:"step"`
	Kind     string  `json:"kind,omitempty"` // "http", "sql"
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	RPS      float64 `json:"rps"`
	Rows     int64   `json:"rows,omitempty"`
	// MessagesOut and MessagesIn count WebSocket and gRPC messages.
	MessagesOut int64 `json:"messages_out,omitempty"`
	MessagesIn  int64 `json:"messages_in,omitempty"`
	BytesIn     int64 `json:"bytes_in"`
	BytesOut    int64 `json:"bytes_out"`
	// Redirects are the redirects the step's requests followed (each an
	// exchange of its own within the step's time); RedirectMS the mean
	// time of one, from its request to its answer.
	Redirects  int64   `json:"redirects,omitempty"`
	RedirectMS float64 `json:"redirect_ms,omitempty"`
	// Hops are the redirects followed, one entry per status and
	// destination, most followed first.
	Hops    []HopResult  `json:"hops,omitempty"`
	Latency Latency      `json:"latency_ms"`
	Phases  Timing       `json:"timing_ms"`
	Errs    []ErrorCount `json:"errors_by_kind,omitempty"`
	Hist    string       `json:"hist,omitempty"`
}

// HopResult is one redirect a step followed: the status that asked for
// it and where it led (a path, or a URL without its query on another
// origin; metrics.OtherHop for the destinations past the step's first
// 16), how often, and the time of its own exchange, from its request to
// its answer.
type HopResult struct {
	Status   int     `json:"status"`
	To       string  `json:"to"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	RPS      float64 `json:"rps"`
	Latency  Latency `json:"latency_ms"`
	Hist     string  `json:"hist,omitempty"`
}

// Label names a hop as the reports and the live outputs show it: the
// status that asked for it and where it led ("302 /home"), or, for the
// entry shared by the destinations past a step's first, that entry's To.
func (h HopResult) Label() string {
	if h.Status == 0 {
		return h.To
	}
	return strconv.Itoa(h.Status) + " " + h.To
}

// ScenarioResult counts the iterations of one scenario.
type ScenarioResult struct {
	Name       string  `json:"name"`
	Weight     int     `json:"weight"`
	Iterations int64   `json:"iterations"`
	Failed     int64   `json:"failed_iterations"`
	Latency    Latency `json:"latency_ms"` // whole iteration
	Hist       string  `json:"hist,omitempty"`
}

// ErrorCount is one kind of error with one example message.
type ErrorCount struct {
	// Scenario and Step say where the errors happened (in Run.Errors;
	// empty in a step's own errors_by_kind and in runs recovered from
	// windows).
	Scenario string `json:"scenario,omitempty"`
	Step     string `json:"step,omitempty"`
	Kind     string `json:"kind"`
	Status   int    `json:"status,omitempty"` // for http_4xx/http_5xx
	Count    int64  `json:"count"`
	Example  string `json:"example"`
}

// Window is one second of the run.
type Window struct {
	TS       float64          `json:"t_s"` // seconds since run start, window start
	Requests int64            `json:"requests"`
	RPS      float64          `json:"rps"`
	VUs      int              `json:"vus"`
	P50      float64          `json:"p50_ms"`
	P95      float64          `json:"p95_ms"`
	P99      float64          `json:"p99_ms"`
	Max      float64          `json:"max_ms"`
	Errors   int64            `json:"errors"`
	ErrKinds map[string]int64 `json:"errors_by_kind,omitempty"`
	Phase    string           `json:"phase,omitempty"`
	Steps    []StepWindow     `json:"steps,omitempty"`
	Hist     string           `json:"hist,omitempty"`
	// Loads is each named load's share of the window, in Run.Loads order.
	Loads []LoadWindow `json:"loads,omitempty"`
}

// StepWindow is one step's share of one window.
type StepWindow struct {
	Index    int     `json:"i"` // index into Run.Steps
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	P50      float64 `json:"p50_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
	Hist     string  `json:"hist,omitempty"`
}

// ThresholdResult is one threshold or SLO and whether it held.
type ThresholdResult struct {
	Expr  string  `json:"expr"`
	Scope string  `json:"scope,omitempty"` // "" overall, else "scenario/step"
	Pass  bool    `json:"pass"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	Abort bool    `json:"abort_on_fail,omitempty"`
}

// Generator is what the load generator saw of itself.
type Generator struct {
	CPUPercent  float64 `json:"cpu_percent"` // of one core, mean over the run
	CPUSeconds  float64 `json:"cpu_s"`
	MaxRSSMB    float64 `json:"max_rss_mb"`
	StartLagP99 float64 `json:"start_lag_p99_ms"`
	Saturated   bool    `json:"saturated"`
	Reason      string  `json:"reason,omitempty"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
}

// Agent is one agent's part of a distributed run.
type Agent struct {
	Segment  string  `json:"segment"` // k/n
	Host     string  `json:"host,omitempty"`
	Requests int64   `json:"requests"`
	RPS      float64 `json:"rps"`
	P99      float64 `json:"p99_ms"`
	// StartLagP99 is the 99th percentile of how late its iterations
	// started (open model).
	StartLagP99 float64 `json:"start_lag_p99_ms"`
	CPUPercent  float64 `json:"cpu_percent"`
	Saturated   bool    `json:"saturated"`
	// ClockOffsetMS is the agent's clock minus the coordinator's, as
	// estimated at the start barrier.
	ClockOffsetMS float64 `json:"clock_offset_ms"`
	// Lost: the agent went silent; its numbers are the windows that
	// arrived before.
	Lost   bool   `json:"lost,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Host describes the machine a run was made on.
type Host struct {
	Hostname   string `json:"hostname,omitempty"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPUModel   string `json:"cpu_model,omitempty"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
}

// Git is the repository state a run was made from, when there is one.
type Git struct {
	Commit string `json:"commit,omitempty"`
	Branch string `json:"branch,omitempty"`
	Dirty  bool   `json:"dirty,omitempty"`
}
