package demo

import (
	"bufio"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The exposition below follows the Prometheus text format 0.0.4 and uses the
// series names of client_golang's Go and process collectors, so a watcher
// cannot tell the difference; only the shop_* series are the shop's own.

// requestMetrics holds the per-route counters. Routes are added while the
// handler is built; the request path only touches one route's atomics.
type requestMetrics struct {
	mu      sync.Mutex // guards routes
	routes  []*routeStats
	bounds  []time.Duration // histogram upper bounds, shared by every route
	started time.Time       // the shop's start, for process_start_time_seconds off Linux
}

// routeStats are one route's counters, all atomic.
type routeStats struct {
	route   string
	bounds  []time.Duration
	codes   [600]atomic.Uint64 // by status code; 0 holds codes outside 100–599
	buckets []atomic.Uint64    // non-cumulative; the last is +Inf
	sumNs   atomic.Int64
	count   atomic.Uint64
}

func newMetrics() *requestMetrics {
	secs := []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	m := &requestMetrics{started: time.Now()}
	for _, s := range secs {
		m.bounds = append(m.bounds, time.Duration(s*float64(time.Second)))
	}
	return m
}

// route registers a route and returns its counters.
func (m *requestMetrics) route(name string) *routeStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	rs := &routeStats{route: name, bounds: m.bounds, buckets: make([]atomic.Uint64, len(m.bounds)+1)}
	m.routes = append(m.routes, rs)
	return rs
}

func (rs *routeStats) observe(code int, d time.Duration) {
	if code < 100 || code >= len(rs.codes) {
		code = 0
	}
	rs.codes[code].Add(1)
	i := 0
	for i < len(rs.bounds) && d > rs.bounds[i] {
		i++
	}
	rs.buckets[i].Add(1)
	rs.sumNs.Add(int64(d))
	rs.count.Add(1)
}

// promWriter appends exposition lines; the first write error sticks and
// later writes are dropped (bufio does that for us).
type promWriter struct {
	w *bufio.Writer
}

func (p promWriter) header(name, typ, help string) {
	p.w.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}

func (p promWriter) sample(name, labels string, v float64) {
	p.w.WriteString(name)
	if labels != "" {
		p.w.WriteString("{" + labels + "}")
	}
	p.w.WriteByte(' ')
	p.w.WriteString(formatFloat(v))
	p.w.WriteByte('\n')
}

func (p promWriter) gauge(name, help string, v float64) {
	p.header(name, "gauge", help)
	p.sample(name, "", v)
}

func (p promWriter) counter(name, help string, v float64) {
	p.header(name, "counter", help)
	p.sample(name, "", v)
}

func formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// labelValue escapes a label value as the text format requires.
func labelValue(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// serveMetrics is GET /metrics.
func (s *Shop) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriterSize(w, 32<<10)
	p := promWriter{bw}
	writeGoMetrics(p)
	writeProcessMetrics(p, s.metrics.started)
	s.metrics.write(p)
	_ = bw.Flush() // a failed scrape is the scraper's problem
}

func (m *requestMetrics) write(p promWriter) {
	m.mu.Lock()
	routes := m.routes[:len(m.routes):len(m.routes)]
	m.mu.Unlock()

	p.header("shop_requests_total", "counter", "Requests served by the demo shop, by route pattern and status code.")
	for _, rs := range routes {
		route := labelValue(rs.route)
		for code := range rs.codes {
			if n := rs.codes[code].Load(); n > 0 {
				c := "other"
				if code != 0 {
					c = strconv.Itoa(code)
				}
				p.sample("shop_requests_total", `route="`+route+`",code="`+c+`"`, float64(n))
			}
		}
	}
	p.header("shop_request_duration_seconds", "histogram", "Time the demo shop took to serve a request, by route pattern.")
	for _, rs := range routes {
		count := rs.count.Load()
		if count == 0 {
			continue
		}
		route := `route="` + labelValue(rs.route) + `"`
		var cum uint64
		for i := range rs.buckets {
			cum += rs.buckets[i].Load()
			le := "+Inf"
			if i < len(rs.bounds) {
				le = formatFloat(rs.bounds[i].Seconds())
			}
			p.sample("shop_request_duration_seconds_bucket", route+`,le="`+le+`"`, float64(cum))
		}
		p.sample("shop_request_duration_seconds_sum", route, time.Duration(rs.sumNs.Load()).Seconds())
		// Buckets and count are read at slightly different moments; keep
		// the exposition self-consistent (+Inf bucket == count).
		p.sample("shop_request_duration_seconds_count", route, float64(cum))
	}
}

