// Package image finds the executable's read-only mappings (its code and
// read-only data) and drops their pages from the process's page tables.
// The pages were never written, so dropping them loses nothing: the next
// touch maps them again from the page cache. Writable mappings are left
// alone: dropping one would lose what the program wrote.
//
// It imports only errors, os, sync, syscall and time, so that a package using it
// initialises before most of the libraries a binary links (Go initialises
// a package as soon as its imports are, the first by import path among
// those ready): package boot depends on that.
package image

import (
	"sync"
	"time"
)

// Span is one mapping, [Lo, Hi).
type Span struct{ Lo, Hi uint64 }

// Size is the span's length in bytes.
func (s Span) Size() int64 { return int64(s.Hi - s.Lo) }

// Drop reads the executable's read-only mappings and drops their pages.
// It reports the bytes of mapping it let go (0 where unsupported).
func Drop() (int64, error) {
	spans, err := Spans()
	if err != nil {
		return 0, err
	}
	if err := Advise(spans); err != nil {
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
// executable's read-only pages, until the returned stop is called or a
// drop fails; stop waits for the last look to end and may be called more
// than once. Between two drops only the pages touched since come back,
// so the process holds what it uses rather than all it ever touched; a
// drop only above over keeps the pages in use from being faulted in
// again and again.
func DropEvery(interval time.Duration, over int64) (stop func()) {
	return every(max(interval, time.Millisecond), func(spans []Span) bool {
		if n, ok := fileResident(); ok && n <= over {
			return true
		}
		return Advise(spans) == nil
	})
}

// every calls drop with the executable's read-only spans every interval
// until the returned stop is called or drop reports false.
func every(interval time.Duration, drop func([]Span) bool) (stop func()) {
	spans, err := Spans()
	if err != nil || len(spans) == 0 {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
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
