package plan

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Monitor is the `monitor:` block: the light load `stampede monitor`
// runs on a schedule, the SLOs it is judged by, and where alerts go.
type Monitor struct {
	// Every is the time between checks (default 5m; --every overrides).
	Every Duration `yaml:"every" json:"every,omitempty"`
	// VUs (closed model) or Rate (open model) is the load; default 1 VU.
	VUs      int      `yaml:"vus" json:"vus,omitempty"`
	Rate     float64  `yaml:"rate" json:"rate,omitempty"`
	Duration Duration `yaml:"duration" json:"duration,omitempty"` // default 10s
	// Thresholds are the SLOs of a check; default: the plan's, else the
	// default SLO (errors < 1%).
	Thresholds []*Threshold `yaml:"thresholds" json:"thresholds,omitempty"`
	// Regression is the least significant worsening against the plan's
	// baseline that makes a check fail ("20%"); "" or "0%" compares
	// without failing.
	Regression string `yaml:"regression" json:"regression,omitempty"`
	// Remind repeats the alert of an incident that lasts this long
	// since its last alert (default 1h).
	Remind Duration `yaml:"remind" json:"remind,omitempty"`
	Alerts []*Alert `yaml:"alerts" json:"alerts,omitempty"`
}

// Alert is one place alerts go: exactly one of a generic JSON webhook, a
// Slack-compatible webhook (`{"text": …}`) or a command (run by sh -c
// with the alert's JSON on its standard input).
type Alert struct {
	Webhook string `yaml:"webhook" json:"webhook,omitempty"`
	Slack   string `yaml:"slack" json:"slack,omitempty"`
	Command string `yaml:"command" json:"command,omitempty"`
}

// Bounds and defaults of a monitor block.
const (
	DefaultMonitorEvery    = 5 * time.Minute
	DefaultMonitorDuration = 10 * time.Second
	DefaultMonitorRemind   = time.Hour
	MinMonitorEvery        = time.Second
	MaxMonitorEvery        = 24 * time.Hour
	MaxMonitorDuration     = 10 * time.Minute
	MaxMonitorVUs          = 100
	MaxMonitorRate         = 1000
	MaxMonitorRemind       = 7 * 24 * time.Hour
	MaxMonitorAlerts       = 16
)

// MonitorDefaults is m with its defaults filled (m may be nil: all
// defaults).
func MonitorDefaults(m *Monitor) Monitor {
	var out Monitor
	if m != nil {
		out = *m
	}
	if out.Every == 0 {
		out.Every = Duration(DefaultMonitorEvery)
	}
	if out.Duration == 0 {
		out.Duration = Duration(DefaultMonitorDuration)
	}
	if out.VUs == 0 && out.Rate == 0 {
		out.VUs = 1
	}
	if out.Remind == 0 {
		out.Remind = Duration(DefaultMonitorRemind)
	}
	return out
}

// ParsePercent reads "20%", "20" (both 0.2) or "" (0).
func ParsePercent(s string) (float64, error) {
	t := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if t == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(t, 64)
	// NaN fails every comparison: the gate would never fire.
	if err != nil || !(v >= 0 && v <= 10000) {
		return 0, fmt.Errorf("%q is not a percentage from 0%% to 10000%% (write it like \"20%%\")", s)
	}
	return v / 100, nil
}

// monitor checks the monitor block.
func (c *checker) monitor() {
	m := c.p.Monitor
	if m == nil {
		return
	}
	d := func(path string, v Duration, lo, hi time.Duration) {
		if v != 0 && (v.D() < lo || v.D() > hi) {
			c.add(path, "%v is out of range: use %v to %v", v.D(), lo, hi)
		}
	}
	d("monitor.every", m.Every, MinMonitorEvery, MaxMonitorEvery)
	d("monitor.duration", m.Duration, time.Second, MaxMonitorDuration)
	d("monitor.remind", m.Remind, time.Second, MaxMonitorRemind)
	if m.Every != 0 && m.Duration > m.Every {
		c.add("monitor.duration", "%v is longer than monitor.every (%v): a check must end before the next", m.Duration.D(), m.Every.D())
	}
	switch {
	case m.VUs != 0 && m.Rate != 0:
		c.add("monitor.rate", "vus (closed model) and rate (open model) exclude each other")
	case m.VUs < 0 || m.VUs > MaxMonitorVUs:
		c.add("monitor.vus", "%d is out of range: a check is a light load of 1 to %d VUs", m.VUs, MaxMonitorVUs)
	case m.Rate < 0 || m.Rate > MaxMonitorRate:
		c.add("monitor.rate", "%g is out of range: a check is a light load of at most %d iterations/s", m.Rate, MaxMonitorRate)
	}
	c.thresholdList("monitor.thresholds", m.Thresholds, nil)
	if _, err := ParsePercent(m.Regression); err != nil {
		c.add("monitor.regression", "%v", err)
	}
	if len(m.Alerts) > MaxMonitorAlerts {
		c.add("monitor.alerts", "%d alerts: at most %d", len(m.Alerts), MaxMonitorAlerts)
	}
	for i, a := range m.Alerts {
		p := indexPath("monitor.alerts", i)
		if a == nil {
			c.add(p, "empty alert: give webhook: URL, slack: URL or command: CMD")
			continue
		}
		n := 0
		for field, u := range map[string]string{"webhook": a.Webhook, "slack": a.Slack} {
			if u == "" {
				continue
			}
			n++
			if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				c.add(fieldPath(p, field), "want an http:// or https:// URL")
			}
		}
		if a.Command != "" {
			n++
		}
		if n != 1 {
			c.add(p, "give exactly one of webhook: URL, slack: URL or command: CMD")
		}
	}
}
