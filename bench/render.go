package bench

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/perf/benchunit"

	"github.com/stampede-perf/stampede/report/render"
)

// footnotes numbers the warnings of one table, each distinct message once.
type footnotes struct {
	msgs  []string
	index map[string]int
}

// mark returns the superscript marks for msgs, registering new ones.
func (f *footnotes) mark(msgs ...string) string {
	if f.index == nil {
		f.index = map[string]int{}
	}
	var marks []string
	for _, m := range msgs {
		i, ok := f.index[m]
		if !ok {
			f.msgs = append(f.msgs, m)
			i = len(f.msgs)
			f.index[m] = i
		}
		marks = append(marks, superscript(i))
	}
	return strings.Join(marks, " ")
}

func (f *footnotes) write(w io.Writer) error {
	for i, m := range f.msgs {
		if _, err := fmt.Fprintf(w, "%s %s\n", superscript(i+1), m); err != nil {
			return err
		}
	}
	return nil
}

func superscript(n int) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	ds := []rune(digits)
	s := fmt.Sprint(n)
	var b strings.Builder
	for _, c := range s {
		b.WriteRune(ds[c-'0'])
	}
	return b.String()
}

// textCells is one table laid out as strings, before alignment.
type textCells struct {
	// per set column j: center, ci, notes; for j > 0 also delta, p, cnotes
	name                []string
	center, ci, notes   [][]string
	delta, pval, cnotes [][]string
	hasCI               [][]bool
}

// cells renders t's values to strings, numbering warnings in fn.
func (c *Comparison) cells(t *Table, fn *footnotes) *textCells {
	cols := len(c.Cols)
	tc := &textCells{}
	grow := func() {
		tc.center = append(tc.center, make([]string, cols))
		tc.ci = append(tc.ci, make([]string, cols))
		tc.notes = append(tc.notes, make([]string, cols))
		tc.delta = append(tc.delta, make([]string, cols))
		tc.pval = append(tc.pval, make([]string, cols))
		tc.cnotes = append(tc.cnotes, make([]string, cols))
		tc.hasCI = append(tc.hasCI, make([]bool, cols))
	}
	class := benchunit.ClassOf(t.Unit)
	for i, r := range t.Rows {
		grow()
		tc.name = append(tc.name, r.Name)
		var centers []float64
		for _, cell := range r.Cells {
			if cell != nil {
				centers = append(centers, cell.Summary.Center)
			}
		}
		sc := benchunit.CommonScale(centers, class)
		for j, cell := range r.Cells {
			if cell == nil {
				continue
			}
			tc.center[i][j] = sc.Format(cell.Summary.Center)
			tc.ci[i][j] = cell.Summary.PctRangeString()
			tc.hasCI[i][j] = true
			tc.notes[i][j] = fn.mark(cell.Warnings...)
			if d := r.Delta[j]; d != nil {
				tc.delta[i][j] = d.Text
				tc.pval[i][j] = "(" + d.Comparison.String() + ")"
				tc.cnotes[i][j] = fn.mark(errStrings(d.Warnings)...)
			}
		}
	}
	if t.Geomean != nil {
		grow()
		i := len(tc.name)
		tc.name = append(tc.name, "geomean")
		for j, g := range t.Geomean {
			if g.HasValue {
				tc.center[i][j] = benchunit.Scale(g.Value, class)
			}
			if j > 0 {
				if g.HasRatio {
					tc.delta[i][j] = fmt.Sprintf("%+.2f%%", (g.Ratio-1)*100)
				} else {
					tc.delta[i][j] = "?"
				}
				tc.cnotes[i][j] = fn.mark(g.Warnings...)
			} else {
				tc.notes[i][j] = fn.mark(g.Warnings...)
			}
		}
	}
	return tc
}

func width(s string) int { return utf8.RuneCountInString(s) }

func padRight(s string, w int) string { return s + strings.Repeat(" ", max(w-width(s), 0)) }
func padLeft(s string, w int) string  { return strings.Repeat(" ", max(w-width(s), 0)) + s }
func padCenter(s string, w int) string {
	l := max(w-width(s), 0) / 2
	return padRight(strings.Repeat(" ", l)+s, w)
}

// WriteText writes the comparison as benchstat-style text tables: the
// file configuration, then per table two header lines (set labels; unit
// and "vs base"), one line per benchmark ("median ± CI%", and against the
// baseline the change or "~" with "(p=… n=…)"), a geomean line, and the
// numbered warnings.
func (c *Comparison) WriteText(w io.Writer) error {
	var prev []Config
	for ti, t := range c.Tables {
		if ti > 0 {
			if _, err := fmt.Fprintln(w); err != nil {
				return err
			}
		}
		for _, cf := range changedConfig(prev, t.Config) {
			if _, err := fmt.Fprintf(w, "%s: %s\n", cf.Key, cf.Value); err != nil {
				return err
			}
		}
		prev = t.Config
		var fn footnotes
		if _, err := io.WriteString(w, c.textTable(t, &fn)); err != nil {
			return err
		}
		if err := fn.write(w); err != nil {
			return err
		}
	}
	return nil
}

// changedConfig is cur's lines that differ from prev (all of them for the
// first table).
func changedConfig(prev, cur []Config) []Config {
	old := map[string]string{}
	for _, c := range prev {
		old[c.Key] = c.Value
	}
	var out []Config
	for _, c := range cur {
		if v, ok := old[c.Key]; !ok || v != c.Value || prev == nil {
			out = append(out, c)
		}
	}
	return out
}

