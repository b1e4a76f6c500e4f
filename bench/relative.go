package bench

import (
	"fmt"
	"math"
)

// Relative compares two command results: which is faster, by what ratio of
// means (with Fieller's 95% interval), and whether the Mann–Whitney U test
// finds the difference significant at α = 0.05.
type Relative struct {
	Reference, Other int // indexes into Session.Results
	Faster, Slower   int // the same two, ordered by mean
	// Ratio is mean(Slower) ÷ mean(Faster), ≥ 1, with its interval.
	Ratio RatioCI
	Test  UTest
	// Change is mean(Other) ÷ mean(Reference) − 1: > 0 when Other is slower.
	Change float64
	// Consistent is true when the means and the medians agree on which
	// command is faster. When they do not, a few outliers decide the
	// means, and no verdict is given even if the U test rejects.
	Consistent bool
}

// Significant is the verdict: the U test rejects "same distribution" at
// α = 0.05 and means and medians agree on the direction.
func (r Relative) Significant() bool { return r.Test.Significant && r.Consistent }

// compareResults compares every result with the first.
func compareResults(rs []*Result) []Relative {
	var out []Relative
	for i := 1; i < len(rs); i++ {
		if len(rs[0].Wall) == 0 || len(rs[i].Wall) == 0 {
			continue
		}
		out = append(out, Compare2(rs, 0, i))
	}
	return out
}

// Compare2 compares rs[other] with rs[ref].
func Compare2(rs []*Result, ref, other int) Relative {
	a, b := rs[ref].Wall, rs[other].Wall
	ma, mb := Describe(a).Mean, Describe(b).Mean
	r := Relative{Reference: ref, Other: other, Faster: ref, Slower: other, Test: MannWhitney(a, b)}
	if ma > 0 {
		r.Change = mb/ma - 1
	} else if mb > 0 {
		r.Change = math.Inf(1)
	}
	if mb < ma {
		r.Faster, r.Slower = other, ref
	}
	da, db := Describe(a).Median, Describe(b).Median
	r.Consistent = (mb > ma) == (db > da) && (mb < ma) == (db < da)
	r.Ratio = FiellerCI(rs[r.Slower].Wall, rs[r.Faster].Wall, Confidence)
	return r
}

// Sentence says the comparison in words, hyperfine's way with a verdict:
// "'a' is 1.52 ± 0.04 times faster than 'b' (p=0.002, 95% CI 1.48…1.56)",
// or "no significant difference" when the U test does not reject.
func (r Relative) Sentence(rs []*Result) string {
	f, s := rs[r.Faster].Command.Label(), rs[r.Slower].Command.Label()
	ratio := fmtRatio(r.Ratio)
	if r.Test.Significant && !r.Consistent {
		return fmt.Sprintf("'%s' vs '%s': no verdict: the U test finds a difference (%s) but the means and the medians disagree on which is faster; outliers decide the means (ratio of means %s)",
			rs[r.Reference].Command.Label(), rs[r.Other].Command.Label(), fmtP(r.Test.P), ratio)
	}
	if !r.Test.Significant {
		return fmt.Sprintf("'%s' vs '%s': no significant difference (%s, ratio of means %s)",
			rs[r.Reference].Command.Label(), rs[r.Other].Command.Label(), fmtP(r.Test.P), ratio)
	}
	return fmt.Sprintf("'%s' is %s times faster than '%s' (%s%s)", f, ratio, s, fmtP(r.Test.P), fmtCI(r.Ratio))
}

func fmtRatio(r RatioCI) string {
	if !r.Bounded {
		return fmt.Sprintf("%.2f ± ∞", r.Ratio)
	}
	return fmt.Sprintf("%.2f ± %.2f", r.Ratio, r.HalfWidth())
}

func fmtCI(r RatioCI) string {
	if !r.Bounded {
		return ", 95% CI unbounded"
	}
	return fmt.Sprintf(", 95%% CI %.2f…%.2f", r.Lo, r.Hi)
}

// fmtP prints "p=0.012", or "p<0.001" for smaller values.
func fmtP(p float64) string {
	if p < 0.001 {
		return "p<0.001"
	}
	return fmt.Sprintf("p=%.3f", p)
}
