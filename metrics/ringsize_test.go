package metrics

import (
	"testing"
	"unsafe"
)

// The rings of a run's VUs fit the budget together, each big enough for
// its VU and a power of two (NewRing would round anything else up).
func TestRingSizeFitsTheBudget(t *testing.T) {
	for _, vus := range []int{0, 1, 8, 16, 17, 50, 100, 1000, 4096, 10000, 100000} {
		n := RingSize(vus)
		if n&(n-1) != 0 || n < 8 || n > 2048 {
			t.Fatalf("RingSize(%d) = %d: want a power of two in [8, 2048]", vus, n)
		}
		if total := n * max(vus, 1); total > ringBudget && n > 8 {
			t.Fatalf("RingSize(%d) = %d: %d samples in all, over the budget of %d", vus, n, total, ringBudget)
		}
		if vus <= 8 && n != 2048 {
			t.Fatalf("RingSize(%d) = %d: a few fast VUs get the largest rings", vus, n)
		}
	}
	// An open model's pool keeps larger rings: a few of its VUs may carry
	// the whole rate.
	for _, c := range []struct{ vus, want int }{{1, 2048}, {50, 2048}, {500, 256}, {10000, 8}} {
		if n := OpenRingSize(c.vus); n != c.want {
			t.Fatalf("OpenRingSize(%d) = %d, want %d", c.vus, n, c.want)
		}
	}
	// 50 VUs, the usual closed-model comparison, hold 0.9 MB of rings.
	if b := RingSize(50) * 50 * int(unsafe.Sizeof(Sample{})); b > 1<<20 {
		t.Fatalf("50 VUs' rings take %d bytes", b)
	}
}
