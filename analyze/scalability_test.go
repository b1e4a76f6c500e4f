package analyze

import (
	"math"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

func TestScalabilityHandWorked(t *testing.T) {
	// Out of order on purpose: the analysis sorts by N.
	cs := []result.ScaleConfig{{N: 4, RPS: 300}, {N: 1, RPS: 100}, {N: 8, RPS: 320}, {N: 2, RPS: 200}}
	s := Scalability(cs)
	wantEff := []float64{1, 1, 0.75, 0.4}
	for i, e := range wantEff {
		if math.Abs(s.Efficiency[i]-e) > 1e-12 {
			t.Errorf("efficiency[%d] (N=%v) = %v, want %v", i, s.Configs[i].N, s.Efficiency[i], e)
		}
	}
	// b = ΣNX/ΣN² = 4260/85; R² = 1 − Σ(X − bN)²/Σ(X − 230)².
	b := 4260.0 / 85
	res := scaleSq(100-b) + scaleSq(200-2*b) + scaleSq(300-4*b) + scaleSq(320-8*b)
	tot := scaleSq(100-230) + scaleSq(200-230) + scaleSq(300-230) + scaleSq(320-230)
	if want := 1 - res/tot; math.Abs(s.LinearityR2-want) > 1e-12 {
		t.Errorf("linearity R² = %v, want %v", s.LinearityR2, want)
	}
	if len(s.Drops) != 2 || s.Drops[0].From != 2 || s.Drops[0].To != 4 || math.Abs(s.Drops[0].DropPct-25) > 1e-9 ||
		s.Drops[1].From != 4 || s.Drops[1].To != 8 || math.Abs(s.Drops[1].DropPct-100*(0.75-0.4)/0.75) > 1e-9 {
		t.Errorf("drops = %+v", s.Drops)
	}
	if s.USL == nil || s.USL.Kappa <= 0 || s.USL.PeakConcurrency <= 0 {
		t.Errorf("a curve that flattens should give κ > 0 and a peak: %+v", s.USL)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("4 points with N=1: warnings %q", s.Warnings)
	}
	if s := Scalability(cs[:3]); !scaleHasWarning(s.Warnings, "poorly determined") {
		t.Errorf("3 points: warnings %q", s.Warnings)
	}
}

func TestScalabilityLinear(t *testing.T) {
	s := Scalability([]result.ScaleConfig{{N: 1, RPS: 100}, {N: 2, RPS: 200}, {N: 4, RPS: 400}, {N: 8, RPS: 800}, {N: 16, RPS: 1600}})
	if math.Abs(s.LinearityR2-1) > 1e-12 || len(s.Drops) != 0 {
		t.Errorf("linear: R² %v drops %v", s.LinearityR2, s.Drops)
	}
	if s.USL == nil || !s.USL.Unbounded || s.USL.Sigma > 1e-6 {
		t.Errorf("linear: USL %+v", s.USL)
	}
}

func TestScalabilityWithoutOneUnit(t *testing.T) {
	s := Scalability([]result.ScaleConfig{{N: 2, RPS: 200}, {N: 4, RPS: 300}})
	if s.Efficiency[0] != 1 || s.Efficiency[1] != 0.75 {
		t.Errorf("efficiency relative to N=2: %v", s.Efficiency)
	}
	if !scaleHasWarning(s.Warnings, "no one-unit configuration") || !scaleHasWarning(s.Warnings, "κ = 0") {
		t.Errorf("warnings %q", s.Warnings)
	}
	if s := Scalability(nil); s.USL != nil || len(s.Warnings) == 0 {
		t.Errorf("empty: %+v", s)
	}
}

func scaleSq(v float64) float64 { return v * v }

func scaleHasWarning(ws []string, part string) bool {
	for _, w := range ws {
		if strings.Contains(w, part) {
			return true
		}
	}
	return false
}
