package bench

import (
	"fmt"
	"math"
	"slices"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"

	"github.com/stampede-perf/stampede/result"
)

// CompareOptions configure Compare.
type CompareOptions struct {
	// Threshold is the regression gate as a fraction (0.05 for 5%): a
	// change that is significant, in the worse direction for its unit,
	// and larger than Threshold marks its row as a regression. 0 disables
	// the gate.
	Threshold float64
}

// Comparison is benchstat's view of one or more sets: per package and
// unit a table with, per benchmark, each set's median and 95% interval
// and, against the first set, the change and its significance.
type Comparison struct {
	Cols      []string // set labels; the first is the baseline
	Tables    []*Table
	Threshold float64
}

// Table holds the benchmarks of one package in one unit.
type Table struct {
	Pkg    string
	Config []Config // the baseline's file configuration for Pkg
	Unit   string
	// Better is -1 when lower values are better (sec/op, B/op,
	// allocs/op), +1 when higher are (B/s), 0 when unknown.
	Better     int
	Assumption benchmath.Assumption
	Rows       []*Row
	// Geomean summarises each column; nil with fewer than 2 rows.
	Geomean []*Geomean
}

// Row is one benchmark across the sets.
type Row struct {
	Name  string
	Cells []*Cell  // one per set; nil where that set lacks the benchmark
	Delta []*Delta // one per set; nil for the baseline and where a side is missing
}

// Cell summarises one sample.
type Cell struct {
	Values   []float64 // sorted
	Summary  benchmath.Summary
	Warnings []string
}

// Delta is one set compared with the baseline.
type Delta struct {
	benchmath.Comparison
	Significant bool    // the U test rejects "same distribution" at α = 0.05
	Change      float64 // new center ÷ old center − 1
	Text        string  // benchstat's rendering: "~", "+12.34%", "0.00%" or "?"
	// Verdict is "~" (no significant difference), "better", "worse", or
	// "?" (direction of the unit unknown, or a zero baseline).
	Verdict    result.Change
	Regression bool
}

// Geomean is the geometric mean of a column's centers and, for all but
// the baseline, of the ratios to the baseline.
type Geomean struct {
	HasValue bool
	Value    float64
	HasRatio bool
	Ratio    float64
	Warnings []string
}

// Summarize is the one-column table of a set: medians and intervals.
func Summarize(s *Set) *Comparison { return tabulate([]*Set{s}, CompareOptions{}) }

// Compare compares new with old with benchstat's method.
func Compare(old, new *Set, o CompareOptions) *Comparison {
	return tabulate([]*Set{old, new}, o)
}

func tabulate(sets []*Set, o CompareOptions) *Comparison {
	c := &Comparison{Threshold: o.Threshold}
	units := benchfmt.UnitMetadataMap{}
	for _, s := range sets {
		c.Cols = append(c.Cols, s.Label)
		for k, v := range s.Units {
			if _, ok := units[k]; !ok {
				units[k] = v
			}
		}
	}
	th := benchmath.DefaultThresholds
	th.CompareAlpha = Alpha

	// Tables by package then unit, rows by name, all in first-seen order.
	type tkey struct{ pkg, unit string }
	var tkeys []tkey
	rowNames := map[tkey][]string{}
	seenRow := map[tkey]map[string]bool{}
	for _, s := range sets {
		for _, se := range s.Series {
			tk := tkey{se.Pkg, se.Unit}
			if seenRow[tk] == nil {
				tkeys = append(tkeys, tk)
				seenRow[tk] = map[string]bool{}
			}
			if !seenRow[tk][se.Name] {
				seenRow[tk][se.Name] = true
				rowNames[tk] = append(rowNames[tk], se.Name)
			}
		}
	}
	// Group the tables of one package together, keeping first-seen order.
	var pkgs []string
	for _, tk := range tkeys {
		if !slices.Contains(pkgs, tk.pkg) {
			pkgs = append(pkgs, tk.pkg)
		}
	}
	for _, pkg := range pkgs {
		for _, tk := range tkeys {
			if tk.pkg != pkg {
				continue
			}
			t := &Table{Pkg: pkg, Unit: tk.unit, Better: units.GetBetter(tk.unit), Assumption: units.GetAssumption(tk.unit)}
			for _, s := range sets {
				if cfg, ok := s.Configs[pkg]; ok {
					t.Config = trimConfig(cfg)
					break
				}
			}
			for _, name := range rowNames[tk] {
				t.Rows = append(t.Rows, makeRow(sets, Key{pkg, name}, tk.unit, t, &th, o))
			}
			if len(t.Rows) > 1 {
				t.Geomean = geomeans(t, len(sets))
			}
			c.Tables = append(c.Tables, t)
		}
	}
	return c
}

func makeRow(sets []*Set, k Key, unit string, t *Table, th *benchmath.Thresholds, o CompareOptions) *Row {
	r := &Row{Name: k.Name, Cells: make([]*Cell, len(sets)), Delta: make([]*Delta, len(sets))}
	samples := make([]*benchmath.Sample, len(sets))
	for i, s := range sets {
		se := s.Get(k, unit)
		if se == nil || len(se.Values) == 0 {
			continue
		}
		smp := benchmath.NewSample(slices.Clone(se.Values), th)
		samples[i] = smp
		sum := t.Assumption.Summary(smp, Confidence)
		cell := &Cell{Values: smp.Values, Summary: sum}
		cell.Warnings = append(errStrings(smp.Warnings), errStrings(sum.Warnings)...)
		r.Cells[i] = cell
	}
	for i := 1; i < len(sets); i++ {
		if samples[0] == nil || samples[i] == nil {
			continue
		}
		cmp := t.Assumption.Compare(samples[0], samples[i])
		old, new := r.Cells[0].Summary.Center, r.Cells[i].Summary.Center
		d := &Delta{Comparison: cmp, Significant: !(cmp.P > cmp.Alpha), Text: cmp.FormatDelta(old, new)}
		switch {
		case old == new:
			d.Change = 0
		case old == 0:
			d.Change = math.NaN()
		default:
			d.Change = new/old - 1
		}
		switch {
		case !d.Significant || d.Change == 0:
			d.Verdict = result.ChangeSame
		case math.IsNaN(d.Change) || t.Better == 0:
			d.Verdict = result.ChangeUnknown
		case (d.Change > 0) == (t.Better > 0):
			d.Verdict = result.ChangeBetter
		default:
			d.Verdict = result.ChangeWorse
		}
		d.Regression = o.Threshold > 0 && d.Verdict == result.ChangeWorse && math.Abs(d.Change) > o.Threshold
		r.Delta[i] = d
	}
	return r
}

