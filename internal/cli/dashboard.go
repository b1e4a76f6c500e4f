package cli

import (
	"bytes"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/report"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/web/dashboard"
)

// DefaultDashboardAddr is where `--dashboard` alone serves the page.
const DefaultDashboardAddr = "127.0.0.1:8088"

// addDashboardFlag registers --dashboard [ADDR] on a command that runs
// loads.
func addDashboardFlag(fs *pflag.FlagSet, addr *string) {
	fs.StringVar(addr, "dashboard", "", "serve a live web page of the run at `ADDR` (--dashboard alone: "+DefaultDashboardAddr+"; loopback unless a host is named)")
	fs.Lookup("dashboard").NoOptDefVal = DefaultDashboardAddr
}

// dashboardMeta is what the dashboard's header says of the run.
type dashboardMeta = dashboard.Meta

// metaOf describes plan p's run of kind "load" or "test".
func metaOf(p *plan.Plan, kind string) dashboardMeta {
	return dashboardMeta{Plan: p.Name, Kind: kind, Target: p.Target.BaseURL}
}

// startDashboard binds the dashboard and says where it is; an address
// that is not loopback gets a warning, since the page shows the target
// and its numbers to whoever reaches it.
func startDashboard(e *env, addr string, m dashboardMeta) (*dashboard.Dashboard, error) {
	d, err := dashboard.Start(addr, m)
	if err != nil {
		return nil, invalidf("--dashboard %s: %v", addr, err)
	}
	fmt.Fprintf(e.stderr, "dashboard: %s (live while the run goes; the report at the end)\n", d.URL())
	if !d.Loopback() {
		fmt.Fprintf(e.stderr, "stampede: warning: --dashboard %s is reachable from other machines, and the page has no password\n", addr)
	}
	return d, nil
}

// liveRun is what a running command streams while the run goes: the
// live outputs (through their Fan) and the dashboard. A nil liveRun
// streams nothing.
type liveRun struct {
	fan  *output.Fan
	dash *dashboard.Dashboard // nil without --dashboard
}

// Window hands a closed window to the live outputs; it never blocks.
func (l *liveRun) Window(w result.Window, snap *result.Run) {
	if l != nil {
		l.fan.Window(w, snap)
	}
}

// System hands a point of the watched system under test to the
// dashboard.
func (l *liveRun) System(pt result.SystemPoint) {
	if l != nil && l.dash != nil {
		l.dash.System(pt)
	}
}

// Close flushes and closes the live outputs once the run has ended. With
// a nil final (no run was made) the dashboard stops too.
func (l *liveRun) Close(final *result.Run) error {
	if l == nil {
		return nil
	}
	err := l.fan.Close(final)
	if final == nil && l.dash != nil {
		l.dash.Finish(nil, nil)
	}
	return err
}

// concluded shows the concluded run and its HTML report on the
// dashboard and stops it, once the browsers have it.
func (l *liveRun) concluded(e *env, run *result.Run) {
	if l == nil || l.dash == nil {
		return
	}
	var buf bytes.Buffer
	if err := report.HTML(&buf, run); err != nil {
		fmt.Fprintf(e.stderr, "stampede: dashboard: the report could not be made: %v\n", err)
		buf.Reset()
	}
	if err := l.dash.Finish(run, buf.Bytes()); err != nil {
		fmt.Fprintf(e.stderr, "stampede: %v\n", err)
	}
}
