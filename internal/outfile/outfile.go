// Package outfile writes stampede's outputs (Run documents, reports,
// comparisons, exports) to the path a user named, the one way every
// command does it.
//
// A regular file, or a path that does not exist yet, is written through a
// temporary file in the same directory renamed over it: a reader never
// sees half a document, and an earlier file survives a failed write. A
// new file is private to its owner (0600, as the run history is); a file
// that already existed keeps its mode. Anything else — a character device
// such as /dev/stdout or /dev/null, a FIFO, a socket — is written through,
// never replaced: renaming over /dev/full as root would turn the device
// into a regular file. "-" is standard output.
package outfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Stdout is the path that means standard output.
const Stdout = "-"

// FileMode is the mode of a new output file; DirMode of a directory
// stampede creates for its outputs (profiles, the history).
const (
	FileMode fs.FileMode = 0o600
	DirMode  fs.FileMode = 0o700
)

// IsStdout reports whether path names standard output: "-", or
// /dev/stdout and its aliases, which are written to the stdout writer
// rather than opened again (reopening would start at offset 0 of a
// redirected file, or, done wrong, replace the link).
func IsStdout(path string) bool {
	switch path {
	case Stdout, "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		return true
	}
	return false
}

// Write writes what fill produces to path, to stdout when IsStdout(path).
// Its error is one line naming the path ("cannot write PATH: …"); an
// error of fill is returned as it is.
func Write(path string, stdout io.Writer, fill func(io.Writer) error) error {
	if IsStdout(path) {
		if err := fill(stdout); err != nil {
			return fmt.Errorf("cannot write %s: %v", path, unwrapPath(err))
		}
		return nil
	}
	fi, err := os.Stat(path) // what the path leads to, through any links
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write %s: %v", path, unwrapPath(err))
	case err == nil && fi.IsDir():
		return fmt.Errorf("cannot write %s: it is a directory", path)
	case err == nil && !fi.Mode().IsRegular():
		return writeThrough(path, path, fill)
	}
	target := path
	if lfi, lerr := os.Lstat(path); lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 && err == nil {
		// Replace the file the link leads to, not the link.
		real, rerr := filepath.EvalSymlinks(path)
		if rerr != nil {
			return fmt.Errorf("cannot write %s: %v", path, unwrapPath(rerr))
		}
		target = real
	}
	mode := FileMode
	if err == nil {
		mode = fi.Mode().Perm()
	}
	return writeAtomic(path, target, mode, fill)
}

// Check reports, before any work is done, an output path that cannot be
// written: a directory, or one in a directory that does not exist.
func Check(path string) error {
	if path == Stdout {
		return nil
	}
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return fmt.Errorf("cannot write %s: it is a directory", path)
		}
		return nil
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("cannot write %s: its directory %s does not exist", path, dir)
	case !fi.IsDir():
		return fmt.Errorf("cannot write %s: %s is not a directory", path, dir)
	}
	return nil
}

// writeThrough writes into an existing device, FIFO or socket in place.
func writeThrough(path, target string, fill func(io.Writer) error) error {
	f, err := os.OpenFile(target, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cannot write %s: %v", path, unwrapPath(err))
	}
	err = write(f, fill, f.Close)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// writeAtomic writes a temporary file beside target and renames it over.
func writeAtomic(path, target string, mode fs.FileMode, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write %s: %v", path, unwrapPath(err))
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	err = write(tmp, fill, func() error { return tmp.Chmod(mode) }, tmp.Sync, tmp.Close)
	if err == nil {
		err = unwrapPath(os.Rename(tmp.Name(), target))
	}
	if err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// write runs fill into f through a buffer, then the finishing steps; the
// first failure is returned without the file's name.
func write(f *os.File, fill func(io.Writer) error, finish ...func() error) error {
	ew := &errWriter{w: f}
	bw := bufio.NewWriterSize(ew, 64<<10)
	err := fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if ew.err != nil { // the renderer may have wrapped or dropped it
		err = ew.err
	}
	for _, step := range finish {
		if serr := step(); err == nil {
			err = serr
		}
	}
	return unwrapPath(err)
}

// errWriter remembers the first write error, so that a renderer that
// drops it is still caught.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// unwrapPath drops the operation and path of a *fs.PathError: the message
// already names the path the user gave.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
