package prometheus

import (
	"encoding/json"
	"io"
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

// exported scrapes a fed endpoint and returns every series name a query
// can use: the metric names, and a classic histogram's _bucket, _sum and
// _count.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	s, err := New("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(nil)
	h := metrics.NewHist()
	for v := range int64(100) {
		metrics.RecordUS(h, 100+v*50)
	}
	u := &output.Update{Time: time.Now(), Phase: "baseline", VUs: 3,
		Window:      result.Window{Steps: []result.StepWindow{{Index: 0, Requests: 100, Errors: 1}}},
		Steps:       []output.StepName{{Scenario: "s", Step: "get", Kind: "http"}},
		Hists:       []*hdr.Histogram{h},
		Latency:     []output.StepLatency{{Name: output.StepName{Scenario: "s", Step: "get", Kind: "http"}, Hist: h}},
		NewRequests: []output.StepCount{{Step: 0, Count: 100}},
		NewErrors:   []output.StepCount{{Step: 0, Kind: "http_5xx", Count: 1}},
		NewDropped:  2}
	if err := s.Update(u); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	names := map[string]bool{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		names[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+suf] = true
			}
		}
	}
	return names
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
			if !have[n] {
				t.Errorf("%q reads %s, which the endpoint does not export", q, n)
			}
			used[n] = true
		}
	}
	for _, n := range Names() {
		if !used[n] && !used[n+"_bucket"] {
			t.Errorf("%s is exported but on no panel", n)
		}
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
