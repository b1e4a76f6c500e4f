package metrics

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sync"
	"unsafe"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// The encoder writes the standard HdrHistogram V2 compressed form itself,
// because the library's costs about a millisecond and 800 KB a histogram
// (zlib at its best compression with a fresh compressor each time, and
// every counter of the dense array written through binary.Write), and
// every window of every step is encoded.
//
// It walks the histogram's dense counts up to the last populated one and
// writes the payload the library writes (zig-zag LEB128 counts, a run of
// zeros as one negative number), then compresses it with a kept zlib
// writer that uses Huffman coding only (zlib.HuffmanOnly): varints repeat
// few strings, so LZ77 matching gains nothing, and on a typical window the
// result is even smaller than the library's BestCompression (1,652 base64
// characters against 1,784). The decompressed bytes are exactly the
// library's, only the compression differs, and every V2 reader accepts it.
//
// The library has no public way to read the counts that does not copy or
// allocate per bucket (Export copies all 23,552 of them, 188 KB;
// Distribution allocates a bar per counter; PackedHistogram.MergeFrom
// costs a binary search per populated bucket, ~150 µs on a typical
// window), so the counts are read in place: the field is found by name
// and type through reflection when the package loads, and only read. If
// a release of the library lays the histogram out otherwise, Encode falls
// back to the library's encoder (slow but right), and
// TestEncodeReadsCountsInPlace fails so the upgrade is noticed.

const (
	v2Cookie           = 0x1c849303 | 0x10 // V2 encoding, 8-byte counts
	v2CompressedCookie = 0x1c849304 | 0x10
	v2HeaderSize       = 40
)

// Offsets of hdr.Histogram's counts and conversionRatio fields; inPlace
// is false when they are not there with the expected types.
var countsAt, ratioAt, inPlace = histogramLayout()

func histogramLayout() (counts, ratio uintptr, ok bool) {
	t := reflect.TypeFor[hdr.Histogram]()
	c, okc := t.FieldByName("counts")
	r, okr := t.FieldByName("conversionRatio")
	if !okc || !okr || c.Type != reflect.TypeFor[[]int64]() || r.Type != reflect.TypeFor[float64]() {
		return 0, 0, false
	}
	return c.Offset, r.Offset, true
}

// encoder is the reused state of one encoding.
type encoder struct {
	raw []byte       // header and payload
	z   bytes.Buffer // cookie, length, deflated raw
	zw  *zlib.Writer
	b64 []byte
}

func newEncoder() *encoder {
	zw, _ := zlib.NewWriterLevel(nil, zlib.HuffmanOnly) // a valid level cannot fail
	return &encoder{zw: zw}
}

// The encoder in use is kept: a zlib compressor allocates about 800 KB,
// and one in a sync.Pool is gone by the second collection, so a pool alone
// allocates a new one after nearly every collection, and a collection
// that runs while some are in use counts them as live and sets the next
// heap goal from them. Encodings that find it taken (several goroutines
// at once) take one from the pool.
var (
	keptMu   sync.Mutex
	kept     *encoder
	encoders = sync.Pool{New: func() any { return newEncoder() }}
)

// Encode returns the standard HdrHistogram V2 compressed, base64 form of h
// (what hdr.Decode reads). An empty histogram encodes as "". It is safe
// for concurrent use as long as nothing records into h meanwhile.
func Encode(h *hdr.Histogram) (string, error) {
	if h == nil || h.TotalCount() == 0 {
		return "", nil
	}
	if !inPlace {
		b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
		if err != nil {
			return "", fmt.Errorf("cannot encode histogram: %w", err)
		}
		return string(b), nil
	}
	if keptMu.TryLock() {
		defer keptMu.Unlock()
		if kept == nil {
			kept = newEncoder()
		}
		return kept.encode(h), nil
	}
	e := encoders.Get().(*encoder)
	defer encoders.Put(e)
	return e.encode(h), nil
}

// encode writes h in the V2 compressed form. Writes into memory cannot
// fail.
func (e *encoder) encode(h *hdr.Histogram) string {
	p := unsafe.Pointer(h)
	counts := *(*[]int64)(unsafe.Add(p, countsAt))
	ratio := *(*float64)(unsafe.Add(p, ratioAt))
	if ratio == 0 {
		ratio = 1 // the library's default
	}
	end := len(counts)
	for end > 0 && counts[end-1] == 0 {
		end--
	}

	var head [v2HeaderSize]byte
	binary.BigEndian.PutUint32(head[0:], v2Cookie)
	// head[4:8], the payload's length, is filled in below; head[8:12], the
	// normalizing index offset, is 0 as the library writes it.
	binary.BigEndian.PutUint32(head[12:], uint32(h.SignificantFigures()))
	binary.BigEndian.PutUint64(head[16:], uint64(h.LowestTrackableValue()))
	binary.BigEndian.PutUint64(head[24:], uint64(h.HighestTrackableValue()))
	binary.BigEndian.PutUint64(head[32:], math.Float64bits(ratio))
	raw := append(e.raw[:0], head[:]...)
	for i := 0; i < end; {
		c := counts[i]
		i++
		if c == 0 && i < end && counts[i] == 0 {
			zeros := int64(1)
			for i < end && counts[i] == 0 {
				zeros++
				i++
			}
			c = -zeros
		}
		raw = appendZigZag(raw, c)
	}
	binary.BigEndian.PutUint32(raw[4:], uint32(len(raw)-v2HeaderSize))
	e.raw = raw

	e.z.Reset()
	e.z.Write(head[:8]) // room for the cookie and the compressed length
	e.zw.Reset(&e.z)
	_, _ = e.zw.Write(raw)
	_ = e.zw.Close()
	z := e.z.Bytes()
	binary.BigEndian.PutUint32(z[0:], v2CompressedCookie)
	binary.BigEndian.PutUint32(z[4:], uint32(len(z)-8))

	n := base64.StdEncoding.EncodedLen(len(z))
	if cap(e.b64) < n {
		e.b64 = make([]byte, n)
	}
	e.b64 = e.b64[:n]
	base64.StdEncoding.Encode(e.b64, z)
	return string(e.b64)
}

// appendZigZag appends v as the V2 format's zig-zag LEB128: seven bits a
// byte, and a ninth byte, when needed, carries a full eight.
func appendZigZag(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for n := 0; n < 8 && u >= 0x80; n++ {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

// MustEncode is Encode for a histogram that cannot fail to encode: one
// made by NewHist (the collector's, a test's). It panics on an error,
// like regexp.MustCompile.
func MustEncode(h *hdr.Histogram) string {
	s, err := Encode(h)
	if err != nil {
		panic("metrics: " + err.Error())
	}
	return s
}
