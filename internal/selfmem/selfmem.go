// Package selfmem trims the generator's own resident memory once a load
// is under way. Most of a Go binary's resident memory at a modest load
// is not the load's: it is the executable's code and read-only data
// that package initialisers and the start-up path touched once (plan
// parsing, schema compilation, the command line, every imported
// library's registrations), and the garbage those left on the heap.
// Trim drops the executable's read-only mappings from the process's
// page tables, so that only the pages the load keeps touching come back
// (from the page cache, unchanged: the mappings are never written), and
// returns the heap's free pages to the system. It is a no-op where the
// system has no such call.
package selfmem

import "runtime/debug"

// Trim drops the executable's read-only pages the process is not using
// and returns free heap pages to the system. It reports the bytes of
// mapped image it let go (0 where unsupported) and the first error.
func Trim() (int64, error) {
	n, err := dropImage()
	debug.FreeOSMemory()
	return n, err
}
