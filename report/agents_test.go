package report

import (
	stdbytes "bytes"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

func TestConsoleAgents(t *testing.T) {
	r := &result.Run{Version: result.Version, Kind: "load", Plan: "p", Agents: []result.Agent{
		{Segment: "1/2", Host: "a", Requests: 100, RPS: 10, P99: 3.25, ClockOffsetMS: 0.4},
		{Segment: "2/2", Host: "b", Requests: 40, Lost: true, Reason: "no heartbeat for 5s"},
	}}
	var b stdbytes.Buffer
	if err := Console(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"\nagents\n", "1/2", "3.25", "+0.4", "lost: no heartbeat for 5s"} {
		if !strings.Contains(out, want) {
			t.Errorf("the console lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	Console(&b, &result.Run{Version: result.Version, Kind: "load", Plan: "p"})
	if strings.Contains(b.String(), "\nagents\n") {
		t.Error("a run of one process shows an agents section")
	}
}
