package report

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// A chart is drawn on the server as inline SVG: the report needs no
// script and no network, prints as it shows, and the same Run always
// gives the same bytes. Charts only place the Run's numbers on axes;
// they compute nothing from them.

// Chart geometry, in SVG user units.
const (
	chartW      = 760
	chartH      = 260
	chartLeft   = 60
	chartRight  = 16
	chartTop    = 14
	chartBottom = 42
)

// series is one line (or set of points) of a chart.
type series struct {
	name   string
	xs, ys []float64
	dashed bool // a model or reference, not a measurement
	dots   bool // mark each point (few, measured points)
	style  int  // colour index; -1 takes the series' position
	// maxGap breaks the line between points further apart in x than
	// this (a pause between phases is not a slope); 0 never breaks it.
	maxGap float64
}

// band shades a span of x, such as a phase of the run.
type band struct {
	x0, x1 float64
	label  string
}

// mark is a labelled vertical line, such as a breaking point.
type mark struct {
	x     float64
	label string
}

// chart is one SVG chart with its legend.
type chart struct {
	id             string // data-chart attribute: what tests and styles hold on to
	title          string
	xLabel, yLabel string
	series         []series
	bands          []band
	marks          []mark
}

// empty reports whether no series has a finite point.
func (c *chart) empty() bool {
	for _, s := range c.series {
		for i := range s.xs {
			if finite(s.xs[i]) && finite(s.ys[i]) {
				return false
			}
		}
	}
	return true
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// svg renders the chart and its legend.
func (c *chart) svg() template.HTML {
	xlo, xhi := math.Inf(1), math.Inf(-1)
	yhi := 0.0
	for _, s := range c.series {
		for i := range s.xs {
			if !finite(s.xs[i]) || !finite(s.ys[i]) {
				continue
			}
			xlo, xhi = math.Min(xlo, s.xs[i]), math.Max(xhi, s.xs[i])
			yhi = math.Max(yhi, s.ys[i])
		}
	}
	for _, m := range c.marks {
		xlo, xhi = math.Min(xlo, m.x), math.Max(xhi, m.x)
	}
	if !finite(xlo) {
		xlo, xhi = 0, 1
	}
	if xhi <= xlo {
		xlo, xhi = xlo-0.5, xhi+0.5
	}
	if yhi <= 0 {
		yhi = 1
	}
	yticks := niceTicks(0, yhi, 5)
	ytop := yticks[len(yticks)-1]
	xticks := niceTicks(xlo, xhi, 8)
	pw, ph := float64(chartW-chartLeft-chartRight), float64(chartH-chartTop-chartBottom)
	px := func(x float64) float64 { return chartLeft + (x-xlo)/(xhi-xlo)*pw }
	py := func(y float64) float64 { return chartTop + ph - y/ytop*ph }

	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart-box"><svg class="chart" data-chart="%s" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		esc(c.id), chartW, chartH, esc(c.title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.title))
	for i, bd := range c.bands {
		x0, x1 := px(math.Max(bd.x0, xlo)), px(math.Min(bd.x1, xhi))
		if x1 <= x0 {
			continue
		}
		fmt.Fprintf(&b, `<rect class="band b%d" x="%s" y="%d" width="%s" height="%s"><title>%s</title></rect>`,
			i%2, f1(x0), chartTop, f1(x1-x0), f1(ph), esc(bd.label))
		fmt.Fprintf(&b, `<text class="band-label" x="%s" y="%d">%s</text>`, f1(x0+3), chartTop+11, esc(clip(bd.label, int((x1-x0)/6.5))))
	}
	b.WriteString(`<g class="grid">`)
	for _, t := range yticks {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s"/>`, chartLeft, f1(y), chartW-chartRight, f1(y))
		fmt.Fprintf(&b, `<text class="ytick" x="%d" y="%s">%s</text>`, chartLeft-6, f1(y+4), tickLabel(t, yticks))
	}
	for _, t := range xticks {
		if t < xlo || t > xhi {
			continue
		}
		x := px(t)
		fmt.Fprintf(&b, `<line class="xgrid" x1="%s" y1="%d" x2="%s" y2="%s"/>`, f1(x), chartTop, f1(x), f1(chartTop+ph))
		fmt.Fprintf(&b, `<text class="xtick" x="%s" y="%s">%s</text>`, f1(x), f1(chartTop+ph+16), tickLabel(t, xticks))
	}
	b.WriteString(`</g>`)
	fmt.Fprintf(&b, `<path class="axis" d="M%d %dV%sH%d"/>`, chartLeft, chartTop, f1(chartTop+ph), chartW-chartRight)
	fmt.Fprintf(&b, `<text class="xlabel" x="%s" y="%d">%s</text>`, f1(chartLeft+pw/2), chartH-4, esc(c.xLabel))
	fmt.Fprintf(&b, `<text class="ylabel" transform="translate(14 %s) rotate(-90)">%s</text>`, f1(chartTop+ph/2), esc(c.yLabel))
	for i, s := range c.series {
		style := s.style
		if style < 0 {
			style = i
		}
		cls := fmt.Sprintf("line s%d", style%8)
		if s.dashed {
			cls += " dashed"
		}
		var d strings.Builder
		pen := false
		lastX := math.NaN()
		for j := range s.xs {
			if !finite(s.xs[j]) || !finite(s.ys[j]) {
				pen = false
				continue
			}
			if s.maxGap > 0 && s.xs[j]-lastX > s.maxGap {
				pen = false
			}
			lastX = s.xs[j]
			cmd := 'L'
			if !pen {
				cmd = 'M'
			}
			fmt.Fprintf(&d, "%c%s %s", cmd, f1(px(s.xs[j])), f1(py(s.ys[j])))
			pen = true
		}
		if d.Len() > 0 {
			fmt.Fprintf(&b, `<path class="%s" d="%s"><title>%s</title></path>`, cls, d.String(), esc(s.name))
		}
		// A line of one point draws nothing: mark the point instead.
		if s.dots || strings.Count(d.String(), "L") == 0 {
			for j := range s.xs {
				if finite(s.xs[j]) && finite(s.ys[j]) {
					fmt.Fprintf(&b, `<circle class="dot s%d" cx="%s" cy="%s" r="3.5"><title>%s: %s, %s</title></circle>`,
						style%8, f1(px(s.xs[j])), f1(py(s.ys[j])), esc(s.name), numText(s.xs[j]), numText(s.ys[j]))
				}
			}
		}
	}
	for _, m := range c.marks {
		x := px(m.x)
		fmt.Fprintf(&b, `<line class="mark" x1="%s" y1="%d" x2="%s" y2="%s"/>`, f1(x), chartTop, f1(x), f1(chartTop+ph))
		anchor := "start"
		tx := x + 4
		if x > chartLeft+pw*0.7 {
			anchor, tx = "end", x-4
		}
		fmt.Fprintf(&b, `<text class="mark-label" x="%s" y="%d" text-anchor="%s">%s</text>`, f1(tx), chartTop+24, anchor, esc(m.label))
	}
	fmt.Fprintf(&b, `</svg><figcaption><span class="chart-title">%s</span><ul class="legend">`, esc(c.title))
	for i, s := range c.series {
		style := s.style
		if style < 0 {
			style = i
		}
		dashed := ""
		if s.dashed {
			dashed = " dashed"
		}
		fmt.Fprintf(&b, `<li><span class="key s%d%s"></span>%s</li>`, style%8, dashed, esc(s.name))
	}
	for _, m := range c.marks {
		fmt.Fprintf(&b, `<li><span class="key mark"></span>%s</li>`, esc(m.label))
	}
	b.WriteString(`</ul></figcaption></figure>`)
	return template.HTML(b.String())
}

// niceTicks are about n round values covering [lo, hi] (1, 2 or 5 times
// a power of ten apart).
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	// Round each tick to the decimals of the step, so that 3 × 0.2 is 0.6.
	scale := math.Pow(10, math.Max(0, -math.Floor(math.Log10(step))+1))
	start := math.Floor(lo/step) * step
	var out []float64
	for k := 0; start+float64(k)*step <= hi+step*0.999 && k <= 4*n; k++ {
		out = append(out, math.Round((start+float64(k)*step)*scale)/scale)
	}
	if len(out) < 2 {
		out = append(out, start+step)
	}
	return out
}

// tickLabel formats a tick with as many decimals as its spacing needs.
func tickLabel(v float64, ticks []float64) string {
	step := 1.0
	if len(ticks) > 1 {
		step = ticks[1] - ticks[0]
	}
	dec := 0
	for s := step; dec < 6 && math.Abs(s-math.Round(s)) > 1e-9*math.Max(1, s); s *= 10 {
		dec++
	}
	if math.Abs(v) >= 10000 && dec == 0 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func esc(s string) string { return template.HTMLEscapeString(s) }

func clip(s string, n int) string {
	if n < 2 {
		return ""
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// numText formats a number for people: few digits, no exponent.
func numText(v float64) string {
	switch a := math.Abs(v); {
	case v == math.Trunc(v) && a < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 0.01:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a == 0:
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
