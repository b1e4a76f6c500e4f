package report

import (
	stdbytes "bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

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

// The hops of a step are rows under it in every per-step table — the
// console's, the Markdown's and the HTML report's — in the same order
// with the same numbers, their destinations escaped in each.
func TestHopsUnderTheirStepInEveryReport(t *testing.T) {
	r := richRun()
	type row struct{ name, requests, p50, p95, p99 string }
	var want []row
	for _, st := range r.Steps {
		want = append(want, row{st.Scenario + " / " + st.Step, fmt.Sprint(st.Requests), f(st.Latency.P50), f(st.Latency.P95), f(st.Latency.P99)})
		for _, h := range st.Hops {
			name := h.To
			if h.Status != 0 {
				name = fmt.Sprintf("%d %s", h.Status, h.To)
			}
			want = append(want, row{"→ " + name, fmt.Sprint(h.Requests), f(h.Latency.P50), f(h.Latency.P95), f(h.Latency.P99)})
		}
	}
	if len(want) != 5 {
		t.Fatalf("the fixture has %d step and hop rows, want 5", len(want))
	}

	// Console: name, requests, rps, err%, min, mean, p50, p90, p95, p99.
	var con []row
	for _, line := range strings.Split(string(renderRun(t, Console, r)), "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), "  ")
		fs := strings.Fields(rest)
		if !ok || len(fs) < 11 || !(strings.Contains(name, " / ") || strings.HasPrefix(name, "→")) {
			continue
		}
		con = append(con, row{name, fs[0], fs[5], fs[7], fs[8]})
	}
	if fmt.Sprint(con) != fmt.Sprint(want) {
		t.Errorf("console rows:\n got %q\nwant %q", con, want)
	}

	// Markdown: step, requests, throughput, errors, p50, p95, p99, with
	// the cells unescaped as a Markdown renderer would.
	unescape := strings.NewReplacer(`\|`, "|", `\*`, "*", `\_`, "_", "&lt;", "<", "&emsp;", "")
	var md []row
	for _, line := range strings.Split(string(renderRun(t, Markdown, r)), "\n") {
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
		if len(cells) != 9 || !strings.HasSuffix(strings.TrimSpace(cells[7]), " ms") {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(unescape.Replace(strings.ReplaceAll(cells[i], "\x00", `\|`)))
		}
		ms := func(s string) string { return strings.TrimSuffix(s, " ms") }
		md = append(md, row{cells[1], cells[2], ms(cells[5]), ms(cells[6]), ms(cells[7])})
	}
	if fmt.Sprint(md) != fmt.Sprint(want) {
		t.Errorf("Markdown rows:\n got %q\nwant %q", md, want)
	}

	// HTML: the steps table, parsed; step, requests, rps, errors, mean,
	// p50, p90, p95, p99.
	doc, err := html.Parse(stdbytes.NewReader(renderRun(t, HTML, r)))
	if err != nil {
		t.Fatal(err)
	}
	var page []row
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "tr" || n.Parent == nil || n.Parent.Parent == nil || !hasClass(n.Parent.Parent, "steps") || hasClass(n, "total") {
			continue
		}
		var cells []string
		for c := range n.ChildNodes() {
			if c.Type == html.ElementNode && c.Data == "td" {
				cells = append(cells, strings.TrimSpace(text(c)))
			}
		}
		if len(cells) != 11 {
			continue
		}
		name := cells[0]
		if hasClass(n, "hop") != strings.HasPrefix(name, "→") {
			t.Errorf("row %q: class hop %v", name, hasClass(n, "hop"))
		}
		page = append(page, row{name, cells[1], cells[5], cells[7], cells[8]})
	}
	if fmt.Sprint(page) != fmt.Sprint(want) {
		t.Errorf("HTML rows:\n got %q\nwant %q", page, want)
	}
}

func hasClass(n *html.Node, class string) bool {
	for _, a := range n.Attr {
		if a.Key == "class" && slices.Contains(strings.Fields(a.Val), class) {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}
