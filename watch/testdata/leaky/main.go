// Command leaky is a small HTTP server the watch tests run as the system
// under test. Each request to /work can burn CPU in a clearly named
// function, retain memory (a leak), allocate and drop memory (garbage), or
// queue on a contended lock. It serves /debug/pprof and a hand-written
// Prometheus /metrics with the Go runtime series the watch maps.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	leak := flag.Int("leak", 0, "bytes retained for good by every request")
	garbage := flag.Int("garbage", 0, "bytes allocated and dropped by every request")
	hot := flag.Int("hot", 0, "rounds of CPU work per request")
	contend := flag.Bool("contend", false, "hold a shared lock in every request; enable mutex and block profiles")
	cache := flag.Int("cache", 0, "bytes retained by the first requests, up to this many in all (a cache that fills, then stops)")
	runtimeMetrics := flag.Bool("runtime-metrics", false, "also export go_gc_heap_live_bytes and go_gc_cycles_total_gc_cycles_total, as client_golang does when they are enabled")
	flag.Parse()

	if *contend {
		runtime.SetMutexProfileFraction(1)
		runtime.SetBlockProfileRate(1)
	}
	s := &server{leak: *leak, garbage: *garbage, hot: *hot, contend: *contend, cache: *cache, runtimeMetrics: *runtimeMetrics}
	mux := http.NewServeMux()
	mux.HandleFunc("/work", s.work)
	mux.HandleFunc("/metrics", s.metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.Serve(ln))
}

type server struct {
	leak, garbage, hot, cache int
	contend, runtimeMetrics   bool

	requests atomic.Int64

	mu       sync.Mutex // guards retained and cached
	retained [][]byte
	cached   int

	shared sync.Mutex // the contended lock
}

var sink []byte // keeps garbage from being optimised away

func (s *server) work(w http.ResponseWriter, r *http.Request) {
	var sum uint64
	if s.hot > 0 {
		sum = hotspotBurnCPU(s.hot)
	}
	if s.leak > 0 {
		s.retainLeak(s.leak)
	}
	if s.garbage > 0 {
		churnGarbage(s.garbage)
	}
	if s.cache > 0 {
		s.fillCache(64 << 10)
	}
	if s.contend {
		s.holdContended()
	}
	s.requests.Add(1)
	fmt.Fprintf(w, "ok %d\n", sum)
}

// hotspotBurnCPU is the planted CPU hotspot.
//
//go:noinline
func hotspotBurnCPU(rounds int) uint64 {
	x := uint64(88172645463325252)
	for range rounds {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// retainLeak is the planted leak: memory kept for the life of the process.
//
//go:noinline
func (s *server) retainLeak(n int) {
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = 1 // touch every page so that RSS grows too
	}
	s.mu.Lock()
	s.retained = append(s.retained, b)
	s.mu.Unlock()
}

// fillCache keeps n bytes until the cache holds its size, then nothing.
//
//go:noinline
func (s *server) fillCache(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached+n > s.cache {
		return
	}
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = 1
	}
	s.retained = append(s.retained, b)
	s.cached += n
}

//go:noinline
func churnGarbage(n int) {
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = 1
	}
	sink = b
}

//go:noinline
func (s *server) holdContended() {
	s.shared.Lock()
	time.Sleep(200 * time.Microsecond)
	s.shared.Unlock()
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintf(w, "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
	// The series of client_golang's default Go collector the watch reads.
	fmt.Fprintf(w, "# TYPE go_memstats_heap_inuse_bytes gauge\ngo_memstats_heap_inuse_bytes %d\n", m.HeapInuse)
	fmt.Fprintf(w, "# TYPE go_memstats_heap_alloc_bytes gauge\ngo_memstats_heap_alloc_bytes %d\n", m.HeapAlloc)
	fmt.Fprintf(w, "# TYPE go_memstats_next_gc_bytes gauge\ngo_memstats_next_gc_bytes %d\n", m.NextGC)
	fmt.Fprintf(w, "# TYPE go_memstats_last_gc_time_seconds gauge\ngo_memstats_last_gc_time_seconds %g\n", float64(m.LastGC)/1e9)
	fmt.Fprintf(w, "# TYPE go_gc_gogc_percent gauge\ngo_gc_gogc_percent %d\n", gogc())
	fmt.Fprintf(w, "# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds_sum %g\ngo_gc_duration_seconds_count %d\n", float64(m.PauseTotalNs)/1e9, m.NumGC)
	if s.runtimeMetrics {
		rm := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}, {Name: "/sched/gomaxprocs:threads"}}
		metrics.Read(rm)
		fmt.Fprintf(w, "# TYPE go_gc_heap_live_bytes gauge\ngo_gc_heap_live_bytes %d\n", rm[0].Value.Uint64())
		fmt.Fprintf(w, "# TYPE go_gc_cycles_total_gc_cycles_total counter\ngo_gc_cycles_total_gc_cycles_total %d\n", rm[1].Value.Uint64())
		fmt.Fprintf(w, "# TYPE go_sched_gomaxprocs_threads gauge\ngo_sched_gomaxprocs_threads %d\n", rm[2].Value.Uint64())
	}
	fmt.Fprintf(w, "# TYPE leaky_requests_total counter\nleaky_requests_total{code=\"200\"} %d\n", s.requests.Load())
	fmt.Fprintf(w, "# TYPE unrelated_gauge gauge\nunrelated_gauge 1\n")
}

// gogc is the GOGC in force.
func gogc() uint64 {
	rm := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(rm)
	return rm[0].Value.Uint64()
}
