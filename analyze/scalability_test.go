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
	// Pearson r by hand: N̄ = 3.75, X̄ = 230;
	// dN = −2.75, −1.75, 0.25, 4.25; dX = −130, −30, 70, 90;
	// Σ dN·dX = 357.5 + 52.5 + 17.5 + 382.5 = 810; Σ dN² = 28.75; Σ dX² = 30800.
	wantR := 810 / math.Sqrt(28.75*30800)
	if math.Abs(s.LinearityR-wantR) > 1e-12 || math.Abs(s.LinearityR2-wantR*wantR) > 1e-12 {
		t.Errorf("linearity r = %v r² = %v, want %v, %v", s.LinearityR, s.LinearityR2, wantR, wantR*wantR)
	}
	if s.Linear != (wantR*wantR > LinearMinR2) {
		t.Errorf("linear = %v with r² %v", s.Linear, wantR*wantR)
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
	if math.Abs(s.LinearityR2-1) > 1e-12 || math.Abs(s.LinearityR-1) > 1e-12 || !s.Linear || len(s.Drops) != 0 {
		t.Errorf("linear: r %v r² %v linear %v drops %v", s.LinearityR, s.LinearityR2, s.Linear, s.Drops)
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
