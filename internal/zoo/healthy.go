package zoo

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"crypto/sha256"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file holds the healthy services: each has a shape that looks like
// a fault to a careless rule (memory that grows, a heap that swings, load
// that spikes, a busy CPU, a big heap) and is not one.

// --- healthy-cache: a bounded cache that warms, then plateaus ---

const (
	cacheEntries    = 256      // the cache's bound; the plan asks for 200 keys
	cacheEntryBytes = 64 << 10 // a rendered product page
)

type productCache struct {
	mu    sync.Mutex // guards order and byID
	order *list.List // most recently used first; values are *cached
	byID  map[int]*list.Element
}

type cached struct {
	id   int
	page []byte
}

func buildProductCache(s *setup) error {
	c := &productCache{order: list.New(), byID: map[int]*list.Element{}}
	s.handle("GET /product", c.productHandler)
	return nil
}

func (c *productCache) productHandler(w http.ResponseWriter, r *http.Request) {
	page := c.product(query(r, "id", 1))
	writeJSON(w, http.StatusOK, map[string]any{"bytes": len(page), "crc": crc32.ChecksumIEEE(page[:4096])})
}

// product returns the rendered page of product id from the cache,
// rendering it on a miss and evicting the least recently used page past
// the bound: the heap grows while the cache warms, then stays.
func (c *productCache) product(id int) []byte {
	c.mu.Lock()
	if e, ok := c.byID[id]; ok {
		c.order.MoveToFront(e)
		c.mu.Unlock()
		return e.Value.(*cached).page
	}
	c.mu.Unlock()
	page := renderProduct(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[id]; !ok {
		c.byID[id] = c.order.PushFront(&cached{id: id, page: page})
		for c.order.Len() > cacheEntries {
			old := c.order.Remove(c.order.Back()).(*cached)
			delete(c.byID, old.id)
		}
	}
	return page
}

func renderProduct(id int) []byte {
	line := "<p>Product " + strconv.Itoa(id) + ": " + strings.Join(words, ", ") + "</p>\n"
	var b bytes.Buffer
	b.Grow(cacheEntryBytes)
	for b.Len()+len(line) <= cacheEntryBytes {
		b.WriteString(line)
	}
	return b.Bytes()
}

// --- healthy-batch-gc: a periodic rebuild that allocates a lot, briefly ---

const (
	rebuildEvery = 3 * time.Second
	rebuildBytes = 48 << 20
)

type directory struct {
	mu      sync.RWMutex // guards entries and version
	entries map[string]int
	version int
}

func buildDirectory(s *setup) error {
	d := &directory{entries: map[string]int{}}
	for i := range 1000 {
		d.entries["key-"+strconv.Itoa(i)] = i
	}
	go func() {
		t := time.NewTicker(rebuildEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				d.rebuildIndex()
			case <-s.ctx.Done():
				return
			}
		}
	}()
	s.handle("GET /lookup", d.lookupHandler)
	return nil
}

func (d *directory) lookupHandler(w http.ResponseWriter, r *http.Request) {
	key := "key-" + strconv.Itoa(query(r, "key", 1))
	d.mu.RLock()
	v, ok := d.entries[key]
	ver := d.version
	d.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"key": key, "value": v, "found": ok, "version": ver})
}

