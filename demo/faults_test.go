package demo

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLeakFault(t *testing.T) {
	const requests = 600 // enough for the heap profile to sample the leak
	leaky, lc := newTestShop(t, Options{Faults: []string{FaultLeak}})
	healthy, hc := newTestShop(t, Options{})

	for range requests {
		lc.expect(http.StatusOK, "GET", "/api/products/1", "", nil)
		hc.expect(http.StatusOK, "GET", "/api/products/1", "", nil)
	}
	got := leaky.leak.retained()
	if lo, hi := int64(requests*leakMinBytes), int64(requests*(leakMinBytes+leakJitterMax)); got < lo || got > hi {
		t.Errorf("leak fault retained %d bytes after %d requests, want %d–%d", got, requests, lo, hi)
	}
	if n := healthy.leak.retained(); n != 0 {
		t.Errorf("healthy shop retained %d bytes", n)
	}

	// It grows with API requests only, and keeps growing.
	lc.expect(http.StatusOK, "GET", "/metrics", "", nil)
	lc.expect(http.StatusOK, "GET", "/healthz", "", nil)
	if n := leaky.leak.retained(); n != got {
		t.Errorf("/metrics and /healthz changed retained bytes from %d to %d", got, n)
	}
	lc.expect(http.StatusNotFound, "GET", "/api/products/9999", "", nil)
	if n := leaky.leak.retained(); n < got+leakMinBytes {
		t.Errorf("one more API request: retained %d bytes, want at least %d", n, got+leakMinBytes)
	}

	// A heap profile, as a watcher would take it, names the culprit.
	heap := string(lc.expect(http.StatusOK, "GET", "/debug/pprof/heap?debug=1&gc=1", "", nil).body)
	if inuse := inuseBytesIn(heap, "demo.(*Shop).rememberRequest"); inuse == 0 {
		t.Errorf("heap profile shows no in-use bytes allocated by rememberRequest")
	}
}

// inuseBytesIn sums the in-use bytes of heap profile (debug=1) records
// whose stack contains fn.
func inuseBytesIn(profile, fn string) int64 {
	var total int64
	for rec := range strings.SplitSeq(profile, "\n\n") {
		head, stack, ok := strings.Cut(rec, "\n")
		if !ok || !strings.Contains(stack, fn) {
			continue
		}
		// "inuse_objects: inuse_bytes [alloc_objects: alloc_bytes] @ …"
		var objs, bytes int64
		if _, err := fmt.Sscanf(head, "%d: %d", &objs, &bytes); err == nil {
			total += bytes
		}
	}
	return total
}

func TestHotspotFault(t *testing.T) {
	_, hc := newTestShop(t, Options{Faults: []string{FaultHotspot}})
	_, cc := newTestShop(t, Options{})

	// Same answer either way: the fault costs CPU, not correctness.
	h := hc.expect(http.StatusOK, "GET", "/api/products?page=2", "", nil)
	c := cc.expect(http.StatusOK, "GET", "/api/products?page=2", "", nil)
	if !bytes.Equal(h.body, c.body) {
		t.Errorf("hotspot changed the listing:\n%s\nwant\n%s", h.body, c.body)
	}
	if id, err := strconv.Atoi(h.header.Get("X-Shop-Featured")); err != nil || id < 21 || id > 40 {
		t.Errorf("X-Shop-Featured = %q, want a product id of page 2", h.header.Get("X-Shop-Featured"))
	}
	if v := c.header.Get("X-Shop-Featured"); v != "" {
		t.Errorf("healthy shop sets X-Shop-Featured %q", v)
	}

	// CPU time (not wall time, which other processes distort) per listing.
	const calls = 40
	perCall := func(c *client) time.Duration {
		c.expect(http.StatusOK, "GET", "/api/products", "", nil) // warm the connection and caches
		before := processCPU(t)
		for range calls {
			c.expect(http.StatusOK, "GET", "/api/products", "", nil)
		}
		return (processCPU(t) - before) / calls
	}
	healthy, hotspot := perCall(cc), perCall(hc)
	t.Logf("CPU per listing: healthy %v, hotspot %v", healthy, hotspot)
	if hotspot < 3*healthy {
		t.Errorf("hotspot listing costs %v of CPU, healthy %v: want at least 3×", hotspot, healthy)
	}
}

