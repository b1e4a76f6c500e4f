//go:build race

package racedetect

// Enabled: the binary was built with -race.
const Enabled = true
