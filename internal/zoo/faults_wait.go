package zoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// This file plants faults where requests wait rather than compute: a
// contended lock, a slow dependency, a synchronous disk write, and a queue
// that grows without bound.

// --- lock-contention: one ledger lock held across a flush ---

// ledgerFlush stands for the synchronous write postEntry makes while it
// holds the ledger's lock.
const ledgerFlush = 2 * time.Millisecond

type ledger struct {
	mu      sync.Mutex // the ledger lock; guards entries and n
	entries [1024]entry
	n       int
}

type entry struct {
	from, to, cents int
	at              time.Time
}

func buildLedger(s *setup) error {
	l := &ledger{}
	s.handle("POST /transfer", l.transferHandler)
	return nil
}

func (l *ledger) transferHandler(w http.ResponseWriter, r *http.Request) {
	e := entry{from: query(r, "from", 1), to: query(r, "to", 2), cents: query(r, "cents", 100), at: time.Now()}
	if e.cents <= 0 {
		http.Error(w, "cents must be positive", http.StatusBadRequest)
		return
	}
	seq := l.postEntry(e)
	writeJSON(w, http.StatusOK, map[string]any{"seq": seq})
}

// postEntry is the planted contention: every transfer appends to the
// ledger under one service-wide mutex and flushes the ledger (ledgerFlush,
// a write to slow storage) before letting go, so transfers run one at a
// time and queue for the lock.
func (l *ledger) postEntry(e entry) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries[l.n%len(l.entries)] = e
	l.n++
	time.Sleep(ledgerFlush)
	return l.n
}

// --- slow-downstream: a pricing service that takes its time ---

// pricingDelay is how long the pricing dependency takes to answer.
const pricingDelay = 150 * time.Millisecond

type quotes struct {
	pricing string // the dependency's base URL
	client  *http.Client
}

func buildQuotes(s *setup) error {
	// The dependency is a server of its own on another loopback port; it
	// runs in this process but only sleeps, so it adds nothing to the
	// profiles.
	var lc net.ListenConfig
	ln, err := lc.Listen(s.ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	dep := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(pricingDelay):
		case <-r.Context().Done():
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"sku": r.URL.Query().Get("sku"), "price_cents": 1299})
	})}
	go dep.Serve(ln)
	s.onClose(dep.Close)
	q := &quotes{
		pricing: "http://" + ln.Addr().String(),
		client:  &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
	}
	s.handle("GET /quote", q.quoteHandler)
	return nil
}

func (q *quotes) quoteHandler(w http.ResponseWriter, r *http.Request) {
	sku := query(r, "sku", 1)
	price, err := q.fetchPrices(r.Context(), sku)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sku": sku, "price_cents": price, "tax_cents": price / 5})
}

// fetchPrices is the planted fault: every quote waits for the pricing
// service, which answers in pricingDelay, with no cache in front of it.
func (q *quotes) fetchPrices(ctx context.Context, sku int) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, q.pricing+"/price?sku="+strconv.Itoa(sku), nil)
	if err != nil {
		return 0, err
	}
	resp, err := q.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("pricing: %w", err)
	}
	defer resp.Body.Close()
	var p struct {
		PriceCents int `json:"price_cents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return 0, fmt.Errorf("pricing: %w", err)
	}
	return p.PriceCents, nil
}

// --- disk-fsync: every event made durable on its own ---

type spool struct {
	dir string
	seq atomic.Int64
}

func buildSpool(s *setup) error {
	sp := &spool{dir: filepath.Join(s.dir, "spool")}
	if err := os.MkdirAll(sp.dir, 0o755); err != nil {
		return err
	}
	s.handle("POST /events", sp.eventsHandler)
	return nil
}

func (sp *spool) eventsHandler(w http.ResponseWriter, r *http.Request) {
	var events []json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&events); err != nil {
		http.Error(w, "a JSON array of events: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(events) == 0 || len(events) > maxEventsPerPost {
		http.Error(w, fmt.Sprintf("post 1 to %d events", maxEventsPerPost), http.StatusBadRequest)
		return
	}
	ids := make([]int64, 0, len(events))
	for _, ev := range events {
		id, err := sp.persistEvent(ev)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		ids = append(ids, id)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"ids": ids})
}

// maxEventsPerPost bounds a batch.
const maxEventsPerPost = 64

// persistEvent is the planted fault: each event of a batch is written to
// a file of its own (padded to 2 KiB) and fsynced before the next, so a
// request waits for the disk once per event it carries instead of once.
func (sp *spool) persistEvent(body []byte) (int64, error) {
	id := sp.seq.Add(1)
	f, err := os.Create(filepath.Join(sp.dir, strconv.FormatInt(id, 10)+".event"))
	if err != nil {
		return 0, err
	}
	rec := make([]byte, 0, 2048)
	rec = append(rec, body...)
	for len(rec) < cap(rec) {
		rec = append(rec, ' ')
	}
	_, err = f.Write(rec)
	if err == nil {
		err = f.Sync()
	}
	return id, errors.Join(err, f.Close())
}

// --- unbounded-queue: one worker behind a queue with no limit ---

// jobCost is how long the worker takes per job: it handles about 110 jobs
// a second, fewer than the plan submits.
const jobCost = 9 * time.Millisecond

type jobQueue struct {
	mu      sync.Mutex // guards pending
	wake    chan struct{}
	pending []*job
}

type job struct {
	payload int
	result  int
	done    chan struct{}
}

func buildJobs(s *setup) error {
	q := &jobQueue{wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(s.ctx)
	s.onClose(func() error { cancel(); return nil })
	go q.processJobs(ctx)
	s.handle("POST /jobs", q.jobsHandler)
	return nil
}

func (q *jobQueue) jobsHandler(w http.ResponseWriter, r *http.Request) {
	j := q.submit(query(r, "n", 1))
	select {
	case <-j.done:
		writeJSON(w, http.StatusOK, map[string]any{"result": j.result})
	case <-r.Context().Done():
	}
}

// submit is the planted fault: it queues the job whatever the queue's
// length — no bound, no back-pressure, no shedding — so when jobs arrive
// faster than the one worker handles them, every request waits longer
// than the one before.
func (q *jobQueue) submit(payload int) *job {
	j := &job{payload: payload, done: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, j)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return j
}

// processJobs is the single worker.
func (q *jobQueue) processJobs(ctx context.Context) {
	for {
		q.mu.Lock()
		var j *job
		if len(q.pending) > 0 {
			j = q.pending[0]
			q.pending[0] = nil
			q.pending = q.pending[1:]
		}
		q.mu.Unlock()
		if j == nil {
			select {
			case <-q.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		time.Sleep(jobCost) // the job's call to a slow backend
		j.result = j.payload * 2
		close(j.done)
	}
}
