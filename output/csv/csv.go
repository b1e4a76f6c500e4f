// Package csv is the `--out csv=FILE` live output: one row per window per
// step, written and flushed as each one-second window closes, so a crash
// loses at most the windows still open.
//
// The columns borrow k6's CSV names where they mean the same thing
// (timestamp in Unix seconds, scenario, name for the step); the others
// are stampede's window fields with their units in their names:
//
//	timestamp,t_s,phase,scenario,name,kind,vus,requests,errors,rps,p50_ms,p95_ms,p99_ms,hop
//
// hop is empty on a step's row. A redirect the step followed has rows of
// its own right under the step's, in the windows where some were
// followed: hop is the status that asked for it and where it led ("302
// /next"), requests and errors count those hops (since the previous
// window, as the live counters: up to two seconds ahead of the step's
// row, the time a window stays open for late samples) and the
// percentiles are their own exchanges' (empty for the hops past
// output.MaxHopLatencies, which carry no latency). A step has at most 16
// hop rows a window (the collector's bound).
//
// In a plan with `loads:` the labels of its loads (output.Labels) follow
// as more columns: load, the load's name, and tag_NAME for each tag name
// a load sets (the prefix keeps a tag called, say, name apart from the
// step's column), empty where a load does not set it.
//
// Every step of the running load has a row in every window, zero when it
// sent nothing; the steps past output.MaxSteps share one row. The file is
// bounded: past MaxBytes no more rows are written, and Close says from
// when.
package csv

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/internal/outfile"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/result"
)

// Header is the first row of the file.
var header = []string{"timestamp", "t_s", "phase", "scenario", "name", "kind", "vus", "requests", "errors", "rps", "p50_ms", "p95_ms", "p99_ms", "hop"}

// Header returns the column names, in order, for the labels of a plan's
// loads (nil for a run of one load).
func Header(labels output.Labels) []string {
	h := append([]string(nil), header...)
	for _, l := range labels {
		if l != output.LabelLoad {
			l = "tag_" + l
		}
		h = append(h, l)
	}
	return h
}

// MaxBytes is the largest file the output writes (1 GiB: a day of
// windows of a 100-step plan).
const MaxBytes = 1 << 30

// Sink writes the CSV file. See output.Sink for its concurrency contract.
type Sink struct {
	path string
	f    *os.File
	buf  bytes.Buffer // one window's rows, written whole or not at all
	w    *csv.Writer  // into buf
	max  int64
	size int64   // bytes in the file
	full float64 // t_s of the first window left out; -1 while none was
	err  error
	row  []string
	// labels are the loads' labels, in the columns after the fixed ones.
	labels output.Labels
}

// New creates (or truncates) path and writes the header, with a column
// per label of the plan's loads. A path that is standard output is
// refused: the summary is printed there.
func New(path string, labels output.Labels) (*Sink, error) { return newSink(path, MaxBytes, labels) }

func newSink(path string, max int64, labels output.Labels) (*Sink, error) {
	if outfile.IsStdout(path) {
		return nil, fmt.Errorf("csv=%s: write the CSV to a file; standard output holds the summary", path)
	}
	if err := outfile.Check(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, outfile.FileMode)
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	h := Header(labels)
	s := &Sink{path: path, f: f, max: max, full: -1, row: make([]string, len(h)), labels: labels}
	s.w = csv.NewWriter(&s.buf)
	if err := s.w.Write(h); err != nil {
		f.Close()
		return nil, err
	}
	if err := s.flush(); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	return s, nil
}

var _ output.Sink = (*Sink)(nil)

