// Package monitor runs a plan's light check on a schedule (`stampede
// monitor`): each check is one short load, recorded in the run history
// through the run service (record) and compared with the plan's
// baseline; a failed SLO or a significant regression opens an incident,
// which is alerted once, reminded after a while, and alerted once more
// when a check passes again.
//
// Design: the rule of what to alert is one pure function (Step) of the
// remembered State and the latest check. The State is saved in the
// store after every check, so a monitor that restarts resumes its
// incident: it neither alerts it again nor forgets to alert its end.
// Delivery is at least once: a monitor killed between sending an alert
// and saving the state sends it again when it comes back. A target that
// is down is a failed check like any other (its run records every
// request as refused), never a reason to stop.
//
// Checks follow a fixed schedule (start + k·every, as the watch's
// samplers do); a check that overruns its slot skips the missed ones
// rather than queueing them. Its own state is served as Prometheus
// metrics (Metrics).
package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/record"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
	"github.com/stampede-perf/stampede/suite"
	"github.com/stampede-perf/stampede/watch"
)

// Options tune a Monitor. Every function may be nil.
type Options struct {
	// Every overrides the plan's monitor.every when set.
	Every  time.Duration
	Getenv func(string) string
	Now    func() time.Time
	// Logf hears each check and alert.
	Logf func(format string, args ...any)
	// HTTPClient sends the webhooks (a client with a 10 s timeout when
	// nil).
	HTTPClient *http.Client
	// OnCheck sees each check once its state is saved, on the monitor's
	// goroutine.
	OnCheck func(Check)
}

// Check is what one check found.
type Check struct {
	Run     *result.Run // nil when the check could not run at all
	Healthy bool
	Reason  string
	Alert   *Alert // the alert it sent, if any
	State   State
	// SendErrors are the alert deliveries that failed.
	SendErrors []error
}

// Monitor checks one plan on a schedule. Run is called once; Metrics
// may be served from any goroutine meanwhile.
type Monitor struct {
	p      *plan.Plan // the check's plan: the monitor's load and SLOs
	name   string
	cfg    plan.Monitor
	gate   float64
	st     *store.Store
	o      Options
	every  time.Duration
	send   []sender
	reg    *prometheus.Registry
	alerts *prometheus.CounterVec
	sendKO prometheus.Counter

	mu    sync.Mutex // guards state and last
	state State
	last  *result.Run
}

