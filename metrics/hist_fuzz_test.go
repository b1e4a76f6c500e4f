package metrics

import (
	"math"
	"strings"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// libraryEncoding is h in the library's own V2 compressed form.
func libraryEncoding(t testing.TB, h *hdr.Histogram) string {
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A histogram of a wider geometry than stampede's is refused before the
// decoder allocates its buckets; the shared geometry and narrower ones
// decode.
func TestDecodeGeometry(t *testing.T) {
	for _, tc := range []struct {
		why                   string
		lowest, highest       int64
		digits                int
		refused               bool
		recorded, wantDecoded int64
	}{
		{"stampede's own", LowestUS, HighestUS, SigFigs, false, 1234, 1234},
		{"narrower: fewer digits, lower highest", LowestUS, 60_000_000, 2, false, 1234, 1234},
		{"more digits", LowestUS, HighestUS, 5, true, 1234, 0},
		{"a higher highest value", LowestUS, math.MaxInt64, SigFigs, true, 1234, 0},
		{"the widest there is", LowestUS, math.MaxInt64, 5, true, 1234, 0},
	} {
		h := hdr.New(tc.lowest, tc.highest, tc.digits)
		if err := h.RecordValue(tc.recorded); err != nil {
			t.Fatal(err)
		}
		enc := libraryEncoding(t, h)
		got, err := Decode(enc)
		switch {
		case tc.refused && (err == nil || !strings.Contains(err.Error(), "wider than stampede's")):
			t.Errorf("%s: Decode = %v, want the geometry refused", tc.why, err)
		case !tc.refused && err != nil:
			t.Errorf("%s: %v", tc.why, err)
		case !tc.refused && got.ValueAtQuantile(50) != h.ValueAtQuantile(50):
			t.Errorf("%s: decoded p50 %d, want %d", tc.why, got.ValueAtQuantile(50), h.ValueAtQuantile(50))
		}
		if _, err := MergeEncoded(MustEncode(typicalWindow()), enc); (err != nil) != tc.refused {
			t.Errorf("%s: MergeEncoded error %v", tc.why, err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	enc := MustEncode(typicalWindow())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecode feeds arbitrary text to the histogram decoder, which reads
// the histograms of Run documents, stored windows and agents' messages. A
// histogram that decodes has at most stampede's geometry, and encodes and
// decodes again to the same counts.
func FuzzDecode(f *testing.F) {
	f.Add(MustEncode(typicalWindow()))
	f.Add(MustEncode(encodeCases()["both ends"]))
	f.Add(libraryEncoding(f, encodeCases()["one value"]))
	f.Add(libraryEncoding(f, hdr.New(LowestUS, math.MaxInt64, 5)))
	f.Add("HISTFAAAAB94nJNpmSzMwMDAwMDAwA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Decode(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "cannot decode histogram: ") {
				t.Fatalf("error %q does not say what failed", err)
			}
			return
		}
		if h.SignificantFigures() > SigFigs || h.HighestTrackableValue() > HighestUS {
			t.Fatalf("decoded a %d-digit histogram up to %d", h.SignificantFigures(), h.HighestTrackableValue())
		}
		enc, err := Encode(h)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(enc)
		if err != nil {
			t.Fatalf("%q decodes, but its encoding %q does not: %v", s, enc, err)
		}
		if back.TotalCount() != h.TotalCount() || back.Min() != h.Min() || back.Max() != h.Max() {
			t.Fatalf("%q: %d values from %d to %d, encoded and decoded %d from %d to %d",
				s, h.TotalCount(), h.Min(), h.Max(), back.TotalCount(), back.Min(), back.Max())
		}
	})
}
