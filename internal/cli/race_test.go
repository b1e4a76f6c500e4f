//go:build race

package cli

// raceEnabled: the race detector slows the generator several times over,
// so tests that measure timing drive less load under it.
const raceEnabled = true
