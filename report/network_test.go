package report

import (
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// A shaped run says so in every report, so it is not read as a run over
// the plain network; a plain one says nothing of networks.
func TestReportsNameTheNetworkConditions(t *testing.T) {
	shaped := &result.Run{Version: result.Version, Kind: "load", Model: "closed",
		Network: []result.Network{{Conditions: "latency 50ms each way"}, {Load: "mobile", Conditions: "loss 2% of connections"}}}
	const want = "latency 50ms each way; mobile: loss 2% of connections"
	for name, render := range map[string]func(*strings.Builder, *result.Run) error{
		"console":  func(b *strings.Builder, r *result.Run) error { return Console(b, r) },
		"markdown": func(b *strings.Builder, r *result.Run) error { return Markdown(b, r) },
		"html":     func(b *strings.Builder, r *result.Run) error { return HTML(b, r) },
	} {
		var b strings.Builder
		if err := render(&b, shaped); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s report of a shaped run lacks %q", name, want)
		}
		b.Reset()
		plain := *shaped
		plain.Network = nil
		if err := render(&b, &plain); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(b.String(), "network conditions") {
			t.Errorf("%s report of a plain run speaks of network conditions", name)
		}
	}
}
