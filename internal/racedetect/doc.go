// Package racedetect tells whether the binary was built with the race
// detector, for tests that measure timing and drive less load under its
// slowdown while still running there.
//
// A package whose tests only adapt their load this way says so through
// this package rather than test files built with or without the race
// tag: .ci/run runs a second pass, without the detector, over every
// package that has such files, which a package that runs the same tests
// either way does not need.
package racedetect
