package metrics

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/stampede-perf/stampede/result"
)

// A long run closes a window every second, and each one carries encoded
// histograms (a couple of kilobytes each): held in memory until the Run is
// written, an hour of them grows the generator's resident memory by tens
// of megabytes. So the collector keeps only the latest KeepWindows closed
// windows in memory and appends older ones, a batch at a time, to a
// temporary file; Finish reads them back in order, so the Run's series —
// and everything read from it (the Run JSON, Summarize, the analysis) — is
// exactly what it would have been in memory.
//
// The file is private (0600, made by os.CreateTemp) and unlinked as soon
// as it is open, so it disappears with the process however that ends; its
// space is freed when the collector closes it. If it cannot be made or
// written, the windows simply stay in memory (a batch is dropped from
// memory only once it is on disk), and the Run says so in a warning.
// Windows are written as JSON lines with encoding/json, which reads back
// every field exactly (floats included).

// DefaultKeepWindows is how many closed windows the collector keeps in
// memory before it spills older ones to disk, a fifth as many at a time:
// a minute of them, so a run's memory is flat after its first minute and
// a run shorter than that never makes the file.
const DefaultKeepWindows = 60

// spill is the file of windows written out, oldest first.
type spill struct {
	f *os.File
	w *bufio.Writer
	n int // windows written and flushed: the ones read back
}

// newSpill creates the file in dir (os.TempDir() when empty) and unlinks
// it at once where the system allows it.
func newSpill(dir string) (*spill, error) {
	f, err := os.CreateTemp(dir, "stampede-windows-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("cannot create a file for closed windows: %w", err)
	}
	// Unlinking an open file works on Unix; elsewhere close removes it.
	_ = os.Remove(f.Name())
	return &spill{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// write appends ws and flushes them; on an error the windows counted so
// far are still the ones read back.
func (s *spill) write(ws []result.Window) error {
	enc := json.NewEncoder(s.w)
	for i := range ws {
		if err := enc.Encode(&ws[i]); err != nil {
			return fmt.Errorf("cannot write closed windows to %s: %w", s.f.Name(), err)
		}
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("cannot write closed windows to %s: %w", s.f.Name(), err)
	}
	s.n += len(ws)
	return nil
}

// readAll reads back the windows written, in order. On an error it
// returns those it could read.
func (s *spill) readAll() ([]result.Window, error) {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("cannot read back closed windows: %w", err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(s.f, 64<<10))
	out := make([]result.Window, 0, s.n)
	for len(out) < s.n {
		var w result.Window
		if err := dec.Decode(&w); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return out, fmt.Errorf("cannot read back closed windows (%d of %d read): %w", len(out), s.n, err)
		}
		shareHist(&w)
		out = append(out, w)
	}
	return out, nil
}

// shareHist makes a window whose histogram is its one step's share that
// string again, as emit does, so windows read back take no more memory
// than they did before they were written.
func shareHist(w *result.Window) {
	if len(w.Steps) == 1 && w.Steps[0].Hist == w.Hist {
		w.Hist = w.Steps[0].Hist
	}
}

// close closes and removes the file.
func (s *spill) close() {
	name := s.f.Name()
	s.f.Close()
	os.Remove(name) // already gone where unlinking an open file works
}
