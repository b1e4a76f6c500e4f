package racedetect

import "testing"

// Skip skips t, saying why, when the binary was built with the race
// detector: an allocation count, a profile or a population statistic
// that its slowdown or its bookkeeping distorts. .ci/run finds every
// test that calls Skip or Loose (directly or through a helper of its own
// package) and runs exactly those again without the detector.
func Skip(t testing.TB, why string) {
	t.Helper()
	if Enabled {
		t.Skip(why + " (the plain pass of .ci/run runs it without -race)")
	}
}

// Loose is factor under the race detector and 1 without it: the widening
// of a timing bound that the detector's late timers and slower copies
// would break. The test runs in both passes, tight in the plain one.
func Loose(factor float64) float64 {
	if Enabled {
		return factor
	}
	return 1
}
