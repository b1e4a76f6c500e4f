//go:build race

package netcond_test

// raceSlack widens the timing bounds under the race detector: timers
// fire late and copies cost more, so the bounds are three times wider
// (the plain pass checks the real ones).
const raceSlack = 3.0
