package metrics

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Sample is one finished request (or, with FlagIteration, one finished
// iteration). It is a fixed-size value: writing one allocates nothing.
// Durations are microseconds; EndNS is nanoseconds since the run's start.
type Sample struct {
	EndNS     int64
	LatencyUS uint32 // completion − intended start (what users report)
	ServiceUS uint32 // completion − actual send
	LagUS     uint32 // iterations: actual start − intended start
	DNSUS     uint32
	ConnUS    uint32
	TLSUS     uint32
	TTFBUS    uint32 // send done → first byte
	RecvUS    uint32 // first byte → completion
	BytesIn   uint32
	BytesOut  uint32
	Rows      uint32
	// MsgsOut and MsgsIn count the messages a WebSocket or gRPC step sent
	// and received.
	MsgsOut uint32
	MsgsIn  uint32
	// PoolWaitUS is how long an SQL step waited for a pooled connection
	// (creating one included), apart from running its statements.
	PoolWaitUS uint32
	// RedirectUS is the time an HTTP step spent in the Redirects it
	// followed, each from its request to its answer.
	RedirectUS uint32
	Step       uint16 // step index (or scenario index for iterations)
	Status     uint16
	Kind       ErrKind
	Flags      uint8
	Redirects  uint8
}

// Sample flags.
const (
	FlagIteration uint8 = 1 << iota // the sample is a whole iteration
	FlagFailed                      // iteration: some step failed
)

// Ring is a single-producer, single-consumer queue of samples owned by one
// VU. The VU is the only writer of tail; the collector the only writer of
// head. Push never blocks unless the collector falls a whole ring behind,
// in which case the VU yields until there is room (counted as stalls).
type Ring struct {
	head atomic.Uint64 // next slot to read; written by the collector
	tail atomic.Uint64 // next slot to write; written by the VU
	mask uint64
	buf  []Sample
	// stalls counts pushes that had to wait for the collector.
	stalls atomic.Uint64
	// wake asks the collector to drain now (set by Register).
	wake chan struct{}
	// retired is set by the VU after its last Push: the collector drains
	// the ring once more and lets it go.
	retired atomic.Bool
}

// Retire tells the collector that the ring's VU has ended and will push
// no more: once drained, the ring leaves the collector and its memory
// with it. Only the owning VU may call it, after its last Push.
func (r *Ring) Retire() { r.retired.Store(true) }

// NewRing returns a ring with room for size samples (rounded up to a power
// of two).
func NewRing(size int) *Ring {
	n := 8
	for n < size {
		n <<= 1
	}
	return &Ring{buf: make([]Sample, n), mask: uint64(n - 1)}
}

// Push appends s. Only the owning VU may call it.
func (r *Ring) Push(s *Sample) {
	t := r.tail.Load()
	if t-r.head.Load() > r.mask {
		r.stalls.Add(1)
		select { // the collector drains at once instead of at its next tick
		case r.wake <- struct{}{}:
		default:
		}
		for t-r.head.Load() > r.mask {
			runtime.Gosched()
		}
	}
	r.buf[t&r.mask] = *s
	r.tail.Store(t + 1)
}

// drain hands every queued sample to f. Only the collector may call it.
func (r *Ring) drain(f func(*Sample)) int {
	h := r.head.Load()
	t := r.tail.Load()
	for i := h; i < t; i++ {
		f(&r.buf[i&r.mask])
	}
	r.head.Store(t)
	return int(t - h)
}

// RingSize picks the ring size of each of a closed model's vus VUs: a
// power of two, large for few fast VUs (2,048 samples, 144 KB, for up to
// 8), smaller as there are more, so that all the rings together hold at
// most ringBudget samples (1.2 MB), and never below 8 (thousands of VUs are
// each slow). A ring needs room for what its VU completes between two
// drains (20 ms), and a closed model's VUs share the throughput: at 50 VUs
// each gets 256 samples (18 KB), room for a collector late by more than
// half a second at 20,000 requests/s.
func RingSize(vus int) int { return ringSize(vus, ringBudget) }

// OpenRingSize is RingSize for an open model's pool of up to maxVUs VUs.
// There the first free VU takes the next iteration, so a few VUs may carry
// most of the rate however large the pool may grow: the rings share eight
// times the budget.
func OpenRingSize(maxVUs int) int { return ringSize(maxVUs, 8*ringBudget) }

func ringSize(vus, budget int) int {
	vus = max(vus, 1)
	n := 2048
	for n > 8 && n*vus > budget {
		n >>= 1
	}
	return n
}

// ringBudget is the most samples a closed model's rings hold together,
// unless there are so many VUs that each has the smallest ring.
const ringBudget = 16384

// Micros is d in whole microseconds for a Sample field, clamped to its
// range (negative durations are 0; beyond 71 minutes saturates).
func Micros(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return Clamp32(int64(d / time.Microsecond))
}

// Clamp32 fits a count into a Sample field.
func Clamp32(v int64) uint32 {
	if v < 0 {
		return 0
	}
	if v > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(v)
}
