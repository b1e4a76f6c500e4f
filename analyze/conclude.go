package analyze

import "github.com/stampede-perf/stampede/result"

// Conclude turns a finished Run into findings, recommendations and the
// list of rules that could not be evaluated. cfg holds the plan's
// `analysis:` thresholds (nil for the defaults). It only reads and adds
// to run; it prints nothing.
func Conclude(run *result.Run, cfg map[string]float64) {}
