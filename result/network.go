package result

// Network is the network conditions a run's load ran under (a plan's
// `network:` block, as the shaping proxy applied it): a shaped run must
// never be taken for a clean one. Latencies and jitters are added each
// way, bandwidths limit each connection; shares are of connections.
type Network struct {
	// Load names the load shaped in a plan of several loads ("" for the
	// plan's one load).
	Load string `json:"load,omitempty"`
	// Conditions describes them in one line: "latency 50ms each way,
	// 1Mbit/s per connection each way".
	Conditions       string  `json:"conditions"`
	UpLatencyMS      float64 `json:"up_latency_ms,omitempty"`
	DownLatencyMS    float64 `json:"down_latency_ms,omitempty"`
	UpJitterMS       float64 `json:"up_jitter_ms,omitempty"`
	DownJitterMS     float64 `json:"down_jitter_ms,omitempty"`
	UpBandwidthBPS   int64   `json:"up_bandwidth_bps,omitempty"`
	DownBandwidthBPS int64   `json:"down_bandwidth_bps,omitempty"`
	// TotalBandwidthBPS limits all the connections together, each way.
	TotalBandwidthBPS int64   `json:"total_bandwidth_bps,omitempty"`
	Loss              float64 `json:"loss,omitempty"`
	Stall             float64 `json:"stall,omitempty"`
	Resets            float64 `json:"resets,omitempty"`
	ResetAfterS       float64 `json:"reset_after_s,omitempty"`
	SlowCloseMS       float64 `json:"slow_close_ms,omitempty"`
}

// NetworkText is the one line a report prints of a run's conditions;
// "" for a run over the plain network.
func (r *Run) NetworkText() string {
	s := ""
	for i, n := range r.Network {
		if i > 0 {
			s += "; "
		}
		if n.Load != "" {
			s += n.Load + ": "
		}
		s += n.Conditions
	}
	return s
}

// NetworkStress is the outcome of the network stress variant: one
// condition stepped at a fixed load, where the SLO broke, and which
// steps of the plan the condition slows most.
type NetworkStress struct {
	// Condition is the one stepped: latency (ms added each way),
	// bandwidth (Mbit/s per connection) or loss (% of connections).
	Condition string        `json:"condition"`
	Unit      string        `json:"unit"`
	Steps     []NetworkStep `json:"steps"`
	// LastHeld and BrokeAt are the values of the last step that held
	// and the first that broke (in Unit; BrokeAt is omitted when
	// nothing broke); BreaksAt is where the broken latency SLO is
	// crossed, interpolated between them (0 when the break was not a
	// latency one, or cannot be placed).
	LastHeld float64 `json:"last_held"`
	BrokeAt  float64 `json:"broke_at,omitempty"`
	BreaksAt float64 `json:"breaks_at,omitempty"`
	// Summary says it in a sentence: "p95 over 500 ms once added latency
	// passes 120 ms".
	Summary string `json:"summary"`
	// Sensitive are the plan's steps the condition slowed most, worst
	// first (at most five).
	Sensitive []NetworkSensitivity `json:"sensitive,omitempty"`
	// Chattiness is each scenario's sequential round trips per
	// iteration, as measured: the iteration's added time over the added
	// round trip (latency condition only).
	Chattiness []ScenarioRoundTrips `json:"chattiness,omitempty"`
}

// NetworkStep is one step of the network stress variant.
type NetworkStep struct {
	Value      float64 `json:"value"`
	Conditions string  `json:"conditions"`
	RPS        float64 `json:"rps"`
	P50        float64 `json:"p50_ms"`
	P95        float64 `json:"p95_ms"`
	P99        float64 `json:"p99_ms"`
	ErrorRate  float64 `json:"error_rate"`
	OK         bool    `json:"ok"`
	Limit      string  `json:"limit,omitempty"`
	Why        string  `json:"why,omitempty"`
}

// NetworkSensitivity is how much one step of the plan slowed from the
// first network step to the last one measured.
type NetworkSensitivity struct {
	Scenario string `json:"scenario"`
	Step     string `json:"step"`
	// AddedMS is the rise of the step's mean latency.
	AddedMS float64 `json:"added_ms"`
	// RoundTrips is AddedMS over the added round trip (latency: each
	// way's delay twice): 1 for a request on an open connection, more
	// for one that connects, follows redirects or waits on several
	// exchanges.
	RoundTrips float64 `json:"round_trips,omitempty"`
	// BytesPerResponse is the step's mean response size (bandwidth).
	BytesPerResponse float64 `json:"bytes_per_response,omitempty"`
}

// ScenarioRoundTrips is one scenario's sequential round trips per
// iteration.
type ScenarioRoundTrips struct {
	Scenario             string  `json:"scenario"`
	RequestsPerIteration float64 `json:"requests_per_iteration"`
	RoundTrips           float64 `json:"round_trips"`
	AddedMS              float64 `json:"added_ms"`
}
