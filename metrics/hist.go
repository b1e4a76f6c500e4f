// Package metrics turns samples into exact, mergeable statistics: HDR
// histograms per step and outcome, one-second windows, and the encoded form
// that a Run carries.
//
// Design: load workers never touch a histogram. Each VU writes fixed-size
// samples into its own single-producer ring (an atomic index, no lock, no
// channel, no allocation); one collector goroutine drains every ring and is
// the only writer of the histograms. Windows close one second after their
// end so late samples still land in the second they completed in. All
// latencies are recorded in microseconds, 1 µs to 1 h, three significant
// digits: every merge (shards, windows, segments, machines) is exact.
//
// Memory is flat however long a run: the rings share a fixed budget of
// samples, a window's latency is read from its steps' histograms, and
// closed windows older than a minute wait in a private temporary file
// until Finish reads them back into the Run (spill.go).
package metrics

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/result"
)

// Histogram geometry shared by every histogram stampede writes.
const (
	LowestUS  = 1
	HighestUS = 3_600_000_000 // 1 h
	SigFigs   = 3
)

// NewHist returns an empty histogram with the shared geometry.
func NewHist() *hdr.Histogram { return hdr.New(LowestUS, HighestUS, SigFigs) }

// RecordUS records v microseconds, clamping into the trackable range so a
// pathological value is counted rather than lost.
func RecordUS(h *hdr.Histogram, v int64) {
	if v < LowestUS {
		v = LowestUS
	} else if v > HighestUS {
		v = HighestUS
	}
	_ = h.RecordValue(v) // cannot fail inside the range
}

// Decode parses an encoded histogram; "" is an empty histogram. Only the
// shared geometry or a narrower one is accepted (see checkGeometry).
func Decode(s string) (*hdr.Histogram, error) {
	if s == "" {
		return NewHist(), nil
	}
	if err := checkGeometry(s); err != nil {
		return nil, fmt.Errorf("cannot decode histogram: %w", err)
	}
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("cannot decode histogram: %w", err)
	}
	return h, nil
}

// MergeEncoded decodes and merges encoded histograms into one.
func MergeEncoded(encs ...string) (*hdr.Histogram, error) {
	out := NewHist()
	for _, e := range encs {
		if e == "" {
			continue
		}
		h, err := Decode(e)
		if err != nil {
			return nil, err
		}
		out.Merge(h)
	}
	return out, nil
}

// Percentiles is the standard set, in milliseconds, read from h (µs).
func Percentiles(h *hdr.Histogram) result.Latency {
	if h == nil || h.TotalCount() == 0 {
		return result.Latency{}
	}
	q := h.ValueAtPercentiles([]float64{50, 90, 95, 99, 99.9})
	return result.Latency{
		Min:    ms(h.Min()),
		Mean:   h.Mean() / 1000,
		Stddev: h.StdDev() / 1000,
		P50:    ms(q[50]),
		P90:    ms(q[90]),
		P95:    ms(q[95]),
		P99:    ms(q[99]),
		P999:   ms(q[99.9]),
		Max:    ms(h.Max()),
	}
}

func ms(us int64) float64 { return float64(us) / 1000 }

// A histogram's header names its geometry, and the decoder allocates and
// walks a counter for every bucket of it: a few dozen characters that name
// 1 to 2⁶³ at five digits cost 50 MB and, merged, a walk of six million
// counters. Every histogram stampede writes has the shared geometry, so
// checkGeometry reads the header first (the first 40 bytes of the
// compressed payload) and refuses a wider one: more significant digits or a
// higher highest value. What it cannot read it leaves to the decoder to
// report.
func checkGeometry(s string) error {
	// The first 8 bytes are the cookie and the compressed length.
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) < 8 {
		return nil
	}
	zr := headReaders.Get().(*headReader)
	defer headReaders.Put(zr)
	var head [v2HeaderSize]byte
	if err := zr.read(raw[8:], head[:]); err != nil {
		return nil
	}
	sig := int32(binary.BigEndian.Uint32(head[12:]))
	highest := int64(binary.BigEndian.Uint64(head[24:]))
	if sig > SigFigs || highest > HighestUS {
		return fmt.Errorf("its geometry (%d significant digits up to %d µs) is wider than stampede's (%d digits up to %d µs)", sig, highest, SigFigs, HighestUS)
	}
	return nil
}

// headReader reads the start of a zlib stream with a reused decompressor.
type headReader struct {
	src bytes.Reader
	z   io.ReadCloser
}

var headReaders = sync.Pool{New: func() any { return &headReader{} }}

func (r *headReader) read(compressed, into []byte) error {
	r.src.Reset(compressed)
	if r.z == nil {
		z, err := zlib.NewReader(&r.src)
		if err != nil {
			return err
		}
		r.z = z
	} else if err := r.z.(zlib.Resetter).Reset(&r.src, nil); err != nil {
		return err
	}
	if _, err := io.ReadFull(r.z, into); err != nil {
		return errors.Join(err, r.z.Close())
	}
	return nil
}
