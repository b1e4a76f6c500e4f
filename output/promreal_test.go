package output_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/output/prometheus"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// scraped is a sink put first in the fan: when the run ends, before the
// endpoint stops serving, it waits until each Prometheus server holds
// the run's final counts, and keeps the time it saw them at, so every
// query after reads the whole run (after that instant the endpoint is
// gone and its series are marked stale).
type scraped struct {
	native, classic *promServer
	t               *testing.T
	at              map[*promServer]time.Time
}

func (s *scraped) Update(*output.Update) error { return nil }

func (s *scraped) Close(run *result.Run) error {
	var inWindows int64
	for _, w := range run.Series {
		for _, sw := range w.Steps {
			inWindows += sw.Requests
		}
	}
	sel := `{job="` + Job + `"}`
	want := map[*promServer][2]string{
		s.native:  {`sum(` + prometheus.Requests + sel + `)`, `sum(histogram_count(` + prometheus.Duration + sel + `))`},
		s.classic: {`sum(` + prometheus.Requests + sel + `)`, `sum(` + prometheus.Duration + `_count` + sel + `)`},
	}
	s.at = map[*promServer]time.Time{}
	for srv, qs := range want {
		srv.poll(s.t, "scrape of the run's final counts", 15*time.Second, func() bool {
			now := time.Now()
			for i, n := range []int64{run.Summary.Requests, inWindows} {
				v, err := srv.query(qs[i], now)
				if err != nil || len(v) != 1 || int64(v[0].Value) != n {
					return false
				}
			}
			s.at[srv] = now
			return true
		})
	}
	return nil
}

// TestRealPrometheusScrapesTheRun runs a bounded loopback load with the
// Prometheus output while two real Prometheus servers scrape it every
// second — one with native histograms on, one without, which reads the
// classic buckets from the text format — and asks their query API what
// the run did: requests, errors and latency counts by step must be the
// Run's. Then every query of the Grafana dashboard runs on the real
// engine: each parses and evaluates, and each per-step panel shows at
// least one series of the run just made.
func TestRealPrometheusScrapesTheRun(t *testing.T) {
	bin := prometheusBin(t)
	mux := shopMux()
	// A redirect whose next exchange now and then finds the connection
	// closed: a hop that failed.
	var m atomic.Int64
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		to := "/ok"
		if m.Add(1)%5 == 0 {
			to = "/drop"
		}
		http.Redirect(w, r, to, http.StatusFound)
	})
	mux.HandleFunc("/drop", func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	})
	target := httptest.NewServer(mux)
	defer target.Close()
	p, err := plan.Parse("promreal.yaml", []byte(`name: promreal
target: {base_url: "`+target.URL+`"}
scenarios:
  - {name: shop, steps: [{name: ok, path: /ok}, {name: flaky, path: /flaky}, {name: moved, path: /moved}]}
loads:
  steady: {rate: 100, duration: 3s, scenarios: [shop], tags: {team: web}}
`))
	if err != nil {
		t.Fatal(err)
	}
	labels := output.NewLabels(true, p.Loads[0].Tags)
	sc := &scraped{t: t}
	run, _, _, _ := runLiveWith(t, p, labels, liveHooks{
		opened: func(ps *prometheus.Sink) {
			sc.native = startPrometheus(t, bin, "native", ps.Addr(), true)
			sc.classic = startPrometheus(t, bin, "classic", ps.Addr(), false)
			sc.native.ready(t)
			sc.classic.ready(t)
		},
		first: sc,
	})
	if run.Summary.Errors == 0 || run.Summary.Requests < 200 {
		t.Fatalf("the load did not run as planned: %d requests, %d errors", run.Summary.Requests, run.Summary.Errors)
	}
	if moved := run.Steps[stepIndex(run, "moved")]; len(moved.Hops) < 2 || moved.Errors == 0 {
		t.Fatalf("the redirects did not run as planned: %+v", moved.Hops)
	}
	wantReq, wantErr, inWindows := map[string]float64{}, map[string]float64{}, map[string]float64{}
	wantHops, wantHopErr := map[string]float64{}, map[string]float64{}
	for _, st := range run.Steps {
		wantReq[st.Step] = float64(st.Requests)
		for _, h := range st.Hops {
			wantHops[st.Step+"/"+h.Label()] = float64(h.Requests)
			if h.Errors > 0 {
				wantHopErr[st.Step+"/"+h.Label()] = float64(h.Errors)
			}
		}
		for _, e := range st.Errs {
			wantErr[st.Step+"/"+e.Kind] += float64(e.Count)
		}
	}
	for _, w := range run.Series {
		for _, sw := range w.Steps {
			inWindows[run.Steps[sw.Index].Step] += float64(sw.Requests)
		}
	}
	native, classic := sc.native, sc.classic
	nat, cla := sc.at[native], sc.at[classic]
	sel := `{job="` + Job + `", load="steady", team="web"}`
	same := func(t *testing.T, srv *promServer, q string, got, want map[string]float64) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("prometheus (%s): %s = %v, the run has %v", srv.name, q, got, want)
		}
	}
	for _, srv := range []*promServer{native, classic} {
		at := sc.at[srv]
		q := `sum by (step) (` + prometheus.Requests + sel + `)`
		same(t, srv, q, srv.byLabels(t, q, at, "step"), wantReq)
		q = `sum by (step, kind) (` + prometheus.Errors + sel + `)`
		same(t, srv, q, srv.byLabels(t, q, at, "step", "kind"), wantErr)
		q = `sum by (step, hop) (` + prometheus.HopRequests + sel + `)`
		same(t, srv, q, srv.byLabels(t, q, at, "step", "hop"), wantHops)
		q = `sum by (step, hop) (` + prometheus.HopErrors + sel + `)`
		same(t, srv, q, srv.byLabels(t, q, at, "step", "hop"), wantHopErr)
	}
	q := `histogram_count(sum by (step) (` + prometheus.Duration + sel + `))`
	same(t, native, q, native.byLabels(t, q, nat, "step"), inWindows)
	q = `sum by (step) (` + prometheus.Duration + `_count` + sel + `)`
	same(t, classic, q, classic.byLabels(t, q, cla, "step"), inWindows)
	q = `sum by (step) (` + prometheus.Duration + `_bucket` + strings.TrimSuffix(sel, "}") + `, le="+Inf"})`
	same(t, classic, q, classic.byLabels(t, q, cla, "step"), inWindows)
	// The native histogram's median lies within a bucket (9%) of the run's.
	q = `histogram_quantile(0.5, sum by (step) (` + prometheus.Duration + sel + `))`
	for step, got := range native.byLabels(t, q, nat, "step") {
		want := run.Steps[stepIndex(run, step)].Latency.P50 / 1000
		if math.IsNaN(got) || got < want/1.2 || got > want*1.2 {
			t.Errorf("prometheus (native): %s{step=%q} = %g s, the run's p50 is %g s", q, step, got, want)
		}
	}

	t.Run("dashboard", func(t *testing.T) {
		checkDashboardQueries(t, sc, run)
	})
}

