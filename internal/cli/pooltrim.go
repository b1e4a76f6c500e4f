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
//
// A long run is also trimmed once every trimPeriod whatever its pool
// does. Between collections its heap fills with garbage up to the goal,
// and after them the runtime returns the free pages only slowly; the
// small ups and downs of a pool under trimShrinkVUs, each collection
// landing at another moment of them, walk the heap goal and its resident
// pages up over tens of minutes (an hour at 2,000 iterations/s rose from
// 26.7 to 29.3 MB in twenty). A collection and a return of the free
// pages once a minute cost a few milliseconds of CPU for a heap of tens
// of megabytes and hold the resident memory to what is live plus a
// minute's garbage.
type poolTrim struct {
	trim  func()       // selfmem.Trim
	spawn func(func()) // how trim runs: in a goroutine of its own (nil), or the test's way
	peak  int          // most VUs seen since the last trim
	last  time.Time    // when it last trimmed
	first time.Time    // the first window's time
	busy  atomic.Bool
}

const (
	trimShrinkVUs = 32
	trimEvery     = 10 * time.Second
	trimPeriod    = time.Minute
)

// window looks at the VUs of a closed window, at now.
func (t *poolTrim) window(vus int, now time.Time) {
	if t.first.IsZero() {
		t.first = now
	}
	t.peak = max(t.peak, vus)
	shrunk := t.peak-vus >= trimShrinkVUs && 4*vus <= 3*t.peak && now.Sub(t.last) >= trimEvery
	from := t.last // the last trim, or the first window
	if from.Before(t.first) {
		from = t.first
	}
	if !shrunk && now.Sub(from) < trimPeriod {
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
