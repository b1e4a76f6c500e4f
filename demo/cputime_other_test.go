//go:build !unix

package demo

import (
	"testing"
	"time"
)

func processCPU(t testing.TB) time.Duration {
	t.Skip("process CPU time is measured with getrusage, which this platform lacks")
	return 0
}
