package zoo

import (
	"testing"
	"time"
)

// TestBudgetCountsThreadCPU checks that a planted function's budget is
// CPU time: spent only once the thread's clock advanced by it, and not
// much later (the clock is read only near the end of the budget).
func TestBudgetCountsThreadCPU(t *testing.T) {
	const want = 20 * time.Millisecond
	for range 3 {
		b := startBudget(want)
		start, ok := threadCPU()
		wall := time.Now()
		var h uint64 = 1
		for !b.spent() {
			for k := range 4096 {
				h = h*0x100000001b3 ^ uint64(k)
			}
		}
		end, _ := threadCPU()
		b.done()
		took := time.Since(wall)
		if !ok {
			if took < want {
				t.Errorf("without a thread clock the budget is wall time: spent after %v, want %v", took, want)
			}
			continue
		}
		// start is read just after the budget's own start: allow for it.
		used := end - start
		if used < want-time.Millisecond && took < 20*want {
			t.Errorf("spent after %v of thread CPU (%v wall), want at least %v (h %d)", used, took, want, h)
		}
		if used > want+want/2 {
			// A run of the machine's scheduler can add a little; half the
			// budget again means the clock is not what stops the work.
			t.Logf("used %v of thread CPU for a %v budget (%v wall)", used, want, took)
		}
	}
}
