// Package boot keeps the pages the program's initialisers touch from
// piling up in its resident memory. Imported for its side effect by
// cmd/stampede, it drops the executable's read-only pages whenever they
// pile up above Over while the packages initialise (a page comes back only if touched
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

// Interval is how often start-up looks at its file-backed resident
// memory, and Over the most it holds before dropping the executable's
// pages: a look is one small read of /proc, a drop one madvise a mapping
// and then the faults that bring back the pages in use, so dropping only
// above Over keeps start-up's added CPU to a few drops.
const (
	Interval = 2 * time.Millisecond
	Over     = 10 << 20
)

var stop = image.DropEvery(Interval, Over)

// Done stops the drops and waits for the last one to end. It may be
// called more than once.
func Done() { stop() }
