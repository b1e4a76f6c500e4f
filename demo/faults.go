package demo

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"slices"
	"sync"
	"time"
)

// This file holds the three planted faults. Each lives in one clearly named
// function so that a profile points straight at it, and each is reached only
// when its fault is switched on.

// leakStore is the leak fault's retained memory. It belongs to the Shop, so
// a second shop in the same process (a test, say) has its own.
type leakStore struct {
	mu    sync.Mutex // guards kept and bytes
	kept  [][]byte
	bytes int64
}

// Snapshots are 8–16 KiB: big enough that heap in-use climbs visibly within
// seconds of load, small enough that a minute-long demo stays well under a
// gigabyte at a few thousand requests per second.
const (
	leakMinBytes  = 8 << 10
	leakJitterMax = 8 << 10
)

// rememberRequest is the planted leak: it keeps a "debug snapshot" of every
// API request (its request line and headers, padded to 8–16 KiB) in a slice
// nothing ever trims. A heap profile attributes the growth to this function.
func (s *Shop) rememberRequest(r *http.Request) {
	s.leak.mu.Lock()
	defer s.leak.mu.Unlock()
	size := leakMinBytes + int(mix(uint64(len(s.leak.kept)))%leakJitterMax)
	snap := make([]byte, 0, size)
	snap = append(snap, r.Method...)
	snap = append(snap, ' ')
	snap = append(snap, r.URL.RequestURI()...)
	for name, values := range r.Header {
		for _, v := range values {
			snap = append(snap, '\n')
			snap = append(snap, name...)
			snap = append(snap, ": "...)
			snap = append(snap, v...)
		}
	}
	// Pad by repetition so the whole allocation is written (and so
	// resident), like a real buffer would be.
	for n := len(snap); len(snap) < size && n > 0; {
		snap = append(snap, snap[:min(n, size-len(snap))]...)
	}
	s.leak.kept = append(s.leak.kept, snap)
	s.leak.bytes += int64(cap(snap))
}

// retained reports how many bytes the leak fault holds.
func (l *leakStore) retained() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bytes
}

func (l *leakStore) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.kept, l.bytes = nil, 0
}

// hotspotHashes sets the hotspot's cost: 1–3 ms of CPU per listing on a
// current x86-64 core (less with SHA extensions), whatever the page size.
const hotspotHashes = 9000

// scoreProducts is the planted hotspot: it "ranks" a page of products by
// chaining SHA-256 over their names and re-sorting after every round, work
// that is recomputed on every listing instead of cached. It returns the id
// of the top-ranked product (0 for an empty page).
func scoreProducts(page []product, q string) int64 {
	if len(page) == 0 {
		return 0
	}
	type scored struct {
		id    int64
		name  string
		score uint64
	}
	ranked := make([]scored, len(page))
	for i, p := range page {
		ranked[i] = scored{id: p.ID, name: p.Name}
	}
	var digest [sha256.Size]byte
	buf := make([]byte, 0, 128)
	rounds := max(1, hotspotHashes/len(page))
	for range rounds {
		for i := range ranked {
			buf = append(append(append(buf[:0], digest[:]...), ranked[i].name...), q...)
			digest = sha256.Sum256(buf)
			ranked[i].score += binary.LittleEndian.Uint64(digest[:8])
		}
		slices.SortFunc(ranked, func(a, b scored) int {
			return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.id, b.id))
		})
	}
	return ranked[0].id
}

// auditState is the lock fault's shop-wide lock and the little it guards.
type auditState struct {
	mu   sync.Mutex // the shop-wide audit lock; guards ring and next
	ring [64]auditEntry
	next int
}

type auditEntry struct {
	at     time.Time
	userID int64
	action string
}

// auditFlush stands in for writing the audit record synchronously to slow
// storage while holding the lock.
const auditFlush = 2 * time.Millisecond

// auditTrail is the planted lock contention: every cart, checkout and
// profile request records an audit entry under one shop-wide mutex and holds
// it for about 2 ms. Those endpoints therefore serialize (about 500
// requests/s in total, however many users), and the mutex and block
// profiles show this function as the holder.
func (s *Shop) auditTrail(userID int64, action string) {
	s.audit.mu.Lock()
	defer s.audit.mu.Unlock()
	s.audit.ring[s.audit.next%len(s.audit.ring)] = auditEntry{at: time.Now(), userID: userID, action: action}
	s.audit.next++
	time.Sleep(auditFlush)
}
