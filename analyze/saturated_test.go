package analyze

import (
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// TestSaturatedGeneratorDiscountsItsMeasurements: beside a saturated
// generator's finding, latency and throughput findings are low and say
// why; findings from the target's profiles keep their severity.
func TestSaturatedGeneratorDiscountsItsMeasurements(t *testing.T) {
	fs := []result.Finding{
		{Kind: result.KindGeneratorSaturated, Severity: SeverityHigh},
		{Kind: result.KindLatencyKnee, Severity: SeverityHigh, Confidence: 0.9},
		{Kind: result.KindSlowResponse, Severity: SeverityMedium},
		{Kind: result.KindCPUHotspot, Severity: SeverityHigh},
		{Kind: result.KindErrorRate, Severity: SeverityHigh},
	}
	discountSaturated(fs)
	want := []result.Severity{SeverityHigh, SeverityLow, SeverityLow, SeverityHigh, SeverityHigh}
	for i, f := range fs {
		if f.Severity != want[i] {
			t.Errorf("%s: %s, want %s", f.Kind, f.Severity, want[i])
		}
	}
	if !strings.Contains(fs[1].Detail, "saturated generator") || !strings.Contains(fs[1].Detail, "(it was high)") || fs[1].Confidence != 0.45 {
		t.Errorf("detail %q, confidence %v (want half of 0.9)", fs[1].Detail, fs[1].Confidence)
	}
	// Without the generator's finding nothing changes.
	fs = []result.Finding{{Kind: result.KindLatencyKnee, Severity: SeverityHigh}}
	discountSaturated(fs)
	if fs[0].Severity != SeverityHigh {
		t.Errorf("discounted without a saturated generator: %+v", fs[0])
	}
}

// TestStarvedProcessIsNotIdle: a process with little CPU that delivered
// half the asked rate was starved (or blocked), not idle: its hotspot is
// judged by its share.
func TestStarvedProcessIsNotIdle(t *testing.T) {
	r := cleanRun()
	r.System.Module = svcModule
	r.System.Process.CPUPercent.Mean = 9
	r.Summary.RPS, r.Summary.TargetRPS, r.Summary.Service.Mean = 65, 128, 3900
	r.System.Hotspots = []result.Hotspot{{Function: "(*catalog).catalogETag", Package: svc + "/api", Own: true, FlatPct: 2, CumPct: 91, RequestPct: 91}}
	r.System.RequestCPUPct = 95
	fs, _ := ruleHotspot(&evaluation{run: r, cfg: map[string]float64{"hotspot_share": 0.3}})
	if len(fs) != 1 || fs[0].Severity != SeverityHigh {
		t.Errorf("%+v", fs)
	}
	r.Summary.RPS = 127 // it kept up: idle, and 91% of its little CPU is small beside 3.9 s
	fs, _ = ruleHotspot(&evaluation{run: r, cfg: map[string]float64{"hotspot_share": 0.3}})
	if len(fs) != 1 || fs[0].Severity != SeverityLow {
		t.Errorf("%+v", fs)
	}
}