// varRE is a Grafana variable left in a query.
var varRE = regexp.MustCompile(`\$\w+`)

// dashboardQueries returns the dashboard's panel queries with Grafana's
// variables put in as Grafana would for the last span seconds of a run
// scraped every second: every load, scenario and step (the variables'
// All, ".*"), $__rate_interval four scrapes, $__interval one.
func dashboardQueries(t *testing.T, span time.Duration) (raw, expr []string) {
	t.Helper()
	b, err := os.ReadFile("../deploy/grafana/stampede.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("$load", ".*", "$scenario", ".*", "$step", ".*",
		"$__rate_interval", "4s", "$__interval", "1s", "$__range", fmt.Sprintf("%ds", int(math.Ceil(span.Seconds()))))
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				continue
			}
			e := r.Replace(tg.Expr)
			if v := varRE.FindString(e); v != "" {
				t.Errorf("%q: the variable %s is not one this check knows", tg.Expr, v)
				continue
			}
			raw, expr = append(raw, tg.Expr), append(expr, e)
		}
	}
	if len(expr) < 10 {
		t.Fatalf("%d panel queries in the dashboard", len(expr))
	}
	return raw, expr
}

// classicOnly reports whether q reads a classic histogram's own series,
// which a server with native histograms on does not keep.
var classicOnly = regexp.MustCompile(`_seconds_(bucket|sum|count)\b`)

func checkDashboardQueries(t *testing.T, sc *scraped, run *result.Run) {
	span := sc.at[sc.native].Sub(run.StartedAt) + 2*time.Second
	raw, expr := dashboardQueries(t, span)
	for i, q := range expr {
		series := map[string]int{}
		for _, srv := range []*promServer{sc.native, sc.classic} {
			vec, err := srv.query(q, sc.at[srv])
			if err != nil {
				t.Errorf("prometheus (%s): %s: %v", srv.name, q, err)
				continue
			}
			series[srv.name] = len(vec)
		}
		if !strings.Contains(raw[i], `step=~"$step"`) {
			continue // not a per-step panel: parsing and evaluating is enough
		}
		// The server a user with native histograms on would read it from;
		// the classic series are the other server's (Prometheus before
		// 2.45 keeps only the native histogram when both are offered).
		on := sc.native.name
		if classicOnly.MatchString(q) {
			on = sc.classic.name
		}
		if series[on] == 0 {
			t.Errorf("prometheus (%s): %s returns no series for the run", on, q)
		}
	}
	// The template variables list the run's load, scenario and steps.
	for _, v := range []struct{ label, match string }{
		{"load", prometheus.Requests},
		{"scenario", prometheus.Requests + `{load=~".*"}`},
		{"step", prometheus.Requests + `{load=~".*", scenario=~".*"}`},
	} {
		q := `count by (` + v.label + `) (` + v.match + `)`
		got := sc.native.byLabels(t, q, sc.at[sc.native], v.label)
		if len(got) == 0 {
			t.Errorf("the %s variable would list nothing: %s", v.label, q)
		}
	}
}
