// Package boot keeps the pages the program's initialisers touch from
// piling up in its resident memory. Imported for its side effect by
// cmd/stampede, it drops the executable's read-only pages every Interval
// while the packages initialise (a page comes back only if touched
// again), and main calls Done before doing its work.
//
// It imports only image (errors, os, sync, syscall, time), so Go
// initialises it right after those, before most of the libraries the
// binary links and their registrations (protobuf descriptors, JSON
// schemas, Kubernetes types): a heavier import (fmt, runtime/debug) would
// put it after them. cmd/stampede's TestBootInitialisesEarly holds that.
package boot

import (
	"time"

	"github.com/stampede-perf/stampede/internal/selfmem/image"
)

// Interval is how often start-up drops the executable's pages: long
// enough that a drop (one madvise a mapping) costs nothing beside the work
// between two, short enough that only a few megabytes come in between.
const Interval = 5 * time.Millisecond

var stop = image.DropEvery(Interval)

// Done stops the drops and waits for the last one to end. It may be
// called more than once.
func Done() { stop() }
