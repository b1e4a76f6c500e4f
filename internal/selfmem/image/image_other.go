//go:build !linux

package image

// Spans finds nothing where the system has no /proc/self/maps.
func Spans() ([]Span, error) { return nil, nil }

// Advise does nothing where the system has no madvise.
func Advise([]Span) error { return nil }

// fileResident knows nothing where the system has no /proc/self/statm.
func fileResident() (int64, bool) { return 0, false }

// Uncache does nothing where the system has no madvise.
func Uncache([]Span) error { return nil }
