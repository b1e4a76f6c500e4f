package result

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/stampede-perf/stampede/internal/outfile"
)

// ErrNotRun is returned when a document is not a stampede Run.
var ErrNotRun = errors.New("not a stampede run document")

// Decode reads one Run document. It rejects documents without a version or
// with a version newer than this build understands.
func Decode(r io.Reader) (*Run, error) {
	dec := json.NewDecoder(r)
	var run Run
	if err := dec.Decode(&run); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotRun, err)
	}
	if run.Version <= 0 {
		return nil, fmt.Errorf("%w: no \"version\" key", ErrNotRun)
	}
	if run.Version > Version {
		return nil, fmt.Errorf("run document version %d is newer than this stampede understands (%d): upgrade stampede", run.Version, Version)
	}
	return &run, nil
}

// ReadFile reads a Run document from a file.
func ReadFile(path string) (*Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Encode writes r as indented JSON.
func Encode(w io.Writer, r *Run) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteFile writes r to path the way every stampede output is written
// (see internal/outfile): a regular file atomically (a reader never sees
// half a document, an earlier file survives a failed write, a new file is
// private to its owner), a device or FIFO through, "-" to standard output.
func WriteFile(path string, r *Run) error {
	return outfile.Write(path, os.Stdout, func(w io.Writer) error { return Encode(w, r) })
}
