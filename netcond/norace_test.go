//go:build !race

package netcond_test

// raceSlack widens the timing bounds under the race detector; without
// it they are the issue's own.
const raceSlack = 1.0
