package cli

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/stampede-perf/stampede/monitor"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/suite"
	"github.com/stampede-perf/stampede/web"
)

func newMonitorCmd(e *env) *cobra.Command {
	var every time.Duration
	var dsn, metricsAddr string
	c := &cobra.Command{
		Use:   "monitor plan.yaml",
		Short: "Check a plan on a schedule with a light load and alert on failures and regressions",
		Long: `Run the plan's monitor: block — a light load, its SLOs, where alerts go —
every --every (default: the block's every, else 5m) until interrupted.
Each check is recorded in the run history (tagged monitor=EVERY) and
compared with the plan's baseline. A failed SLO or a significant
regression beyond monitor.regression opens an incident: one alert when it
opens, a reminder each monitor.remind while it lasts (default 1h), one
when a check passes again. Alerts go to generic JSON webhooks, Slack
incoming webhooks and commands (the alert's JSON on standard input). The
state is kept in the history, so a restarted monitor resumes its incident
without alerting it again; a target that is down is a failed check, and
the monitor keeps going.

  stampede monitor shop.yaml --every 5m
  stampede monitor shop.yaml --metrics 127.0.0.1:9465    its status page, and /metrics

  monitor:
    every: 5m
    vus: 2              # or rate: 5
    duration: 20s
    thresholds: ["p95 < 300ms", "error_rate < 1%"]
    regression: 20%
    remind: 1h
    alerts:
      - webhook: https://alerts.example.com/stampede
      - slack: https://hooks.slack.com/services/…
      - command: "logger -t stampede"

Exit codes: 0 interrupted after checks, 2 invalid input or a history that
cannot be written.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runMonitor(c.Context(), e, args[0], every, dsn, metricsAddr, c.Flags().Changed("every"))
		},
	}
	c.Flags().DurationVar(&every, "every", 0, "time between checks (default: the plan's monitor.every, else 5m)")
	addStoreFlag(c.Flags(), &dsn)
	c.Flags().StringVar(&metricsAddr, "metrics", "", "serve the monitor's status page and its state as Prometheus metrics (/metrics) at `HOST:PORT` (loopback unless a host is named)")
	return c
}

func runMonitor(ctx context.Context, e *env, file string, every time.Duration, dsn, metricsAddr string, everySet bool) error {
	p, err := plan.Load(file)
	if err != nil {
		return invalid(err)
	}
	if p.Monitor == nil {
		fmt.Fprintf(e.stderr, "stampede: %s has no monitor: block: checking with 1 VU for 10s, judged by the plan's thresholds (else errors < 1%%)\n", file)
	}
	if err := suite.Compile(p, e.getenv); err != nil {
		return invalid(compileErr(err))
	}
	if everySet && (every < plan.MinMonitorEvery || every > plan.MaxMonitorEvery) {
		return invalidf("--every %v: use %v to %v", every, plan.MinMonitorEvery, plan.MaxMonitorEvery)
	}
	st, err := openStore(e, p.File, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := monitor.New(p, st, monitor.Options{Every: every, Getenv: e.getenv, Now: e.now,
		Logf: func(format string, a ...any) {
			fmt.Fprintf(e.stderr, "%s %s\n", e.now().Format("15:04:05"), fmt.Sprintf(format, a...))
		}})
	if err != nil {
		return invalid(err)
	}
	if metricsAddr != "" {
		ln, loopback, err := web.Listen(metricsAddr)
		if err != nil {
			return invalidf("--metrics %s: %v", metricsAddr, err)
		}
		srv := &http.Server{Handler: web.Guard(loopback, m.Handler()), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(e.stderr, "monitor status at %s, metrics at %smetrics\n", web.URL(ln.Addr().String()), web.URL(ln.Addr().String()))
		if !loopback {
			fmt.Fprintf(e.stderr, "stampede: warning: --metrics %s is reachable from other machines\n", metricsAddr)
		}
	}
	fmt.Fprintf(e.stderr, "monitoring %s every %v, recorded in %s (Ctrl-C stops)\n", quotePlan(p.Name), m.Every(), st.Location())
	if err := m.Run(ctx); err != nil {
		return invalid(err)
	}
	return nil
}
