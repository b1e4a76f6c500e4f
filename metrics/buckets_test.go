package metrics

import (
	"math/rand/v2"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// EachBucket reads the counts in place; the library's Distribution is the
// reference: the same buckets, bounds and counts, for histograms made
// here, decoded from their encoding, and of another geometry.
func TestEachBucketIsTheLibrarysDistribution(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	made := NewHist()
	for range 100_000 {
		RecordUS(made, int64(r.ExpFloat64()*2000)+1)
	}
	RecordUS(made, HighestUS) // the last bucket
	RecordUS(made, 1)
	decoded, err := Decode(MustEncode(made))
	if err != nil {
		t.Fatal(err)
	}
	other := hdr.New(1, 1000, 2)
	for v := range int64(1000) {
		other.RecordValue(v + 1)
	}
	for name, h := range map[string]*hdr.Histogram{"made": made, "decoded": decoded, "other geometry": other} {
		type bar struct{ lo, hi, n int64 }
		var want, got []bar
		for _, b := range h.Distribution() {
			if b.Count > 0 {
				want = append(want, bar{b.From, b.To, b.Count})
			}
		}
		EachBucket(h, func(lo, hi, n int64) { got = append(got, bar{lo, hi, n}) })
		if len(got) != len(want) {
			t.Fatalf("%s: %d buckets, the library has %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: bucket %d is %+v, the library's %+v", name, i, got[i], want[i])
			}
		}
	}
}
