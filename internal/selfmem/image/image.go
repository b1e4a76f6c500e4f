// Package image finds the executable's read-only mappings (its code and
// read-only data) and drops their pages from the process's page tables.
// The pages were never written, so dropping them loses nothing: the next
// touch maps them again from the page cache. Writable mappings are left
// alone: dropping one would lose what the program wrote.
//
// It imports only errors, os and syscall, so that a package using it
// initialises before most of the libraries a binary links (Go initialises
// a package as soon as its imports are, the first by import path among
// those ready): package boot depends on that.
package image

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
