package report

import (
	stdbytes "bytes"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// Every renderer shows a run's loads, one row each, and their thresholds
// marked with their load.
func TestReportsShowLoads(t *testing.T) {
	r := &result.Run{Version: 1, Kind: "load", Plan: "two", Model: "mixed",
		Summary: result.Summary{Requests: 150, DurationS: 2, RPS: 75},
		Loads: []result.LoadResult{
			{Name: "people", Model: "closed", Scenarios: []string{"browse"}, DurationS: 2, Requests: 100, RPS: 50, MaxVUs: 2,
				Latency: result.Latency{P50: 1.5, P95: 2.5, P99: 3.5}},
			{Name: "machines", Model: "open", Scenarios: []string{"api"}, StartS: 1, DurationS: 1, Requests: 50, RPS: 50, TargetRPS: 50,
				Tags:       map[string]string{"tier": "1", "team": "payments"},
				Latency:    result.Latency{P99: 7.25},
				Thresholds: []result.ThresholdResult{{Expr: "p99 < 5ms", Pass: false, Value: 7.25, Unit: "ms"}}},
		}}
	for _, tc := range []struct {
		name   string
		render func(*stdbytes.Buffer) error
		want   []string
	}{
		{"console", func(b *stdbytes.Buffer) error { return Console(b, r) }, []string{"loads", "people", "closed", "machines", "open", "7.25", "✗ load machines: p99 < 5ms", "team=payments tier=1"}},
		{"markdown", func(b *stdbytes.Buffer) error { return Markdown(b, r) }, []string{"| people | closed | 0s | 100 |", "| machines | open | 1s | 50 |", "| team=payments tier=1 |", "load machines"}},
		{"html", func(b *stdbytes.Buffer) error { return HTML(b, r) }, []string{`<table class="loads">`, "<td>people</td><td>closed</td>", "<td>machines</td><td>open</td>", "<th>tags</th>", "<td>team=payments tier=1</td>", "load machines"}},
	} {
		var b stdbytes.Buffer
		if err := tc.render(&b); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s lacks %q", tc.name, w)
			}
		}
	}
}
