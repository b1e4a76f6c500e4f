package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// hotspotsShown is how many own functions the reports show with the
// path their CPU time takes.
const hotspotsShown = 3

// ownHotspots are the own functions of the CPU profile worth showing with
// where their time goes: the program's own code (analysis marks it), at
// least 5% of the samples outside other own functions below it (a
// wrapper or a dispatcher of own code only passes its time on),
// heaviest first.
func ownHotspots(sys *result.System) []result.Hotspot {
	if sys == nil {
		return nil
	}
	var out []result.Hotspot
	for _, h := range sys.Hotspots {
		if !h.Own || h.CumPct-h.OwnBelowPct < 5 || (h.Package == "main" && h.Function == "main") {
			continue
		}
		out = append(out, h)
		if len(out) == hotspotsShown {
			break
		}
	}
	return out
}

// shortName is a symbol with its package path cut to the last element:
// "github.com/a/lib.(*T).M" gives "lib.(*T).M".
func shortName(full string) string {
	head := full
	if i := strings.IndexByte(head, '['); i >= 0 {
		head = head[:i]
	}
	if i := strings.LastIndexByte(head, '/'); i >= 0 {
		return full[i+1:]
	}
	return full
}

func hotspotName(h result.Hotspot) string {
	if h.Package == "" {
		return h.Function
	}
	return shortName(h.Package) + "." + h.Function
}

// callPathLines draws an own hotspot and the path below it as an
// indented call path, one function a line:
//
//	api.(*Server).handle  54% (0% in itself)
//	└─ lib.Build  48%
//	   └─ runtime.mallocgc  29%
func callPathLines(h result.Hotspot) []string {
	lines := []string{fmt.Sprintf("%s  %s%% (%s%% in itself)", hotspotName(h), numText(h.CumPct), numText(h.FlatPct))}
	for i, c := range h.Path {
		lines = append(lines, strings.Repeat("   ", i)+"└─ "+shortName(c.Function)+"  "+numText(c.Pct)+"%")
	}
	return lines
}

// htmlCallPath is the path below an own hotspot as an icicle strip: one
// bar a function, indented by its depth, as wide as its share of the
// function's time.
func htmlCallPath(h result.Hotspot) template.HTML {
	if len(h.Path) == 0 || h.CumPct <= 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<ol class="callpath">`)
	for i, c := range h.Path {
		w := math.Max(0, math.Min(100, 100*c.Pct/h.CumPct))
		fmt.Fprintf(&b, `<li style="margin-left:%dem"><span class="bar" style="width:%.0f%%"></span><code>%s</code> %s%%</li>`,
			i, w, template.HTMLEscapeString(shortName(c.Function)), numText(c.Pct))
	}
	b.WriteString(`</ol>`)
	return template.HTML(b.String())
}

// consoleHotspots writes where the CPU goes in the program's own code.
func consoleHotspots(ew *errWriter, r *result.Run) {
	hs := ownHotspots(r.System)
	if len(hs) == 0 {
		return
	}
	ew.printf("\nwhere the CPU goes (own code, share of the CPU profile)\n")
	for _, h := range hs {
		for _, l := range callPathLines(h) {
			ew.printf("  %s\n", l)
		}
	}
}

// mdHotspots writes where the CPU goes in the program's own code as a
// code block of indented call paths.
func mdHotspots(ew *errWriter, r *result.Run) {
	hs := ownHotspots(r.System)
	if len(hs) == 0 {
		return
	}
	ew.printf("**Where the CPU goes** (own code, share of the CPU profile)\n\n```\n")
	for _, h := range hs {
		for _, l := range callPathLines(h) {
			ew.printf("%s\n", l)
		}
	}
	ew.printf("```\n\n")
}
