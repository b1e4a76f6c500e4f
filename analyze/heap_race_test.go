//go:build race

package analyze

// heapRace: the race detector slows the population tests many times over.
const heapRace = true
