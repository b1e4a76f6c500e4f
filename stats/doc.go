// Package stats holds the statistics stampede's analysis draws its
// conclusions with: trend tests of a timeline (Mann–Kendall with the
// Hamed–Rao correction for autocorrelation, the Theil–Sen slope and Sen's
// interval), the two-sample Mann–Whitney U test with Holm's adjustment
// for many tests at once, the fit of the Universal Scalability Law, and
// the knee of a curve (Kneedle).
//
// The package is opinionated in the way of golang.org/x/perf/benchmath:
// every test here assumes no distribution, because what a load test
// measures (latencies, heap sizes, throughput under contention) is skewed,
// bounded and full of ties; the price is some power on small samples,
// which the callers state as warnings rather than hide. Numbers are plain
// []float64 in and plain values out: the package knows nothing of runs,
// windows or findings, so analyze keeps the rules and this package only
// the arithmetic. Inputs are never modified; the trend test, the fit and
// the knee leave NaN and infinite points out rather than let them poison
// a result; too little data gives NaN, false or an error, never a panic.
//
// Each function documents the paper or book it follows, and each is
// tested against a slow, obviously right reference (every pairwise slope
// listed and sorted, every split of two samples enumerated, a dense grid
// over the USL's parameters).
package stats
