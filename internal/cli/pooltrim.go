package cli

import (
	"sync/atomic"
	"time"
)

// poolTrim gives back the memory of an open-model pool that shrank. A
// pool grown for a stall (the target's, or the generator's own on a busy
// machine) hands its VUs back once iterations are on time again (package
// load), but the Go heap keeps what they held: the collection that ran
// during the stall set the next heap goal from the stall's live heap, and
// the pages stay resident up to that goal. Trimming once the pool is
// well below its peak (at least trimShrinkVUs fewer and a quarter under
// it, at most once every trimEvery) collects, resets the goal from what
// is live now and returns the free pages, so a long run's memory follows
// its pool down instead of keeping its largest one.
type poolTrim struct {
	trim  func()       // selfmem.Trim
	spawn func(func()) // how trim runs: in a goroutine of its own (nil), or the test's way
	peak  int          // most VUs seen since the last trim
	last  time.Time    // when it last trimmed
	busy  atomic.Bool
}

const (
	trimShrinkVUs = 32
	trimEvery     = 10 * time.Second
)

// window looks at the VUs of a closed window, at now.
func (t *poolTrim) window(vus int, now time.Time) {
	t.peak = max(t.peak, vus)
	if t.peak-vus < trimShrinkVUs || 4*vus > 3*t.peak || now.Sub(t.last) < trimEvery {
		return
	}
	if !t.busy.CompareAndSwap(false, true) {
		return // the last one is still at it
	}
	t.peak, t.last = vus, now
	do := func() {
		defer t.busy.Store(false)
		t.trim()
	}
	if t.spawn == nil {
		go do()
		return
	}
	t.spawn(do)
}