// geomeans follows benchstat: the geometric mean of every center in a
// column, and of the ratios to the baseline, with warnings when the sets of
// benchmarks differ or a value is not positive.
func geomeans(t *Table, cols int) []*Geomean {
	nBase := 0
	for _, r := range t.Rows {
		if r.Cells[0] != nil {
			nBase++
		}
	}
	out := make([]*Geomean, cols)
	for j := range cols {
		g := &Geomean{}
		var centers, ratios []float64
		badRatio := false
		for _, r := range t.Rows {
			c := r.Cells[j]
			if c == nil {
				continue
			}
			centers = append(centers, c.Summary.Center)
			if j > 0 && r.Cells[0] != nil {
				a, b := c.Summary.Center, r.Cells[0].Summary.Center
				switch {
				case a == b:
					ratios = append(ratios, 1)
				case b == 0:
					badRatio = true
					ratios = append(ratios, 0)
				default:
					ratios = append(ratios, a/b)
				}
			}
		}
		if j > 0 && nBase != len(ratios) {
			g.Warnings = append(g.Warnings, "benchmark set differs from baseline; geomeans may not be comparable")
		}
		if gm := stats.GeoMean(centers); math.IsNaN(gm) {
			g.Warnings = append(g.Warnings, "summaries must be >0 to compute geomean")
		} else {
			g.HasValue, g.Value = true, gm
		}
		if j > 0 && !badRatio {
			if gm := stats.GeoMean(ratios); math.IsNaN(gm) {
				g.Warnings = append(g.Warnings, "ratios must be >0 to compute geomean")
			} else {
				g.HasRatio, g.Ratio = true, gm
			}
		}
		out[j] = g
	}
	return out
}

func errStrings(errs []error) []string {
	var s []string
	for _, e := range errs {
		s = append(s, e.Error())
	}
	return s
}

// Regressions lists the rows that failed the gate, as "name (unit):
// +12.3% (p=0.002 n=10)".
func (c *Comparison) Regressions() []string {
	var out []string
	for _, t := range c.Tables {
		for _, r := range t.Rows {
			for _, d := range r.Delta {
				if d != nil && d.Regression {
					out = append(out, fmt.Sprintf("%s (%s): %+.2f%% (%s)", c.rowName(t, r), t.Unit, d.Change*100, d.Comparison.String()))
				}
			}
		}
	}
	return out
}

// rowName qualifies a row with its package when the comparison spans
// several packages.
func (c *Comparison) rowName(t *Table, r *Row) string {
	pkgs := map[string]bool{}
	for _, t := range c.Tables {
		pkgs[t.Pkg] = true
	}
	if len(pkgs) > 1 && t.Pkg != "" {
		return t.Pkg + " " + r.Name
	}
	return r.Name
}

// Result is the comparison as a Run section: one row per benchmark and
// unit present in both the baseline and the last set.
func (c *Comparison) Result() *result.Comparison {
	rc := &result.Comparison{Rows: []result.ComparisonRow{}, Alpha: Alpha, Threshold: c.Threshold}
	if len(c.Cols) > 0 {
		rc.Base = c.Cols[0]
		rc.New = c.Cols[len(c.Cols)-1]
	}
	last := len(c.Cols) - 1
	seenWarn := map[string]bool{}
	for _, t := range c.Tables {
		for _, r := range t.Rows {
			name := c.rowName(t, r)
			for j, cell := range r.Cells {
				if cell == nil {
					continue
				}
				for _, w := range cell.Warnings {
					msg := fmt.Sprintf("%s (%s, %s): %s", name, t.Unit, c.Cols[j], w)
					if !seenWarn[msg] {
						seenWarn[msg] = true
						rc.Warnings = append(rc.Warnings, msg)
					}
				}
			}
			if last < 1 || r.Delta[last] == nil {
				continue
			}
			d := r.Delta[last]
			for _, w := range d.Warnings {
				rc.Warnings = append(rc.Warnings, fmt.Sprintf("%s (%s): %s", name, t.Unit, w))
			}
			// benchstat tests every row at α without a multiple-comparison
			// adjustment; PAdjusted says so by equalling PValue.
			row := result.ComparisonRow{
				Name: name, Metric: t.Assumption.SummaryLabel(), Unit: t.Unit,
				Old: r.Cells[0].Summary.Center, New: r.Cells[last].Summary.Center,
				PValue: d.P, PAdjusted: d.P, NOld: d.N1, NNew: d.N2,
				Significant: d.Significant, Regression: d.Regression, Verdict: d.Verdict,
			}
			row.Delta = row.New - row.Old
			if !math.IsNaN(d.Change) {
				row.DeltaPct = d.Change * 100
			}
			rc.Rows = append(rc.Rows, row)
			rc.Regression = rc.Regression || d.Regression
		}
	}
	return rc
}
