package plan

import (
	"strings"
	"testing"
)

// Each wrong monitor: block is refused at its line, naming the field;
// a right one passes with its defaults.
func TestMonitorValidation(t *testing.T) {
	const head = "name: x\ntarget: { base_url: \"http://127.0.0.1:8080\" }\nscenarios: [{ name: s, steps: [{ path: / }] }]\nmonitor:\n"
	for _, tc := range []struct {
		block, want, why string
	}{
		{"  every: 1m\n  vus: 2\n  alerts: [{ webhook: \"http://h/x\" }, { command: \"true\" }]\n", "", "a right block"},
		{"  every: 500ms\n", "p.yaml:5:10: monitor.every", "every below a second"},
		{"  every: 48h\n", "monitor.every", "every past a day"},
		{"  every: 10s\n  duration: 20s\n", "monitor.duration", "a check longer than the time between checks"},
		{"  vus: 101\n", "monitor.vus", "not a light load"},
		{"  rate: 5000\n", "monitor.rate", "not a light load either"},
		{"  vus: 1\n  rate: 1\n", "exclude each other", "both models"},
		{"  regression: lots\n", "monitor.regression", "not a percentage"},
		{"  thresholds: [\"p95 <\"]\n", "monitor.thresholds[0]", "a threshold that does not parse"},
		{"  alerts: [{ webhook: \"ftp://h\" }]\n", "monitor.alerts[0].webhook", "not an http URL"},
		{"  alerts: [{ webhook: \"http://h\", command: \"true\" }]\n", "exactly one", "two destinations in one alert"},
		{"  alerts: [{}]\n", "exactly one", "no destination"},
	} {
		_, err := Parse("p.yaml", []byte(head+tc.block))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.why, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one with %q", tc.why, err, tc.want)
		}
	}
	m := MonitorDefaults(nil)
	if m.Every.D() != DefaultMonitorEvery || m.VUs != 1 || m.Duration.D() != DefaultMonitorDuration || m.Remind.D() != DefaultMonitorRemind {
		t.Errorf("defaults %+v", m)
	}
	for in, want := range map[string]float64{"": 0, "20%": 0.2, "5": 0.05, " 0.5 % ": 0.005} {
		if got, err := ParsePercent(in); err != nil || got != want {
			t.Errorf("ParsePercent(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
