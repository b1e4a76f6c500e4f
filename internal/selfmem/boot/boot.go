// Package boot keeps the pages the program's initialisers touch from
// piling up in its resident memory. Imported for its side effect by
// cmd/stampede, it drops the executable's read-only pages whenever they
// pile up above Over while the packages initialise (a page comes back
// only if touched again), until main calls Done before doing its work.
// A run first evicts them from the page cache (image.Evict), and its
// drops go on until its trim before the VUs takes over (image.StopDrops).
//
// It imports only os, time and image (errors, os, sync, syscall, time), so Go
// initialises it right after those, before most of the libraries the
// binary links and their registrations (protobuf descriptors, JSON
// schemas, Kubernetes types): a heavier import (fmt, runtime/debug) would
// put it after them. cmd/stampede's TestBootInitialisesEarly holds that.
package boot

import (
	"os"
	"time"

	"github.com/stampede-perf/stampede/internal/selfmem/image"
)

// Interval is how often start-up looks at its file-backed resident
// memory, and Over the most it holds before dropping the executable's
// pages: a look is one small read of /proc, a drop one madvise a mapping
// and then the faults that bring back the pages in use, so dropping only
// above Over keeps start-up's added CPU to a few drops. A Load, whose
// pages come back one at a time once evicted, drops above OverLoad.
//
// Within bounds how long the drops go on when nothing stops them: main
// stops them at once for every command but a Load, which stops them when
// it trims before its VUs start (selfmem), so that its command line and
// the plan's compilation are covered too.
const (
	Interval = 2 * time.Millisecond
	Over     = 10 << 20
	OverLoad = 6 << 20
	Within   = 5 * time.Second
)

// Load reports whether the command runs a load (stampede run): its
// start-up evicts the executable's pages and its drops go on until it
// trims before the VUs start.
var Load = len(os.Args) > 1 && os.Args[1] == "run"

var stop = start()

// start evicts the executable's pages first (image.Evict) for a load:
// until then every page an initialiser touches comes with the 100-200 KB
// around it that the loader read ahead, and a single-CPU process's first
// drop may wait tens of milliseconds for the scheduler; after it they
// come back a page at a time, and so do the load's. This eviction and
// the one before the VUs cost about 1,600 reads from the file at a run's
// start (0.15 s of CPU, 0.25 s in all), so a command that prints and
// exits keeps the page cache as it is.
func start() (stop func()) {
	if !Load {
		return image.DropEvery(Interval, Over, Within)
	}
	_, _ = image.Evict() // where it fails, the drops below still hold the peak
	return image.DropEvery(Interval, OverLoad, Within)
}

// Done stops the drops and waits for the last one to end. It may be
// called more than once.
func Done() { stop() }
