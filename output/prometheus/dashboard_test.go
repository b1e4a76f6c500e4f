package prometheus

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/result"
)

// dashboard is the Grafana dashboard made for this endpoint.
const dashboard = "../../deploy/grafana/stampede.json"

// exported scrapes an endpoint fed a window of a plan with `loads:` (a
// load with a tag) whose step followed a redirect, and returns every
// series name a query can use — the metric names, and a classic
// histogram's _bucket, _sum and _count — with the names of the labels
// each series has.
func exported(t *testing.T) map[string]map[string]bool {
	t.Helper()
	s, err := New("127.0.0.1:0", output.NewLabels(true, map[string]string{"team": "web"}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(nil)
	h := metrics.NewHist()
	for v := range int64(100) {
		metrics.RecordUS(h, 100+v*50)
	}
	step := output.StepName{Scenario: "s", Step: "get", Kind: "http", Load: "browsers"}
	u := &output.Update{Time: time.Now(), Phase: "baseline", VUs: 3,
		Window:      result.Window{Steps: []result.StepWindow{{Index: 0, Requests: 100, Errors: 1}}},
		Steps:       []output.StepName{step},
		Hists:       []*hdr.Histogram{h},
		Latency:     []output.StepLatency{{Name: step, Hist: h}},
		NewRequests: []output.StepCount{{Step: 0, Count: 100}},
		NewErrors:   []output.StepCount{{Step: 0, Kind: "http_5xx", Count: 1}},
		Hops: []output.HopUpdate{{Name: output.HopName{StepName: step, Hop: "302 /next"}, Step: 0, NewRequests: 100, NewErrors: 1,
			Window: h, Latency: h}},
		Tags:       map[string]map[string]string{"browsers": {"team": "web"}},
		NewDropped: 2}
	if err := s.Update(u); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	names := map[string]map[string]bool{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		labels := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		names[mf.GetName()] = labels
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			names[mf.GetName()+"_sum"], names[mf.GetName()+"_count"] = labels, labels
			names[mf.GetName()+"_bucket"] = maps.Clone(labels)
			names[mf.GetName()+"_bucket"]["le"] = true
		}
	}
	return names
}

// Parts of a PromQL query, for the label check: a selector (a metric
// name and its matchers), a matcher's label, a grouping, and Grafana's
// label_values(metric{…}, label).
var (
	selectorRE    = regexp.MustCompile(`\b(stampede_[a-zA-Z0-9_]*)\s*(\{[^}]*\})?`)
	matcherRE     = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	groupingRE    = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	labelValuesRE = regexp.MustCompile(`label_values\(\s*(stampede_[a-zA-Z0-9_]*)\s*(?:\{[^}]*\})?\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)`)
	quotedRE      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
)

// labelProblems lists the labels q names that the metrics it reads do
// not have: in a selector's matchers, a grouping (by any of the query's
// metrics) or label_values.
func labelProblems(q string, have map[string]map[string]bool) []string {
	var out []string
	bare := quotedRE.ReplaceAllString(q, `""`)
	any := map[string]bool{}
	for _, m := range selectorRE.FindAllStringSubmatch(bare, -1) {
		for l := range have[m[1]] {
			any[l] = true
		}
		for _, mm := range matcherRE.FindAllStringSubmatch(m[2], -1) {
			if !have[m[1]][mm[1]] {
				out = append(out, m[1]+" has no label "+mm[1])
			}
		}
	}
	for _, g := range groupingRE.FindAllStringSubmatch(bare, -1) {
		for _, l := range strings.Split(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !any[l] {
				out = append(out, "no metric of the query has the label "+l+" it groups by")
			}
		}
	}
	for _, m := range labelValuesRE.FindAllStringSubmatch(bare, -1) {
		if !have[m[1]][m[2]] {
			out = append(out, m[1]+" has no label "+m[2]+" to list")
		}
	}
	return out
}

// queries are every PromQL text of a dashboard: panel targets and
// template variables.
func queries(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && (k == "expr" || k == "definition") {
				*out = append(*out, s)
				continue
			}
			if k == "query" {
				if s, ok := e.(string); ok && s != "prometheus" {
					*out = append(*out, s)
					continue
				}
			}
			queries(e, out)
		}
	case []any:
		for _, e := range x {
			queries(e, out)
		}
	}
}

