//go:build race

package zoo_test

const raceEnabled = true
