// Package history is the run history's web browser (`stampede serve`):
// the runs of each plan, a trend chart of a metric over time (p95, p50,
// p99, requests per second, error rate; of the whole run or of one
// step) with the baseline marked, any run's HTML report, and the
// comparison of two runs.
//
// Design: the server only reads. Its page (assets/history.html) asks
// small JSON endpoints that are thin wrappers over the store's queries
// (Plans, List, Baseline, Get), and draws with uPlot like the live
// dashboard. The report and the comparison are rendered by functions
// the caller passes in — the same ones `stampede report` and `stampede
// compare` use — so the page shows exactly what the commands print.
//
// Bounds: a list holds at most MaxRuns runs; a step's trend reads the
// documents of at most MaxStepRuns runs (the newest), since it needs
// each run's steps and not only the history's columns.
package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
	"github.com/stampede-perf/stampede/web"
)

// Bounds of what one request reads.
const (
	// MaxRuns is the most runs a list or trend shows.
	MaxRuns = 1000
	// MaxStepRuns is the most run documents a step's trend reads.
	MaxStepRuns = 200
)

// Options are what the server renders with.
type Options struct {
	// Report writes a run's HTML report (report.HTML).
	Report func(w io.Writer, run *result.Run) error
	// Compare writes the comparison of two runs as `stampede compare`
	// prints it, significance marks included.
	Compare func(w io.Writer, base, head *result.Run) error
}

// Server serves the history browser. Its handlers may run concurrently;
// they share only the store, which is safe for that.
type Server struct {
	st       *store.Store
	o        Options
	srv      *http.Server
	ln       net.Listener
	loopback bool
}

// Handler is the browser's HTTP handler over st, without a listener
// (tests and Serve use it).
func Handler(st *store.Store, o Options) http.Handler {
	s := &Server{st: st, o: o}
	return s.mux()
}

func (s *Server) mux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /assets/", web.Assets())
	mux.Handle("GET /{$}", web.PageHandler("history.html"))
	mux.HandleFunc("GET /api/plans", s.plans)
	mux.HandleFunc("GET /api/runs", s.runs)
	mux.HandleFunc("GET /api/steps", s.steps)
	mux.HandleFunc("GET /api/trend", s.trend)
	mux.HandleFunc("GET /api/compare", s.compare)
	mux.HandleFunc("GET /runs/{id}/report", s.report)
	return mux
}

// Listen binds addr for Serve; see web.Listen for the address forms.
func Listen(addr string, st *store.Store, o Options) (*Server, error) {
	ln, loopback, err := web.Listen(addr)
	if err != nil {
		return nil, err
	}
	s := &Server{st: st, o: o, ln: ln, loopback: loopback}
	s.srv = &http.Server{Handler: web.Guard(loopback, s.mux()), ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute}
	return s, nil
}

// URL is the page's address.
func (s *Server) URL() string { return web.URL(s.ln.Addr().String()) }

// Loopback reports whether the page is reachable only from this machine.
func (s *Server) Loopback() bool { return s.loopback }

// Serve answers until ctx ends, then lets the requests in flight finish
// (at most 5 s).
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	<-errc
	return err
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// fail answers an error: 404 for what the history does not hold, 400
// for a bad request, 500 otherwise.
func fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var bad badRequest
	switch {
	case errors.Is(err, store.ErrNotFound):
		code = http.StatusNotFound
	case errors.As(err, &bad):
		code = http.StatusBadRequest
	}
	http.Error(w, err.Error(), code)
}

type badRequest string

func (b badRequest) Error() string { return string(b) }

// planInfo is one plan of the history.
type planInfo struct {
	Plan     string `json:"plan"`
	Baseline string `json:"baseline,omitempty"`
}

func (s *Server) plans(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	names, err := s.st.Plans(ctx)
	if err != nil {
		fail(w, err)
		return
	}
	bases, err := s.st.Baselines(ctx)
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]planInfo, 0, len(names))
	for _, n := range names {
		pi := planInfo{Plan: n}
		if i := slices.IndexFunc(bases, func(e store.Entry) bool { return e.Plan == n }); i >= 0 {
			pi.Baseline = bases[i].ID
		}
		out = append(out, pi)
	}
	writeJSON(w, out)
}

// runInfo is one run of a plan as the page lists it.
type runInfo struct {
	ID        string  `json:"id"`
	Kind      string  `json:"kind"`
	Phase     string  `json:"phase,omitempty"`
	Started   int64   `json:"started"` // Unix seconds
	State     string  `json:"state"`
	RPS       float64 `json:"rps"`
	P50       float64 `json:"p50"`
	P95       float64 `json:"p95"`
	P99       float64 `json:"p99"`
	ErrorRate float64 `json:"error_rate"`
	Verdict   string  `json:"verdict"`
	Aborted   bool    `json:"aborted"`
	Commit    string  `json:"commit,omitempty"`
	Baseline  bool    `json:"baseline,omitempty"`
}

