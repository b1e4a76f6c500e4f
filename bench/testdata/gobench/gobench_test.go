package gobench

import "testing"

var (
	sumSink   int
	bytesSink []byte
)

func BenchmarkSum(b *testing.B) {
	for range b.N {
		sumSink = Sum(100)
	}
}

// BenchmarkAlloc allocates exactly one 64-byte slice per operation.
func BenchmarkAlloc(b *testing.B) {
	for range b.N {
		bytesSink = make([]byte, 64)
	}
}
