package zoo

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file plants CPU faults: in the service's own code, in a library
// routine the service calls far too often, and in the garbage collector.

// --- cpu-own: a search that ranks by brute force ---

// rankCost is the CPU time rankResults spends per search.
const rankCost = 2 * time.Millisecond

type searchIndex struct {
	docs []document
}

type document struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
}

func buildSearch(s *setup) error {
	x := &searchIndex{}
	for i := range 500 {
		x.docs = append(x.docs, document{ID: i + 1, Title: "Document " + strconv.Itoa(i+1) + " about " + words[i%len(words)]})
	}
	s.handle("GET /search", x.searchHandler)
	return nil
}

var words = []string{"latency", "throughput", "queues", "caches", "locks", "indexes", "pools", "leaks"}

func (x *searchIndex) searchHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	writeJSON(w, http.StatusOK, map[string]any{"query": q, "hits": x.search(q, 10)})
}

// search returns the n best documents for q.
func (x *searchIndex) search(q string, n int) []document {
	scores := rankResults(x.docs, q)
	idx := make([]int, len(x.docs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return a - b
	})
	out := make([]document, 0, n)
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, x.docs[i])
	}
	return out
}

// rankResults is the planted fault: it scores every document against the
// query with a hand-rolled similarity recomputed on every search, spending
// rankCost of CPU in this function's own loop.
func rankResults(docs []document, q string) []float64 {
	b := startBudget(rankCost)
	defer b.done()
	scores := make([]float64, len(docs))
	h := uint64(len(q))*0x9e3779b97f4a7c15 | 1
	for i := 0; !b.spent(); i++ {
		d := &docs[i%len(docs)]
		t := d.Title
		for k := range 16384 {
			h ^= uint64(t[k%len(t)])
			h *= 0x100000001b3
			h ^= h >> 29
		}
		scores[i%len(docs)] += float64(h&0xffff) / 65536
	}
	return scores
}

// --- cpu-library: an ETag recomputed on every request ---

// etagCost is the CPU time catalogETag spends per request.
const etagCost = 2 * time.Millisecond

type catalog struct {
	blob []byte // the serialized catalogue
}

func buildCatalog(s *setup) error {
	var b strings.Builder
	for i := 0; b.Len() < 16<<10; i++ {
		b.WriteString(`{"sku":` + strconv.Itoa(i) + `,"name":"item ` + strconv.Itoa(i) + `","price_cents":` + strconv.Itoa(100+i*7%900) + "}\n")
	}
	c := &catalog{blob: []byte(b.String())}
	s.handle("GET /catalog", c.catalogHandler)
	return nil
}

func (c *catalog) catalogHandler(w http.ResponseWriter, r *http.Request) {
	etag := c.catalogETag()
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	page := query(r, "page", 1)
	writeJSON(w, http.StatusOK, map[string]any{"page": page, "etag": etag})
}

// catalogETag is the planted fault: it hashes the whole serialized
// catalogue with SHA-256 on every request — over and over, as a
// validation pass would — where the ETag should be computed once when the
// catalogue changes. The function itself does almost nothing; the CPU
// (etagCost per request) is spent in crypto/sha256 below it.
func (c *catalog) catalogETag() string {
	b := startBudget(etagCost)
	defer b.done()
	var sum [sha256.Size]byte
	for !b.spent() {
		sum = sha256.Sum256(c.blob)
	}
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// --- gc-pressure: a feed built from thousands of small objects ---

// feedItems is how many items buildFeed allocates per request (three
// objects, about 180 bytes, each: 2.2 MB in all), all garbage once the
// request ends.
const feedItems = 12000

type feedItem struct {
	ID     int
	Author string
	Text   []byte
	Tags   []string
}

type feedService struct{}

func buildFeedService(s *setup) error {
	f := &feedService{}
	s.handle("GET /feed", f.feedHandler)
	return nil
}

func (f *feedService) feedHandler(w http.ResponseWriter, r *http.Request) {
	user := query(r, "user", 1)
	items := buildFeed(user, feedItems)
	writeJSON(w, http.StatusOK, summarizeFeed(items))
}

// buildFeed is the planted fault: it materializes the whole feed as
// separately allocated items (pointers, byte slices, tag slices) to
// return a summary of a few numbers, so every request leaves megabytes of
// garbage behind and the collector runs dozens of times a second.
func buildFeed(user, n int) []*feedItem {
	var items []*feedItem
	for i := range n {
		it := &feedItem{ID: user*n + i, Author: words[i%len(words)]}
		it.Text = make([]byte, 64)
		it.Text[0] = byte(i)
		it.Tags = make([]string, 2)
		it.Tags[0], it.Tags[1] = words[i%3], words[i%5]
		items = append(items, it)
	}
	return items
}

func summarizeFeed(items []*feedItem) map[string]int {
	out := map[string]int{"items": len(items)}
	for _, it := range items {
		out[it.Tags[0]]++
	}
	return out
}
