// Package selfmem trims the generator's own resident memory. Most of a
// Go binary's resident memory at a modest load is not the load's: it is
// the executable's code and read-only data that package initialisers and
// the start-up path touched once (plan parsing, schema compilation, the
// command line, every imported library's registrations), and the garbage
// those left on the heap.
//
// Trim drops the executable's read-only mappings from the process's page
// tables (package image), so that only the pages the load keeps touching
// come back (from the page cache, unchanged: the mappings are never
// written), and returns the heap's free pages to the system. A run trims
// before its VUs start, so that the load's pages do not come on top of
// start-up's, once its first window has closed, whenever its open-model
// pool has shrunk well below its peak (the collection resets the heap
// goal a stall's VUs had raised; internal/cli's poolTrim), and once the
// VUs have stopped, so that the conclusions' and outputs' pages do not
// come on top of the load's. The first also evicts the binary's unmapped
// pages from the page cache (Evict):
// the kernel maps 64 KB around each page a fault touches, more where the
// file is cached in large folios, so the pages the load touches come
// back with 100-200 KB each unless the cache holds only what is used.
// The others only trim: a page read from the file stalls the VU that
// touched it, and the load is being timed by then.
//
// Trimming after start-up does not lower the peak start-up itself sets:
// the initialisers of the linked packages (over 300) touch pages all over
// the binary, and the kernel maps 64 KB around each page a fault touches,
// so start-up alone held about 35 MB. Package boot drops the image
// while the packages initialise, whenever the process's file-backed
// memory passes 10 MB; a run first evicts as above, drops above 6 MB and
// goes on dropping until the trim before the VUs. It is all a no-op where the
// system has no such call.
package selfmem

import (
	"runtime/debug"

	"github.com/stampede-perf/stampede/internal/selfmem/image"
)

// Evict is Trim, and it also lets go of the executable's pages in the
// page cache that no process maps, so that those the process touches next
// come back one page at a time rather than with the 100-200 KB around
// each that the kernel maps from a file cached in large folios (package
// image). Those pages are read from the file again: call it where nothing
// is being timed.
//
// Only a process that evicted at start-up (the command, package boot)
// evicts again; any other (a program using the library, a test) trims:
// its other work, a server in the same process, would read its pages
// back from the file while the load runs.
func Evict() (int64, error) {
	if !image.Evicted() {
		return Trim()
	}
	image.StopDrops()
	n, err := image.Evict()
	debug.FreeOSMemory()
	return n, err
}

// Trim drops the executable's read-only pages the process is not using
// and returns free heap pages to the system. It reports the bytes of
// mapped image it let go (0 where unsupported) and the first error.
func Trim() (int64, error) {
	image.StopDrops()
	n, err := image.Drop()
	debug.FreeOSMemory()
	return n, err
}
