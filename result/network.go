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
	Loss             float64 `json:"loss,omitempty"`
	Stall            float64 `json:"stall,omitempty"`
	Resets           float64 `json:"resets,omitempty"`
	ResetAfterS      float64 `json:"reset_after_s,omitempty"`
	SlowCloseMS      float64 `json:"slow_close_ms,omitempty"`
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