// writeGoMetrics writes the go_* series from runtime/metrics, without
// stopping the world.
func writeGoMetrics(p promWriter) {
	names := []string{
		"/sched/goroutines:goroutines",
		"/sched/threads/total:threads",
		"/sched/gomaxprocs:threads",
		"/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/unused:bytes",
		"/memory/classes/total:bytes",
		"/gc/heap/allocs:bytes",
		"/gc/heap/objects:objects",
		"/gc/heap/goal:bytes",
		"/gc/cycles/total:gc-cycles",
		"/sync/mutex/wait/total:seconds",
	}
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	metrics.Read(samples)
	v := func(i int) float64 {
		switch samples[i].Value.Kind() {
		case metrics.KindUint64:
			return float64(samples[i].Value.Uint64())
		case metrics.KindFloat64:
			return samples[i].Value.Float64()
		}
		return 0 // not supported by this runtime
	}
	p.gauge("go_goroutines", "Number of goroutines that currently exist.", v(0))
	p.gauge("go_threads", "Number of OS threads created.", v(1))
	p.gauge("go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting.", v(2))
	p.header("go_info", "gauge", "Information about the Go environment.")
	p.sample("go_info", `version="`+labelValue(runtime.Version())+`"`, 1)
	p.gauge("go_memstats_alloc_bytes", "Number of heap bytes allocated and currently in use.", v(3))
	p.counter("go_memstats_alloc_bytes_total", "Total number of heap bytes allocated, even if freed.", v(6))
	p.gauge("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use.", v(3))
	p.gauge("go_memstats_heap_inuse_bytes", "Number of heap bytes in in-use spans.", v(3)+v(4))
	p.gauge("go_memstats_heap_objects", "Number of currently allocated objects.", v(7))
	p.gauge("go_memstats_next_gc_bytes", "Heap size at which the next garbage collection cycle completes.", v(8))
	p.gauge("go_memstats_sys_bytes", "Number of bytes obtained from the OS.", v(5))
	p.counter("go_gc_cycles_total_gc_cycles_total", "Count of completed GC cycles.", v(9))
	p.counter("go_sync_mutex_wait_total_seconds_total", "Approximate cumulative time goroutines have spent blocked on a sync.Mutex, sync.RWMutex, or runtime-internal lock.", v(10))
}

// writeProcessMetrics writes the process_* series where the platform
// provides them.
func writeProcessMetrics(p promWriter, started time.Time) {
	ps, ok := readProcessStats()
	if !ok {
		p.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", float64(started.UnixNano())/1e9)
		return
	}
	p.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", ps.cpuSeconds)
	p.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", ps.residentBytes)
	p.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", ps.virtualBytes)
	p.gauge("process_open_fds", "Number of open file descriptors.", ps.openFDs)
	if ps.maxFDs > 0 {
		p.gauge("process_max_fds", "Maximum number of open file descriptors.", ps.maxFDs)
	}
	if ps.startTime == 0 {
		ps.startTime = float64(started.UnixNano()) / 1e9
	}
	p.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", ps.startTime)
}

// processStats are the process collector's values.
type processStats struct {
	cpuSeconds, residentBytes, virtualBytes float64
	openFDs, maxFDs, startTime              float64
}
