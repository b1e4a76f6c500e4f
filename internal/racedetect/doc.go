// Package racedetect tells whether the binary was built with the race
// detector, for the tests that must behave differently under it.
//
// Three kinds: a test that only drives less load under the detector's
// slowdown reads Enabled and runs in the race pass alone; a test whose
// timing bounds the detector would break widens them by Loose; a test
// that it cannot run truthfully at all (allocation counts, CPU profiles,
// single-goroutine statistics tens of times slower) calls Skip. .ci/run
// then runs every test that calls Loose or Skip once more without the
// detector, and nothing else twice.
package racedetect