// planRuns lists a plan's runs (newest first, at most limit) and its
// baseline's id ("" when none).
func (s *Server) planRuns(ctx context.Context, r *http.Request, limit int) (string, []store.Entry, string, error) {
	plan := r.URL.Query().Get("plan")
	if plan == "" {
		return "", nil, "", badRequest("name a plan: ?plan=NAME")
	}
	es, err := s.st.List(ctx, store.Filter{Plan: plan, Limit: limit})
	if err != nil {
		return "", nil, "", err
	}
	base, err := s.st.Baseline(ctx, plan)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", nil, "", err
	}
	return plan, es, base, nil
}

func (s *Server) runs(w http.ResponseWriter, r *http.Request) {
	_, es, base, err := s.planRuns(r.Context(), r, MaxRuns)
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]runInfo, 0, len(es))
	for _, e := range es {
		ri := runInfo{ID: e.ID, Kind: e.Kind, Phase: e.Phase, Started: e.StartedAt.Unix(), State: e.State, RPS: e.RPS,
			P50: e.P50, P95: e.P95, P99: e.P99, ErrorRate: e.ErrorRate, Verdict: e.Verdict, Aborted: e.Aborted, Baseline: e.ID == base}
		if e.Git != nil {
			ri.Commit = e.Git.Commit
		}
		out = append(out, ri)
	}
	writeJSON(w, out)
}

// stepName names a step as the page lists it.
func stepName(st result.StepResult) string { return st.Scenario + " / " + st.Step }

// steps lists the steps of the plan's newest run.
func (s *Server) steps(w http.ResponseWriter, r *http.Request) {
	_, es, _, err := s.planRuns(r.Context(), r, 1)
	if err != nil {
		fail(w, err)
		return
	}
	out := []string{}
	if len(es) > 0 {
		run, err := s.st.Get(r.Context(), es[0].ID)
		if err != nil {
			fail(w, err)
			return
		}
		for _, st := range run.Steps {
			out = append(out, stepName(st))
		}
	}
	writeJSON(w, out)
}

// trendPoint is one run's value of a metric.
type trendPoint struct {
	ID       string  `json:"id"`
	Started  int64   `json:"started"`
	Value    float64 `json:"value"`
	Baseline bool    `json:"baseline,omitempty"`
}

// metricOf reads metric of an entry (the whole run).
func metricOf(e store.Entry, metric string) (float64, bool) {
	switch metric {
	case "p50":
		return e.P50, true
	case "p95":
		return e.P95, true
	case "p99":
		return e.P99, true
	case "rps":
		return e.RPS, true
	case "error_rate":
		return e.ErrorRate, true
	}
	return 0, false
}

// stepMetric reads metric of one step of a run.
func stepMetric(st result.StepResult, metric string) float64 {
	switch metric {
	case "p50":
		return st.Latency.P50
	case "p95":
		return st.Latency.P95
	case "p99":
		return st.Latency.P99
	case "rps":
		return st.RPS
	}
	if st.Requests == 0 {
		return 0
	}
	return float64(st.Errors) / float64(st.Requests)
}

// trend gives a metric of the plan's finished runs, oldest first: of the
// whole run from the history's columns, or of one step (?step=) from the
// newest MaxStepRuns documents.
func (s *Server) trend(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	metric, step := q.Get("metric"), q.Get("step")
	if _, ok := metricOf(store.Entry{}, metric); !ok {
		fail(w, badRequest(fmt.Sprintf("metric %q: use p50, p95, p99, rps or error_rate", metric)))
		return
	}
	limit := MaxRuns
	if step != "" {
		limit = MaxStepRuns
	}
	_, es, base, err := s.planRuns(r.Context(), r, limit)
	if err != nil {
		fail(w, err)
		return
	}
	out := []trendPoint{}
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		if e.State == store.StateRunning {
			continue
		}
		p := trendPoint{ID: e.ID, Started: e.StartedAt.Unix(), Baseline: e.ID == base}
		if step == "" {
			p.Value, _ = metricOf(e, metric)
		} else {
			run, err := s.st.Get(r.Context(), e.ID)
			if err != nil {
				fail(w, err)
				return
			}
			j := slices.IndexFunc(run.Steps, func(st result.StepResult) bool { return stepName(st) == step })
			if j < 0 {
				continue // the step was not in this run
			}
			p.Value = stepMetric(run.Steps[j], metric)
		}
		out = append(out, p)
	}
	writeJSON(w, out)
}

// get reads a run named by a query parameter.
func (s *Server) get(ctx context.Context, r *http.Request, param string) (*result.Run, error) {
	id := r.URL.Query().Get(param)
	if id == "" {
		return nil, badRequest("name a run: ?" + param + "=ID")
	}
	if _, err := s.st.Entry(ctx, id); err != nil { // only runs of the history, never a file
		return nil, err
	}
	return s.st.Get(ctx, id)
}

func (s *Server) compare(w http.ResponseWriter, r *http.Request) {
	base, err := s.get(r.Context(), r, "base")
	if err != nil {
		fail(w, err)
		return
	}
	head, err := s.get(r.Context(), r, "head")
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.o.Compare(w, base, head); err != nil {
		fmt.Fprintf(w, "\n%v\n", err)
	}
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.st.Entry(r.Context(), id); err != nil {
		fail(w, err)
		return
	}
	run, err := s.st.Get(r.Context(), id)
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.o.Report(w, run); err != nil {
		fmt.Fprintf(w, "<p>the report could not be made: %s</p>", err)
	}
}
