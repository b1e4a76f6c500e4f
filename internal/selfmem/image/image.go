// Package image finds the executable's read-only mappings (its code and
// read-only data) and drops their pages from the process's page tables.
// The pages were never written, so dropping them loses nothing: the next
// touch maps them again from the page cache. Writable mappings are left
// alone: dropping one would lose what the program wrote.
//
// A page that comes back costs more than its 4 KB: the kernel maps what
// the page cache holds around it (fault-around, 64 KB), and a file
// written or read ahead in large folios (a linker's output, on recent
// kernels and file systems) maps 100-200 KB a touch, so a few hundred
// functions in use, their code and the runtime's tables for them
// (pclntab) scattered across the binary, hold 15-20 MB. Uncache and
// Evict also let go of the executable's pages in the page cache that no
// process maps, and mark the mappings to be read without read-ahead:
// what the program touches after that comes back one page at a time,
// and what it touches again later is found in the cache with no large
// neighbours to map along. The price is a read from the file for each
// page touched after an eviction (about 1,600 small reads at a run's
// start, served by the device or the host's cache).
//
// It imports only errors, os, sync, syscall and time, so that a package using it
// initialises before most of the libraries a binary links (Go initialises
// a package as soon as its imports are, the first by import path among
// those ready): package boot depends on that.
package image

import (
	"sync"
	"sync/atomic"
	"time"
)

// Span is one mapping, [Lo, Hi).
type Span struct{ Lo, Hi uint64 }

// Size is the span's length in bytes.
func (s Span) Size() int64 { return int64(s.Hi - s.Lo) }

// Drop reads the executable's read-only mappings and drops their pages.
// It reports the bytes of mapping it let go (0 where unsupported).
func Drop() (int64, error) { return apply(Advise) }

// Evict is Drop, and it also lets go of the executable's pages in the page
// cache that no process maps and marks the mappings to be read back a page
// at a time (see the package comment). Call it where nothing is being
// timed: the pages that come back are read from the file.
func Evict() (int64, error) {
	n, err := apply(Uncache)
	if err == nil {
		evicted.Store(true)
	}
	return n, err
}

// evicted is whether Evict has run in this process.
var evicted atomic.Bool

// Evicted reports whether Evict has run in this process (for the
// command, package boot's start-up).
func Evicted() bool { return evicted.Load() }

// apply reads the executable's read-only mappings, applies advise to them
// and reports their size.
func apply(advise func([]Span) error) (int64, error) {
	spans, err := Spans()
	if err != nil {
		return 0, err
	}
	if err := advise(spans); err != nil {
		return 0, err
	}
	var n int64
	for _, s := range spans {
		n += s.Size()
	}
	return n, nil
}

// DropEvery looks every interval (at least a millisecond) at the
// process's file-backed resident memory and, above over bytes, drops the
// executable's read-only pages, until the returned stop (or StopDrops)
// is called, within has passed (if above 0) or a drop fails; stop waits
// for the last look to end and may be called more than once. Between two
// drops only the pages touched since come back, so the process holds
// what it uses rather than all it ever touched; a drop only above over
// keeps the pages in use from being faulted in again and again.
func DropEvery(interval time.Duration, over int64, within time.Duration) (stop func()) {
	stop = every(max(interval, time.Millisecond), within, func(spans []Span) bool {
		if n, ok := fileResident(); ok && n <= over {
			return true
		}
		return Advise(spans) == nil
	})
	current.Lock()
	current.stop = stop
	current.Unlock()
	return stop
}

// current is the stop of the drops DropEvery started last.
var current struct {
	sync.Mutex
	stop func()
}

// StopDrops stops the drops DropEvery started, if they still run, and
// waits for the last look to end: a caller about to drop everything
// itself (a trim) takes over from them.
func StopDrops() {
	current.Lock()
	stop := current.stop
	current.Unlock()
	if stop != nil {
		stop()
	}
}

// every calls drop with the executable's read-only spans every interval
// until the returned stop is called, within has passed (if above 0) or
// drop reports false.
func every(interval, within time.Duration, drop func([]Span) bool) (stop func()) {
	spans, err := Spans()
	if err != nil || len(spans) == 0 {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		var deadline <-chan time.Time
		if within > 0 {
			d := time.NewTimer(within)
			defer d.Stop()
			deadline = d.C
		}
		for {
			select {
			case <-done:
				return
			case <-deadline:
				return
			case <-t.C:
				if !drop(spans) {
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-exited
	}
}