// The dashboard asks only for series the endpoint exports, and every
// metric the endpoint exports is on it.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile(dashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboard, err)
	}
	var qs []string
	queries(d, &qs)
	if len(qs) < 10 {
		t.Fatalf("%d queries in %s", len(qs), dashboard)
	}
	have := exported(t)
	name := regexp.MustCompile(`\bstampede_[a-zA-Z0-9_]*`)
	used := map[string]bool{}
	for _, q := range qs {
		ns := name.FindAllString(q, -1)
		if len(ns) == 0 {
			t.Errorf("%q reads no stampede metric", q)
		}
		for _, n := range ns {
			if have[n] == nil {
				t.Errorf("%q reads %s, which the endpoint does not export", q, n)
			}
			used[n] = true
		}
		for _, p := range labelProblems(q, have) {
			t.Errorf("%q: %s", q, p)
		}
		// A step's series carry its load: every query of them follows
		// the load chosen at the top.
		if m := labelValuesRE.FindStringSubmatch(q); m != nil && m[2] == output.LabelLoad {
			continue // the load variable's own list
		}
		for _, n := range ns {
			if have[n]["step"] && !strings.Contains(q, `load=~"$load"`) {
				t.Errorf("%q reads %s without the load chosen (load=~\"$load\")", q, n)
				break
			}
		}
	}
	for _, n := range Names() {
		if !used[n] && !used[n+"_bucket"] {
			t.Errorf("%s is exported but on no panel", n)
		}
	}
}

// The dashboard has a load variable, listed from the load label of the
// request series, that can show every load (and a run of one load,
// whose series have no load label) at once.
func TestDashboardHasALoadVariable(t *testing.T) {
	b, err := os.ReadFile(dashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Templating struct {
			List []struct {
				Name, Definition, AllValue string
				IncludeAll                 bool
				Query                      any
			}
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	have := exported(t)
	for _, v := range d.Templating.List {
		if v.Name != "load" {
			continue
		}
		m := labelValuesRE.FindStringSubmatch(v.Definition)
		if m == nil || m[2] != output.LabelLoad || !have[m[1]][output.LabelLoad] {
			t.Errorf("the load variable lists %q: want the values of the label %s of a series that has it", v.Definition, output.LabelLoad)
		}
		if !v.IncludeAll || !regexp.MustCompile("^(?:"+v.AllValue+")$").MatchString("") {
			t.Errorf("the load variable's All (%q) must match the series of a run of one load, which have no load label", v.AllValue)
		}
		return
	}
	t.Error("the dashboard has no load variable")
}

// The label check finds a label a metric does not have, so a clean
// result means something.
func TestLabelCheckCanFail(t *testing.T) {
	have := exported(t)
	for _, q := range []string{
		`sum(rate(stampede_vus{load=~"$load"}[1m]))`,
		`sum by (hop) (rate(stampede_requests_total[1m]))`,
		`label_values(stampede_requests_total, hop)`,
	} {
		if len(labelProblems(q, have)) == 0 {
			t.Errorf("%q passed the label check", q)
		}
	}
	if p := labelProblems(`sum by (hop, le) (rate(stampede_hop_duration_seconds_bucket{load=~"$load", hop!="x"}[1m]))`, have); len(p) > 0 {
		t.Errorf("a good query failed: %v", p)
	}
}

// The README's section on the live outputs names every metric the
// endpoint exports, and no other.
func TestREADMENamesTheMetrics(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## Watching a run live")
	if start < 0 {
		t.Fatal(`README.md has no "## Watching a run live" section`)
	}
	sec := doc[start:]
	if end := strings.Index(sec[3:], "\n## "); end >= 0 {
		sec = sec[:end+3]
	}
	named := map[string]bool{}
	for _, n := range regexp.MustCompile(`\bstampede_[a-z_]*[a-z]`).FindAllString(sec, -1) {
		named[n] = true
	}
	for _, n := range Names() {
		if !named[n] {
			t.Errorf("README does not name %s", n)
		}
		delete(named, n)
	}
	for n := range named {
		t.Errorf("README names %s, which the endpoint does not export", n)
	}
}
