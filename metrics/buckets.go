package metrics

import (
	"unsafe"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// subBucketHalf is the HdrHistogram geometry of NewHist's histograms
// (1 µs lowest, three significant digits): each bucket after the first
// holds 1024 sub-buckets of equal width, twice as wide as the bucket
// before.
const (
	subBucketHalfMagnitude = 10
	subBucketHalf          = 1 << subBucketHalfMagnitude
)

// EachBucket calls fn with every populated bucket of h, in ascending
// order: the lowest and highest value it stands for (µs, both included)
// and its count. For histograms made by NewHist (the run's, and every one
// decoded from a Run) it reads the counts in place, as Encode does, and
// costs a pass over the counts up to the last populated one; for others
// it falls back to the library's Distribution. Nothing may record into h
// meanwhile.
func EachBucket(h *hdr.Histogram, fn func(lo, hi, count int64)) {
	if h == nil || h.TotalCount() == 0 {
		return
	}
	if !inPlace || h.LowestTrackableValue() != LowestUS || h.SignificantFigures() != SigFigs {
		for _, b := range h.Distribution() {
			if b.Count > 0 {
				fn(b.From, b.To, b.Count)
			}
		}
		return
	}
	counts := *(*[]int64)(unsafe.Add(unsafe.Pointer(h), countsAt))
	for i, c := range counts {
		if c == 0 {
			continue
		}
		// The flat index i is (bucket+1)·half + (sub − half); the first
		// bucket also holds the sub-buckets below half.
		bucket := i>>subBucketHalfMagnitude - 1
		sub := i&(subBucketHalf-1) + subBucketHalf
		if bucket < 0 {
			bucket, sub = 0, sub-subBucketHalf
		}
		lo := int64(sub) << bucket
		fn(lo, lo+int64(1)<<bucket-1, c)
	}
}
