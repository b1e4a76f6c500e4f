package metrics

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// typicalWindow is one second of a typical latency histogram: a few
// thousand requests, log-normal around a millisecond with a slow tail.
func typicalWindow() *hdr.Histogram {
	rng := rand.New(rand.NewPCG(3, 5))
	h := NewHist()
	for i := 0; i < 5000; i++ {
		RecordUS(h, int64(math.Exp(rng.NormFloat64()*0.8+7))+1)
	}
	return h
}

// encodeCases are histograms of every shape an encoding must survive.
func encodeCases() map[string]*hdr.Histogram {
	rng := rand.New(rand.NewPCG(17, 19))
	cases := map[string]*hdr.Histogram{}
	add := func(name string, vals ...int64) {
		h := NewHist()
		for _, v := range vals {
			RecordUS(h, v)
		}
		cases[name] = h
	}
	add("one value", 1234)
	add("the lowest value", LowestUS)
	add("the highest trackable value", HighestUS)
	add("both ends", LowestUS, HighestUS, HighestUS)
	add("two neighbouring buckets", 2047, 2048, 2049)
	add("one bucket between two (a single zero)", 100, 102)
	cases["a typical window"] = typicalWindow()
	h := NewHist()
	_ = h.RecordValues(777, 1<<62) // a count that needs nine bytes
	cases["a huge count"] = h
	for i := 0; i < 200; i++ {
		var vals []int64
		n := 1 + rng.IntN(2000)
		spread := rng.Float64() * 22 // up to e^22 µs: the whole range
		for j := 0; j < n; j++ {
			vals = append(vals, int64(math.Exp(rng.Float64()*spread)))
		}
		add("random "+string(rune('A'+i%26))+string(rune('a'+i/26)), vals...)
	}
	return cases
}

// What Encode writes, hdr.Decode reads back as the same histogram.
func TestEncodeRoundTrips(t *testing.T) {
	if s, err := Encode(NewHist()); s != "" || err != nil {
		t.Fatalf("empty histogram: %q, %v", s, err)
	}
	for name, h := range encodeCases() {
		s, err := Encode(h)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := hdr.Decode([]byte(s))
		if err != nil {
			t.Fatalf("%s: hdr.Decode: %v", name, err)
		}
		if !got.Equals(h) {
			t.Fatalf("%s: decodes to %d values (max %d), want %d (max %d)", name, got.TotalCount(), got.Max(), h.TotalCount(), h.Max())
		}
	}
}

// Decompressed, the encoding is byte for byte the library's: only the
// compression level differs.
func TestEncodeIsTheLibrarysPayload(t *testing.T) {
	for name, h := range encodeCases() {
		ours, err := Encode(h)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		a, b := inflate(t, ours), inflate(t, string(theirs))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: payload differs from the library's:\n ours %x\ntheirs %x", name, a, b)
		}
	}
}

func inflate(t *testing.T, s string) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	if c := binary.BigEndian.Uint32(raw); c != v2CompressedCookie || int(binary.BigEndian.Uint32(raw[4:])) != len(raw)-8 {
		t.Fatalf("outer header %x", raw[:8])
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Histograms of another geometry, or carrying a conversion ratio (read
// from a Java DoubleHistogram's stream), keep them.
func TestEncodeOtherHistograms(t *testing.T) {
	other := hdr.New(10, 1000, 2)
	_ = other.RecordValue(42)
	_ = other.RecordValue(999)
	ratio := hdr.Import(&hdr.Snapshot{LowestTrackableValue: LowestUS, HighestTrackableValue: HighestUS, SignificantFigures: SigFigs,
		Counts: NewHist().Export().Counts, IntegerToDoubleConversionRatio: 2.5})
	_ = ratio.RecordValue(1000)
	for name, h := range map[string]*hdr.Histogram{"another geometry": other, "a conversion ratio": ratio} {
		s, err := Encode(h)
		if err != nil {
			t.Fatal(err)
		}
		theirs, _ := h.Encode(hdr.V2CompressedEncodingCookieBase)
		if !bytes.Equal(inflate(t, s), inflate(t, string(theirs))) {
			t.Fatalf("%s: payload differs from the library's", name)
		}
		got, err := hdr.Decode([]byte(s))
		if err != nil || !got.Equals(h) {
			t.Fatalf("%s: round trip: %v", name, err)
		}
	}
}

// The counts are read in place; a release of the library that lays them
// out otherwise makes Encode fall back to the library's slow encoder, and
// this test says so.
func TestEncodeReadsCountsInPlace(t *testing.T) {
	if !inPlace {
		t.Fatal("hdr.Histogram has no counts []int64 and conversionRatio float64 fields: Encode falls back to the library's encoder (~1 ms, ~800 KB a histogram)")
	}
	inPlace = false // the fallback
	defer func() { inPlace = true }()
	h := typicalWindow()
	s, err := Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := hdr.Decode([]byte(s)); err != nil || !got.Equals(h) {
		t.Fatalf("fallback round trip: %v", err)
	}
}

// The encoder is shared: encodings made at once do not mix.
func TestEncodeConcurrent(t *testing.T) {
	cases := encodeCases()
	done := make(chan error)
	for _, h := range cases {
		go func() {
			s, err := Encode(h)
			if err == nil {
				var got *hdr.Histogram
				if got, err = hdr.Decode([]byte(s)); err == nil && !got.Equals(h) {
					err = io.ErrUnexpectedEOF
				}
			}
			done <- err
		}()
	}
	for range cases {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	h := typicalWindow()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeLibrary is the library's encoder on the same histogram,
// for comparison.
func BenchmarkEncodeLibrary(b *testing.B) {
	h := typicalWindow()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Encode(hdr.V2CompressedEncodingCookieBase); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEncodeKeepsItsCompressor: an encoding after collections allocates
// what its string needs, not a new zlib compressor (about 800 KB), which
// a sync.Pool alone would have let go by then.
func TestEncodeKeepsItsCompressor(t *testing.T) {
	h := typicalWindow()
	if _, err := Encode(h); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := Encode(h); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
		t.Fatalf("an encoding after two collections allocated %d KB, want under 64 KB", got>>10)
	}
}