// rebuildIndex is the periodic batch job: it loads a fresh copy of the
// data (tens of megabytes, all temporary), checks it and swaps in the
// small index. The heap jumps and the collector runs each time; between
// rebuilds both are quiet. Nothing is kept.
func (d *directory) rebuildIndex() {
	chunks := make([][]byte, 0, rebuildBytes/(64<<10))
	var sum uint32
	for range cap(chunks) {
		c := make([]byte, 64<<10)
		for i := 0; i < len(c); i += 512 {
			c[i] = byte(i)
		}
		sum += crc32.ChecksumIEEE(c[:512])
		chunks = append(chunks, c)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.version++
	d.entries["checksum"] = int(sum) + len(chunks)
}

// --- healthy-bursty: a cheap endpoint under bursts it can absorb ---

type prices struct {
	bySKU map[int]int
}

func buildPrices(s *setup) error {
	p := &prices{bySKU: map[int]int{}}
	for i := range 1000 {
		p.bySKU[i+1] = 100 + i*37%5000
	}
	s.handle("GET /price", p.priceHandler)
	return nil
}

func (p *prices) priceHandler(w http.ResponseWriter, r *http.Request) {
	sku := query(r, "sku", 1)
	price, ok := p.bySKU[sku]
	if !ok {
		http.Error(w, "no such sku", http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sku": sku, "price_cents": price})
}

// --- healthy-cpu-bound: CPU work spread over the steps of a request ---

// stepCost is each of the four own steps' CPU time per checkout: no step
// dominates, and capacity is simply the CPU count over their sum.
const stepCost = 200 * time.Microsecond

type checkout struct {
	// gzips reuses compressors: a new one allocates most of a megabyte.
	gzips sync.Pool
}

type order struct {
	Customer int   `json:"customer"`
	SKUs     []int `json:"skus"`
}

func buildCheckout(s *setup) error {
	c := &checkout{gzips: sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}}
	s.handle("POST /checkout", c.checkoutHandler)
	return nil
}

func (c *checkout) checkoutHandler(w http.ResponseWriter, r *http.Request) {
	var o order
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&o); err != nil || len(o.SKUs) == 0 {
		http.Error(w, "bad order", http.StatusBadRequest)
		return
	}
	h := validateOrder(o)
	h = priceOrder(o, h)
	h = applyPromotions(o, h)
	receipt := renderReceipt(o, h)
	var z bytes.Buffer
	gz := c.gzips.Get().(*gzip.Writer)
	gz.Reset(&z)
	gz.Write(receipt)
	gz.Close()
	c.gzips.Put(gz)
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Set("Content-Type", "text/plain")
	w.Write(z.Bytes())
}

// Each step below spends stepCost of CPU in a loop of its own (a shared
// helper would collect all four steps' time under one name).

func validateOrder(o order) uint64 {
	b := startBudget(stepCost)
	defer b.done()
	h := uint64(o.Customer)
	for !b.spent() {
		for k := range 8192 {
			h ^= uint64(len(o.SKUs) + k)
			h *= 0x100000001b3
			h ^= h >> 31
		}
	}
	return h
}

func priceOrder(o order, h uint64) uint64 {
	b := startBudget(stepCost)
	defer b.done()
	for !b.spent() {
		for k := range 8192 {
			h += uint64(o.SKUs[k%len(o.SKUs)])
			h *= 0x9e3779b97f4a7c15
			h ^= h >> 29
		}
	}
	return h
}

func applyPromotions(o order, h uint64) uint64 {
	b := startBudget(stepCost)
	defer b.done()
	for !b.spent() {
		for k := range 8192 {
			h ^= uint64(o.Customer) << (k % 7)
			h *= 0xff51afd7ed558ccd
			h ^= h >> 33
		}
	}
	return h
}

func renderReceipt(o order, h uint64) []byte {
	bud := startBudget(stepCost)
	defer bud.done()
	for !bud.spent() {
		for k := range 8192 {
			h ^= uint64(k)
			h *= 0xc4ceb9fe1a85ec53
			h ^= h >> 31
		}
	}
	var b bytes.Buffer
	for i := 0; b.Len() < 8<<10; i++ {
		b.WriteString("line " + strconv.Itoa(i) + ": sku " + strconv.Itoa(o.SKUs[i%len(o.SKUs)]) + " checksum " + strconv.FormatUint(h>>uint(i%32), 16) + "\n")
	}
	return b.Bytes()
}

// --- healthy-big-heap: a large in-memory index, read only ---

const (
	regionCount = 200000
	regionBytes = 1 << 10 // 200 MB in all
)

type regions struct {
	byID [][]byte
}

func buildRegions(s *setup) error {
	g := &regions{byID: make([][]byte, regionCount)}
	for i := range g.byID {
		b := make([]byte, regionBytes)
		for k := 0; k < len(b); k += 64 {
			b[k] = byte(i + k)
		}
		g.byID[i] = b
	}
	s.handle("GET /region", g.regionHandler)
	return nil
}

func (g *regions) regionHandler(w http.ResponseWriter, r *http.Request) {
	id := query(r, "id", 1)
	if id < 0 || id >= len(g.byID) {
		http.Error(w, "no such region", http.StatusNotFound)
		return
	}
	sum := sha256.Sum256(g.byID[id])
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "digest": sum[:4]})
}

// --- healthy-plain: a small JSON API, the control ---

func buildGreeter(s *setup) error {
	s.handle("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		if name == "" {
			name = "world"
		}
		writeJSON(w, http.StatusOK, map[string]any{"greeting": "hello, " + name})
	})
	return nil
}