// Update writes the window's rows and flushes them to the file.
func (s *Sink) Update(u *output.Update) error {
	if s.err != nil || s.full >= 0 {
		return nil
	}
	type agg struct {
		req, errs     int64
		p50, p95, p99 float64
	}
	n := len(u.Steps)
	rows := make([]agg, n)
	var other *hdr.Histogram // the steps past MaxSteps, merged
	for j, sw := range u.Window.Steps {
		i := min(sw.Index, output.MaxSteps)
		if i >= n {
			continue
		}
		r := &rows[i]
		r.req += sw.Requests
		r.errs += sw.Errors
		r.p50, r.p95, r.p99 = sw.P50, sw.P95, sw.P99
		if i == output.MaxSteps && u.Hists[j] != nil {
			if other == nil {
				other = metrics.NewHist()
			}
			other.Merge(u.Hists[j])
		}
	}
	if other != nil {
		l := metrics.Percentiles(other)
		rows[output.MaxSteps].p50, rows[output.MaxSteps].p95, rows[output.MaxSteps].p99 = l.P50, l.P95, l.P99
	}
	ts := strconv.FormatInt(u.Time.Unix(), 10)
	tsec := strconv.FormatFloat(u.TS, 'f', -1, 64)
	vus := strconv.Itoa(u.VUs)
	// A window is one second long; the last one of a load may be shorter,
	// and its rps says so.
	length := 1.0
	if u.Window.Requests > 0 && u.Window.RPS > 0 {
		length = float64(u.Window.Requests) / u.Window.RPS
	}
	for i, st := range u.Steps {
		r := rows[i]
		s.row[0], s.row[1], s.row[2] = ts, tsec, u.Phase
		s.row[3], s.row[4], s.row[5], s.row[6] = st.Scenario, st.Step, st.Kind, vus
		s.row[7], s.row[8] = strconv.FormatInt(r.req, 10), strconv.FormatInt(r.errs, 10)
		s.row[9] = num(float64(r.req) / length)
		s.row[10], s.row[11], s.row[12] = num(r.p50), num(r.p95), num(r.p99)
		s.row[13] = ""
		copy(s.row[len(header):], u.Values(s.labels, st))
		if err := s.w.Write(s.row); err != nil {
			return s.fail(err)
		}
		for _, h := range u.Hops {
			if h.Step != i {
				continue
			}
			s.row[7], s.row[8] = strconv.FormatInt(h.NewRequests, 10), strconv.FormatInt(h.NewErrors, 10)
			s.row[9] = num(float64(h.NewRequests) / length)
			s.row[10], s.row[11], s.row[12] = "", "", ""
			if h.Window != nil && h.Window.TotalCount() > 0 {
				l := metrics.Percentiles(h.Window)
				s.row[10], s.row[11], s.row[12] = num(l.P50), num(l.P95), num(l.P99)
			}
			s.row[13] = h.Name.Hop
			if err := s.w.Write(s.row); err != nil {
				return s.fail(err)
			}
		}
	}
	s.w.Flush()
	if s.size+int64(s.buf.Len()) > s.max {
		// Over the bound: leave this window out and stop, so the file
		// ends on a whole window.
		s.buf.Reset()
		s.full = u.TS
		return nil
	}
	if err := s.flush(); err != nil {
		return s.fail(err)
	}
	return nil
}

func (s *Sink) fail(err error) error {
	s.err = fmt.Errorf("cannot write %s: %w", s.path, err)
	return s.err
}

// flush writes the rows in buf to the file.
func (s *Sink) flush() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return err
	}
	n, err := s.f.Write(s.buf.Bytes())
	s.size += int64(n)
	s.buf.Reset()
	return err
}

// Close closes the file. It reports the window from which the file
// stopped at its bound (a write error was reported by Update).
func (s *Sink) Close(*result.Run) error {
	var err error
	if cerr := s.f.Close(); cerr != nil {
		err = fmt.Errorf("cannot write %s: %w", s.path, cerr)
	}
	if err == nil && s.full >= 0 {
		err = fmt.Errorf("%s reached its bound of %d MiB: the windows from %gs on are not in it", s.path, s.max>>20, s.full)
	}
	return err
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