func TestLockFault(t *testing.T) {
	locked, lc := newTestShop(t, Options{Faults: []string{FaultLock}})
	healthy, hc := newTestShop(t, Options{})
	if rate := runtime.SetMutexProfileFraction(-1); rate != 5 {
		t.Errorf("mutex profile fraction = %d with the lock fault on, want 5", rate)
	}

	// Hold the shop-wide lock ourselves: with the fault on, every cart and
	// profile request queues behind it and none completes until we let go;
	// without it, the same requests are not held up.
	const k = 6
	t.Run("requests queue on the shop-wide lock", func(t *testing.T) {
		tokens := loginAll(lc, k)
		locked.audit.mu.Lock()
		held := true
		defer func() { // a failed wait must not leave the requests stuck
			if held {
				locked.audit.mu.Unlock()
			}
		}()
		var done atomic.Int32
		codes := make([]int, k)
		var wg sync.WaitGroup
		for i := range k {
			wg.Go(func() {
				defer done.Add(1)
				path := []string{"/api/cart", "/api/user/profile"}[i%2]
				if r, err := lc.do(t.Context(), "GET", path, tokens[i], nil); err == nil {
					codes[i] = r.code
				}
			})
		}
		waitFor(t, func() bool { return goroutinesIn("demo.(*Shop).auditTrail") == k },
			fmt.Sprintf("%d requests waiting in auditTrail", k))
		if n := done.Load(); n != 0 {
			t.Errorf("%d requests finished while the audit lock was held", n)
		}
		locked.audit.mu.Unlock()
		held = false
		wg.Wait()
		for i, code := range codes {
			if code != http.StatusOK {
				t.Errorf("request %d: status %d, want 200", i, code)
			}
		}
	})
	t.Run("healthy shop does not take the lock", func(t *testing.T) {
		tokens := loginAll(hc, k)
		healthy.audit.mu.Lock()
		defer healthy.audit.mu.Unlock()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for i := range k {
			wg.Go(func() {
				path := []string{"/api/cart", "/api/user/profile"}[i%2]
				r, err := hc.do(ctx, "GET", path, tokens[i], nil)
				if err != nil || r.code != http.StatusOK {
					t.Errorf("GET %s with the audit lock held: %v %d", path, err, r.code)
				}
			})
		}
		wg.Wait() // finishes only if no request needed the lock
	})

	// Under contention the mutex profile (sampled 1 in 5) points at
	// auditTrail, as a watcher's profile would.
	t.Run("mutex profile shows auditTrail", func(t *testing.T) {
		const workers, each = 8, 12
		tokens := loginAll(lc, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for j := range each {
					path := []string{"/api/cart", "/api/user/profile"}[j%2]
					if r, err := lc.do(t.Context(), "GET", path, tokens[w], nil); err != nil || r.code != http.StatusOK {
						t.Errorf("GET %s: %v", path, err)
						return
					}
				}
			})
		}
		wg.Wait()
		prof := string(lc.expect(http.StatusOK, "GET", "/debug/pprof/mutex?debug=1", "", nil).body)
		if !strings.Contains(prof, "demo.(*Shop).auditTrail") {
			t.Errorf("mutex profile does not mention auditTrail:\n%.2000s", prof)
		}
	})

	if err := locked.Close(); err != nil {
		t.Fatal(err)
	}
	if rate := runtime.SetMutexProfileFraction(-1); rate != 0 {
		t.Errorf("mutex profile fraction = %d after Close, want it restored to 0", rate)
	}
}

func loginAll(c *client, n int) []string {
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = c.login(i + 1)
	}
	return tokens
}

// goroutinesIn counts goroutines whose stack contains fn.
func goroutinesIn(fn string) int {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
	n := 0
	// debug=1 groups identical stacks: "N @ 0x…" then "#\t0x…\tfunc+0x…".
	for rec := range strings.SplitSeq(buf.String(), "\n\n") {
		head, stack, _ := strings.Cut(rec, "\n")
		if !strings.Contains(stack, fn) {
			continue
		}
		if count, _, ok := strings.Cut(head, " @ "); ok {
			if v, err := strconv.Atoi(count); err == nil {
				n += v
			}
		}
	}
	return n
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline; it waits for an observable state, not for time to pass.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
