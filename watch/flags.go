package watch

import (
	"time"

	"github.com/stampede-perf/stampede/plan"
)

// SpecFromFlags builds the system spec of an ad-hoc run from command-line
// flags: a process by pid or name (pid wins), a Prometheus URL, a pprof URL
// and a sampling interval (zero for the default). It returns nil when no
// flag asks for anything to be watched, so the caller can skip Start.
func SpecFromFlags(pid int, name, prometheusURL, pprofURL string, interval time.Duration) *plan.System {
	if pid <= 0 && name == "" && prometheusURL == "" && pprofURL == "" {
		return nil
	}
	s := &plan.System{Pprof: pprofURL, Interval: plan.Duration(interval)}
	switch {
	case pid > 0:
		s.Process = &plan.ProcessRef{PID: int32(pid)}
	case name != "":
		s.Process = &plan.ProcessRef{Name: name}
	}
	if prometheusURL != "" {
		s.Prometheus = &plan.PrometheusSpec{URL: prometheusURL}
	}
	return s
}