func (c *Comparison) textTable(t *Table, fn *footnotes) string {
	tc := c.cells(t, fn)
	cols := len(c.Cols)
	colMax := func(m [][]string, j int) int {
		w := 0
		for _, row := range m {
			w = max(w, width(row[j]))
		}
		return w
	}
	wName := 0
	for _, n := range tc.name {
		wName = max(wName, width(n))
	}
	wC, wCI, wN := make([]int, cols), make([]int, cols), make([]int, cols)
	wD, wP, wCN := make([]int, cols), make([]int, cols), make([]int, cols)
	for j := range cols {
		wC[j], wCI[j], wN[j] = colMax(tc.center, j), colMax(tc.ci, j), colMax(tc.notes, j)
		if j > 0 {
			wD[j], wP[j], wCN[j] = colMax(tc.delta, j), colMax(tc.pval, j), colMax(tc.cnotes, j)
			wP[j] = max(wP[j], width("vs base")-wD[j]-1)
		}
	}
	opt := func(w int) int { // an optional column and its separating space
		if w == 0 {
			return 0
		}
		return w + 1
	}
	centerPart := func(j int) int { return wC[j] + 3 + wCI[j] + opt(wN[j]) }
	deltaPart := func(j int) int {
		if j == 0 {
			return 0
		}
		return 2 + wD[j] + 1 + wP[j] + opt(wCN[j])
	}
	// Widen a column group whose header is wider than its values, half
	// before the values and half after, so they stay under the header.
	widen := func(j, extra int) {
		if extra <= 0 {
			return
		}
		wC[j] += extra / 2
		if wN[j] == 0 && extra-extra/2 > 0 {
			wN[j] = extra - extra/2 - 1 // the notes column brings its own space
			if wN[j] == 0 {
				wC[j]++
			}
			return
		}
		wN[j] += extra - extra/2
	}
	for j := range cols {
		widen(j, width(t.Unit)-centerPart(j))
		widen(j, width(c.Cols[j])-centerPart(j)-deltaPart(j))
	}
	var b strings.Builder
	line := func(s string) { b.WriteString(strings.TrimRight(s, " ") + "\n") }

	h1 := strings.Repeat(" ", wName)
	h2 := h1
	for j := range cols {
		h1 += " │ " + padCenter(c.Cols[j], centerPart(j)+deltaPart(j))
		h2 += " │ " + padCenter(t.Unit, centerPart(j))
		if j > 0 {
			h2 += "  " + padRight("vs base", deltaPart(j)-2)
		}
	}
	line(h1 + " │")
	line(h2 + " │")
	for i, name := range tc.name {
		s := padRight(name, wName)
		for j := range cols {
			s += "   " + padLeft(tc.center[i][j], wC[j])
			if tc.hasCI[i][j] {
				s += " ± " + padLeft(tc.ci[i][j], wCI[j])
			} else {
				s += strings.Repeat(" ", 3+wCI[j])
			}
			if wN[j] > 0 {
				s += " " + padRight(tc.notes[i][j], wN[j])
			}
			if j > 0 {
				s += "  " + padLeft(tc.delta[i][j], wD[j]) + " " + padRight(tc.pval[i][j], wP[j])
				if wCN[j] > 0 {
					s += " " + padRight(tc.cnotes[i][j], wCN[j])
				}
			}
		}
		line(s)
	}
	return b.String()
}

// WriteMarkdown writes the comparison as Markdown tables, one per package
// and unit, with the same cells as WriteText and the warnings as a list of
// footnotes under each table.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	var prev []Config
	var b strings.Builder
	for ti, t := range c.Tables {
		if ti > 0 {
			b.WriteString("\n")
		}
		if cfg := changedConfig(prev, t.Config); len(cfg) > 0 {
			var parts []string
			for _, cf := range cfg {
				parts = append(parts, fmt.Sprintf("`%s: %s`", cf.Key, cf.Value))
			}
			b.WriteString(strings.Join(parts, " · ") + "\n\n")
		}
		prev = t.Config
		var fn footnotes
		tc := c.cells(t, &fn)
		b.WriteString("| " + render.Markdown(t.Unit))
		align := "|:--"
		for j, label := range c.Cols {
			b.WriteString(" | " + render.Markdown(label))
			align += "|--:"
			if j > 0 {
				b.WriteString(" | vs base | p")
				align += "|--:|:--"
			}
		}
		b.WriteString(" |\n" + align + "|\n")
		for i, name := range tc.name {
			cell := func(s string) string { return render.Markdown(strings.TrimSpace(s)) }
			if name == "geomean" && i == len(tc.name)-1 && t.Geomean != nil {
				b.WriteString("| **geomean**")
			} else {
				b.WriteString("| " + cell(name))
			}
			for j := range c.Cols {
				v := tc.center[i][j]
				if tc.hasCI[i][j] {
					v += " ± " + tc.ci[i][j]
				}
				if tc.notes[i][j] != "" {
					v += " " + tc.notes[i][j]
				}
				b.WriteString(" | " + cell(v))
				if j > 0 {
					p := strings.TrimSuffix(strings.TrimPrefix(tc.pval[i][j], "("), ")")
					if tc.cnotes[i][j] != "" {
						p += " " + tc.cnotes[i][j]
					}
					b.WriteString(" | " + cell(tc.delta[i][j]) + " | " + cell(p))
				}
			}
			b.WriteString(" |\n")
		}
		if len(fn.msgs) > 0 {
			b.WriteString("\n")
			for i, m := range fn.msgs {
				fmt.Fprintf(&b, "%s %s  \n", superscript(i+1), render.Markdown(m))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
