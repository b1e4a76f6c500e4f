//go:build !race

package analyze

const heapRace = false
