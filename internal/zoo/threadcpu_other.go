//go:build !linux

package zoo

import "time"

// threadCPU has no thread clock to read here: budgets fall back to wall
// time.
func threadCPU() (time.Duration, bool) { return 0, false }