// New prepares the monitor of p (validated) with its history st.
func New(p *plan.Plan, st *store.Store, o Options) (*Monitor, error) {
	if st == nil {
		return nil, errors.New("monitor: a run history is needed to keep the checks and the state")
	}
	cfg := plan.MonitorDefaults(p.Monitor)
	every := cfg.Every.D()
	if o.Every != 0 {
		every = o.Every
	}
	if every < plan.MinMonitorEvery || every > plan.MaxMonitorEvery {
		return nil, fmt.Errorf("monitor: every %v is out of range: use %v to %v", every, plan.MinMonitorEvery, plan.MaxMonitorEvery)
	}
	if cfg.Duration.D() > every {
		return nil, fmt.Errorf("monitor: a check lasts %v, longer than the %v between checks: shorten monitor.duration or check less often", cfg.Duration.D(), every)
	}
	gate, err := plan.ParsePercent(cfg.Regression)
	if err != nil {
		return nil, fmt.Errorf("monitor.regression: %v", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	q := *p
	q.Load = plan.LoadSpec{VUs: cfg.VUs, Rate: cfg.Rate, Duration: cfg.Duration}
	if cfg.Rate > 0 {
		q.Load.Model = "open"
	} else {
		q.Load.Model = "closed"
	}
	if len(cfg.Thresholds) > 0 {
		q.Thresholds = cfg.Thresholds
	}
	q.Tests, q.Benchmarks, q.Monitor = nil, nil, nil
	q.ApplyDefaults()
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if w := int(cfg.Duration.D() / time.Second); w < minRegressionWindows {
		o.Logf("warning: a check of %v gives %d one-second windows: with fewer than %d, no regression against the baseline can be significant once the compared rows share α; lengthen monitor.duration to 10s or more",
			cfg.Duration.D(), w, minRegressionWindows)
	}
	m := &Monitor{p: &q, name: p.Name, cfg: cfg, gate: gate, st: st, o: o, every: every, reg: prometheus.NewRegistry()}
	for _, a := range cfg.Alerts {
		m.send = append(m.send, newSender(a, o.HTTPClient))
	}
	m.metrics()
	return m, nil
}

// minRegressionWindows is the fewest one-second windows a check needs for
// a regression to be significant: the smallest two-sided Mann–Whitney p
// of n windows against n is 2/C(2n, n), and Holm's correction multiplies
// it by the rows compared (eight for one step): 5 a side give 0.063,
// 6 give 0.017.
const minRegressionWindows = 6

// Every is the time between checks.
func (m *Monitor) Every() time.Duration { return m.every }

// Run loads the saved state, checks at once and then every Every until
// ctx ends. It returns nil when ctx ended, an error when the state
// cannot be read or saved.
func (m *Monitor) Run(ctx context.Context) error {
	doc, err := m.st.MonitorState(ctx, m.name)
	if err != nil {
		return err
	}
	if doc != nil {
		var s State
		if err := json.Unmarshal(doc, &s); err != nil {
			return fmt.Errorf("monitor: the saved state of plan %q is unreadable: %v", m.name, err)
		}
		m.mu.Lock()
		m.state = s
		m.mu.Unlock()
		if s.Open {
			m.o.Logf("resuming incident %s of plan %s, open since %s", s.Incident, m.name, s.Since.Format(time.RFC3339))
		}
	}
	start := m.o.Now()
	var saveErr error
	check := func(time.Time) {
		if saveErr != nil {
			return
		}
		saveErr = m.check(ctx)
	}
	check(start)
	watch.Aligned(ctx, start, m.every, m.o.Now, func(now time.Time) {
		if saveErr == nil && ctx.Err() == nil {
			check(now)
		}
	})
	if saveErr != nil {
		return saveErr
	}
	return nil
}

// check runs one check, records it, applies Step, alerts and saves the
// state. A check cut short by ctx is recorded as aborted but changes no
// state.
func (m *Monitor) check(ctx context.Context) error {
	now := m.o.Now()
	run, healthy, reason := m.runOnce(ctx, now)
	if ctx.Err() != nil {
		return nil
	}
	m.mu.Lock()
	s, alert := Step(m.state, healthy, reason, runID(run), now, m.cfg.Remind.D())
	m.mu.Unlock()
	c := Check{Run: run, Healthy: healthy, Reason: reason, State: s}
	if alert != nil {
		alert.Plan, alert.Target = m.name, m.p.Target.BaseURL
		if run != nil {
			alert.P95MS, alert.ErrorRate, alert.RPS = run.Summary.Latency.P95, run.Summary.ErrorRate, run.Summary.RPS
		}
		c.Alert = alert
		c.SendErrors = m.deliver(ctx, alert)
	}
	doc, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := m.st.SetMonitorState(context.WithoutCancel(ctx), m.name, doc); err != nil {
		return err
	}
	m.mu.Lock()
	m.state, m.last = s, run
	m.mu.Unlock()
	status := "ok"
	if !healthy {
		status = "FAIL: " + reason
	}
	m.o.Logf("check %s: %s", runID(run), status)
	if m.o.OnCheck != nil {
		m.o.OnCheck(c)
	}
	return nil
}

func runID(r *result.Run) string {
	if r == nil {
		return ""
	}
	return r.ID
}

// runOnce runs the check's load through the run service, compared with
// the plan's baseline, and judges it.
func (m *Monitor) runOnce(ctx context.Context, now time.Time) (*result.Run, bool, string) {
	o := record.Options{Store: m.st, Meta: record.MetaOf(ctx, m.p, "load", now)}
	o.Meta.Tags = map[string]string{"monitor": m.every.String()}
	base, err := m.st.Resolve(ctx, "baseline:"+m.name)
	switch {
	case err == nil:
		o.Base = base
		o.Gate = m.gate
	case !errors.Is(err, store.ErrNotFound):
		m.o.Logf("the baseline of plan %s could not be read: %v", m.name, err)
	}
	rec, err := record.Begin(ctx, o)
	if err != nil {
		return nil, false, "the check could not be recorded: " + err.Error()
	}
	run, runErr := suite.RunLoad(ctx, m.p, suite.LoadOptions{Getenv: m.o.Getenv, DefaultSLO: true, DeferConclusions: true,
		OnWindow: func(w result.Window, _ *result.Run) { rec.Window(w) }})
	if run == nil {
		rec.Abort(context.WithoutCancel(ctx), runErr)
		return nil, false, "the check did not run: " + firstLine(runErr)
	}
	out, err := rec.Finish(context.WithoutCancel(ctx), run)
	if err != nil {
		m.o.Logf("the check was not recorded in the history: %v", err)
	}
	var why []string
	if run.Aborted {
		why = append(why, "aborted: "+run.AbortReason)
	}
	for _, f := range analyze.Failed(run.Thresholds, false) {
		why = append(why, analyze.Describe(f))
	}
	if out.Regressed && run.Comparison != nil {
		for _, r := range run.Comparison.Rows {
			if r.Regression {
				why = append(why, fmt.Sprintf("regression against the baseline: %s %s %+.1f%%", r.Name, r.Metric, r.DeltaPct))
			}
		}
	}
	return run, len(why) == 0, strings.Join(why, "; ")
}

func firstLine(err error) string {
	if err == nil {
		return "no reason given"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// deliver sends an alert everywhere, returning what failed.
func (m *Monitor) deliver(ctx context.Context, a *Alert) []error {
	m.alerts.WithLabelValues(a.Status).Inc()
	var errs []error
	for _, s := range m.send {
		if err := s.send(context.WithoutCancel(ctx), a); err != nil {
			m.sendKO.Inc()
			m.o.Logf("alert %s to %s failed: %v", a.Status, s.name, err)
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		} else {
			m.o.Logf("alert %s of incident %s sent to %s", a.Status, a.Incident, s.name)
		}
	}
	return errs
}

// Metrics serves the monitor's state in the Prometheus text format.
func (m *Monitor) Metrics() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Monitor) metrics() {
	labels := prometheus.Labels{"plan": m.name}
	read := func(f func(s State, last *result.Run) float64) func() float64 {
		return func() float64 {
			m.mu.Lock()
			defer m.mu.Unlock()
			return f(m.state, m.last)
		}
	}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "stampede_monitor_checks_total", Help: "Checks run (kept across restarts).", ConstLabels: labels},
			read(func(s State, _ *result.Run) float64 { return float64(s.Checks) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "stampede_monitor_failed_checks_total", Help: "Checks that failed an SLO or regressed.", ConstLabels: labels},
			read(func(s State, _ *result.Run) float64 { return float64(s.Failures) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stampede_monitor_healthy", Help: "1 when the latest check passed.", ConstLabels: labels},
			read(func(s State, _ *result.Run) float64 { return b(s.Healthy) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stampede_monitor_incident_open", Help: "1 while an incident lasts.", ConstLabels: labels},
			read(func(s State, _ *result.Run) float64 { return b(s.Open) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stampede_monitor_last_check_timestamp_seconds", Help: "When the latest check started.", ConstLabels: labels},
			read(func(s State, _ *result.Run) float64 {
				if s.LastCheck.IsZero() {
					return 0
				}
				return float64(s.LastCheck.UnixMilli()) / 1000
			})),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stampede_monitor_last_p95_seconds", Help: "p95 latency of the latest check run by this process.", ConstLabels: labels},
			read(func(_ State, r *result.Run) float64 {
				if r == nil {
					return 0
				}
				return r.Summary.Latency.P95 / 1000
			})),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stampede_monitor_last_error_ratio", Help: "Error rate of the latest check run by this process.", ConstLabels: labels},
			read(func(_ State, r *result.Run) float64 {
				if r == nil {
					return 0
				}
				return r.Summary.ErrorRate
			})),
	)
	m.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stampede_monitor_alerts_total", Help: "Alerts sent by this process, by status.", ConstLabels: labels}, []string{"status"})
	m.sendKO = prometheus.NewCounter(prometheus.CounterOpts{Name: "stampede_monitor_alert_errors_total", Help: "Alert deliveries that failed.", ConstLabels: labels})
	m.reg.MustRegister(m.alerts, m.sendKO)
}
