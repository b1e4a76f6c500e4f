package report

import (
	stdbytes "bytes"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// The console says which steps followed redirects, how many and how long
// one took; steps that followed none say nothing.
func TestConsoleShowsRedirects(t *testing.T) {
	r := &result.Run{Version: 1, Kind: "load", Plan: "r", Model: "closed", Summary: result.Summary{Requests: 20, DurationS: 1},
		Steps: []result.StepResult{
			{Scenario: "s", Step: "login", Requests: 10, Redirects: 20, RedirectMS: 1.5},
			{Scenario: "s", Step: "home", Requests: 10},
		}}
	var b stdbytes.Buffer
	if err := Console(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "s / login followed 20 redirects (2.00 a request), 1.50ms each") || strings.Contains(b.String(), "home followed") {
		t.Errorf("console:\n%s", b.String())
	}
}
