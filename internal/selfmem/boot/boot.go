// Package boot keeps the pages the program's initialisers touch from
// piling up in its resident memory. Imported for its side effect by
// cmd/stampede, it drops the executable's read-only pages every Interval
// while the packages initialise (a page comes back only if touched
// again), and main calls Done before doing its work.
//
// It imports only image, os, sync, syscall and time, so Go initialises it
// right after those, before most of the libraries the binary links and
// their registrations (protobuf descriptors, JSON schemas, Kubernetes
// types): a heavier import (fmt, runtime/debug) would put it after them.
package boot

import (
	"sync"
	"time"

	"github.com/stampede-perf/stampede/internal/selfmem/image"
)

// Interval is how often start-up drops the executable's pages: long
// enough that a drop (one madvise a mapping) costs nothing beside the work
// between two, short enough that only a few megabytes come in between.
const Interval = 5 * time.Millisecond

var stop = start(Interval, func(spans []image.Span) bool { return image.Advise(spans) == nil })

// Done stops the drops and waits for the last one to end. It may be
// called more than once.
func Done() { stop() }

// start calls drop with the executable's read-only spans every interval
// until the returned stop is called or drop reports false.
func start(interval time.Duration, drop func([]image.Span) bool) (stop func()) {
	spans, err := image.Spans()
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
