// Package gobench holds two tiny benchmarks that the bench package's tests
// run for real with `go test -bench`.
package gobench

// Sum adds 0…n-1.
func Sum(n int) int {
	s := 0
	for i := range n {
		s += i
	}
	return s
}
