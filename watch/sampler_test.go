package watch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// fakeProc is a /proc tree in a temporary directory, so that the rates
// can be checked against numbers worked out by hand.
type fakeProc struct {
	t    *testing.T
	root string
}

func newFakeProc(t *testing.T) *fakeProc {
	return &fakeProc{t: t, root: t.TempDir()}
}

func (f *fakeProc) write(name, content string) {
	f.t.Helper()
	path := filepath.Join(f.root, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// host writes the machine files: CPU jiffies (user nice system idle iowait
// irq softirq steal), memory in kB, load and interface byte counters.
func (f *fakeProc) host(cpu [8]int, memTotal, memAvail int, load1 float64, ethRx, ethTx, loRx, loTx int) {
	f.write("stat", fmt.Sprintf("cpu  %d %d %d %d %d %d %d %d 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\nbtime 1700000000\n",
		cpu[0], cpu[1], cpu[2], cpu[3], cpu[4], cpu[5], cpu[6], cpu[7]))
	f.write("meminfo", fmt.Sprintf("MemTotal:       %d kB\nMemFree:        1 kB\nMemAvailable:   %d kB\n", memTotal, memAvail))
	f.write("loadavg", fmt.Sprintf("%.2f 0.50 0.25 1/100 4242\n", load1))
	f.write("net/dev", "Inter-|   Receive                                                |  Transmit\n"+
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"+
		fmt.Sprintf("    lo: %d 1 0 0 0 0 0 0 %d 1 0 0 0 0 0 0\n", loRx, loTx)+
		fmt.Sprintf("  eth0: %d 1 0 0 0 0 0 0 %d 1 0 0 0 0 0 0\n", ethRx, ethTx))
}

// process writes /proc/<pid>: utime and stime in ticks of 1/100 s, state,
// threads, start time, RSS in pages, I/O bytes, context switches, fds.
func (f *fakeProc) process(pid int, state string, utime, stime, threads, start, rssPages, read, write, vol, invol, fds int) {
	f.write(fmt.Sprintf("%d/stat", pid), fmt.Sprintf(
		"%d (leaky) %s 1 %d %d 0 -1 4194560 100 0 0 0 %d %d 0 0 20 0 %d 0 %d 1000000 %d 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
		pid, state, pid, pid, utime, stime, threads, start, rssPages))
	f.write(fmt.Sprintf("%d/status", pid), fmt.Sprintf("Name:\tleaky\nState:\t%s\nvoluntary_ctxt_switches:\t%d\nnonvoluntary_ctxt_switches:\t%d\n", state, vol, invol))
	f.write(fmt.Sprintf("%d/io", pid), fmt.Sprintf("rchar: 1\nwchar: 1\nsyscr: 1\nsyscw: 1\nread_bytes: %d\nwrite_bytes: %d\ncancelled_write_bytes: 0\n", read, write))
	fdDir := filepath.Join(f.root, fmt.Sprint(pid), "fd")
	os.RemoveAll(fdDir)
	for i := range fds {
		f.write(fmt.Sprintf("%d/fd/%d", pid, i), "")
	}
}

func (f *fakeProc) fs() procfs.FS {
	fs, err := procfs.NewFS(f.root)
	if err != nil {
		f.t.Fatal(err)
	}
	return fs
}

func TestProcessAndHostRates(t *testing.T) {
	fp := newFakeProc(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ts := func(now time.Time) float64 { return now.Sub(t0).Seconds() }
	var warn warnings
	pageMB := float64(os.Getpagesize()) / mb

	fp.host([8]int{1000, 0, 500, 8000, 500, 0, 0, 0}, 1000, 750, 0.5, 10_000, 20_000, 1e6, 1e6)
	fp.process(4242, "S", 100, 50, 8, 777, 1000, 0, 0, 10, 5, 3)
	ps, err := newProcessSampler(fp.fs(), &plan.ProcessRef{PID: 4242}, ts, &warn)
	if err != nil {
		t.Fatal(err)
	}
	host := &hostSampler{fs: fp.fs()}
	var discard result.SystemPoint
	if err := errors.Join(ps.sample(context.Background(), t0, &discard), host.sample(context.Background(), t0, &discard)); err != nil {
		t.Fatal(err)
	}

	// Two seconds later: the process used 1.5 s of user and 0.5 s of system
	// CPU (100 % of one core, 75 + 25), read 4 MB, wrote 1 MB, switched 300
	// times; the host spent 400 of 1000 jiffies busy (40 %) and iowait 100
	// of them, and eth0 moved 2000 bytes in and 6000 out (lo is left out).
	fp.host([8]int{1300, 0, 600, 8500, 600, 0, 0, 0}, 1000, 250, 1.25, 12_000, 26_000, 9e6, 9e6)
	fp.process(4242, "R", 250, 100, 9, 777, 2000, 4<<20, 1<<20, 210, 105, 5)
	now := t0.Add(2 * time.Second)
	var pt result.SystemPoint
	if err := errors.Join(ps.sample(context.Background(), now, &pt), host.sample(context.Background(), now, &pt)); err != nil {
		t.Fatal(err)
	}
	want := result.SystemPoint{
		CPUPercent: 100, CPUUser: 75, CPUSystem: 25,
		RSSMB: 2000 * pageMB, Threads: 9, FDs: 5,
		ReadBPS: 2 << 20, WriteBPS: 1 << 19, CtxSwitches: 150,
		HostCPU: 40, HostMemPct: 75, HostLoad1: 1.25, NetInBPS: 1000, NetOutBPS: 3000,
	}
	if !samePoint(pt, want) {
		t.Errorf("point\n got %+v\nwant %+v", pt, want)
	}
	stats := ps.stats()
	if stats.PID != 4242 || stats.Name != "leaky" || stats.CPUPercent.Mean != 100 || stats.FDs.Max != 5 {
		t.Errorf("stats = %+v", stats)
	}

	// The pid now belongs to another process (a different start time):
	// the watched one has exited, once, with a clear warning.
	fp.process(4242, "S", 0, 0, 1, 999, 10, 0, 0, 0, 0, 1)
	pt = result.SystemPoint{}
	err = ps.sample(context.Background(), t0.Add(12*time.Second), &pt)
	if err == nil || err.Error() != "process 4242 exited at 12.0 s; later points have no process data" {
		t.Errorf("err = %v", err)
	}
	if pt.RSSMB != 0 || ps.sample(context.Background(), t0.Add(13*time.Second), &pt) != nil || !ps.stats().Exited {
		t.Errorf("after exit: point %+v, stats %+v", pt, ps.stats())
	}
}

func TestProcessZombieIsExited(t *testing.T) {
	fp := newFakeProc(t)
	fp.process(7, "S", 1, 1, 1, 5, 1, 0, 0, 0, 0, 1)
	var warn warnings
	ps, err := newProcessSampler(fp.fs(), &plan.ProcessRef{PID: 7}, func(time.Time) float64 { return 3 }, &warn)
	if err != nil {
		t.Fatal(err)
	}
	fp.process(7, "Z", 1, 1, 1, 5, 0, 0, 0, 0, 0, 0)
	var pt result.SystemPoint
	if err := ps.sample(context.Background(), time.Now(), &pt); err == nil || !strings.Contains(err.Error(), "exited at 3.0 s") {
		t.Errorf("zombie not seen as exited: %v", err)
	}
	if _, err := newProcessSampler(fp.fs(), &plan.ProcessRef{PID: 7}, nil, &warn); !errors.Is(err, ErrNoProcess) {
		t.Errorf("starting on a zombie: %v, want ErrNoProcess", err)
	}
}

func samePoint(a, b result.SystemPoint) bool {
	fa := []float64{a.CPUPercent, a.CPUUser, a.CPUSystem, a.RSSMB, float64(a.Threads), float64(a.FDs), a.ReadBPS, a.WriteBPS, a.CtxSwitches, a.HostCPU, a.HostMemPct, a.HostLoad1, a.NetInBPS, a.NetOutBPS}
	fb := []float64{b.CPUPercent, b.CPUUser, b.CPUSystem, b.RSSMB, float64(b.Threads), float64(b.FDs), b.ReadBPS, b.WriteBPS, b.CtxSwitches, b.HostCPU, b.HostMemPct, b.HostLoad1, b.NetInBPS, b.NetOutBPS}
	for i := range fa {
		if math.Abs(fa[i]-fb[i]) > 1e-9*math.Max(1, math.Abs(fb[i])) {
			return false
		}
	}
	return true
}

// promTarget is a loopback /metrics endpoint whose body the test sets per
// scrape, and which answers in OpenMetrics when asked for it.
type promTarget struct {
	mu      sync.Mutex // guards text, om and accept
	text    string
	om      string
	accept  []string
	ctype   string
	servers *httptest.Server
}

func newPromTarget(t *testing.T) *promTarget {
	p := &promTarget{}
	p.servers = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.accept = append(p.accept, r.Header.Get("Accept"))
		switch {
		case p.ctype != "":
			w.Header().Set("Content-Type", p.ctype)
			fmt.Fprint(w, p.text)
		case p.om != "" && strings.Contains(r.Header.Get("Accept"), "application/openmetrics-text"):
			w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
			fmt.Fprint(w, p.om)
		default:
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			fmt.Fprint(w, p.text)
		}
	}))
	t.Cleanup(p.servers.Close)
	return p
}

func (p *promTarget) set(text, om string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.text, p.om = text, om
}

// goBody is a classic-format body; extra goes inside the histogram's block.
func goBody(heap, goroutines, gcSum, gcCount float64, requests int, extra string) string {
	return fmt.Sprintf(`# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines %g
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes %g
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0.5"} 0.0001
go_gc_duration_seconds_sum %g
go_gc_duration_seconds_count %g
# TYPE process_open_fds gauge
process_open_fds 12
# TYPE http_requests_total counter
http_requests_total{method="get",code="200"} %d
http_requests_total{code="500",method="get"} 3
# TYPE http_latency_seconds histogram
http_latency_seconds_bucket{le="0.1"} 5
http_latency_seconds_bucket{le="+Inf"} 10
http_latency_seconds_sum 1.5
http_latency_seconds_count 10
%s# TYPE other_gauge gauge
other_gauge 1
`, goroutines, heap, gcSum, gcCount, requests, extra)
}

func TestPrometheusSampler(t *testing.T) {
	target := newPromTarget(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var warn warnings
	ps := newPromSampler(target.servers.URL, []string{"http_*", "missing_metric"}, target.servers.Client(), time.Second,
		func(now time.Time) float64 { return now.Sub(t0).Seconds() }, &warn)
	ctx := context.Background()

	target.set(goBody(8<<20, 40, 1.0, 100, 1000, ""), "")
	var first result.SystemPoint
	if err := ps.sample(ctx, t0, &first); err != nil {
		t.Fatal(err)
	}
	if _, ok := first.Metrics["http_requests_total{code=\"200\",method=\"get\"}"]; ok {
		t.Error("a counter has no rate at the first scrape")
	}
	if first.HeapMB != 8 || first.Goroutines != 40 || first.GCPerS != 0 {
		t.Errorf("first scrape: %+v", first)
	}

	// Two seconds later: 60 more requests (30/s), 4 more GCs (2/s) that
	// paused 0.01 s (0.5 % of the time), the histogram counted 10 more.
	target.set(goBody(10<<20, 42, 1.01, 104, 1060, "http_latency_seconds_created 1.7e9\n"), "")
	var pt result.SystemPoint
	if err := ps.sample(ctx, t0.Add(2*time.Second), &pt); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`http_requests_total{code="200",method="get"}`: 30, // labels sorted by name
		`http_requests_total{code="500",method="get"}`: 0,
		`http_latency_seconds_sum`:                     0,
		`http_latency_seconds_count`:                   0,
		`go_goroutines`:                                42,
		`go_memstats_heap_inuse_bytes`:                 10 << 20,
		`go_gc_duration_seconds{quantile="0.5"}`:       0.0001,
		`go_gc_duration_seconds_sum`:                   0.005,
		`go_gc_duration_seconds_count`:                 2,
		`process_open_fds`:                             12,
	}
	if len(pt.Metrics) != len(want) {
		t.Errorf("kept %d series, want %d: %v", len(pt.Metrics), len(want), pt.Metrics)
	}
	for k, v := range want {
		if got, ok := pt.Metrics[k]; !ok || math.Abs(got-v) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if pt.HeapMB != 10 || pt.Goroutines != 42 || pt.GCPerS != 2 || math.Abs(pt.GCPausePct-0.5) > 1e-9 {
		t.Errorf("mapped fields: heap %v goroutines %v gc/s %v pause %v", pt.HeapMB, pt.Goroutines, pt.GCPerS, pt.GCPausePct)
	}
	if w := warn.list(); len(w) != 1 || !strings.Contains(w[0], `no series named "missing_metric"`) {
		t.Errorf("warnings = %q", w)
	}

	// The target restarted: its counter went back to 20. Prometheus reads
	// a reset as a restart from zero: 20 in one second.
	target.set(goBody(1<<20, 5, 0, 1, 20, ""), "")
	pt = result.SystemPoint{}
	if err := ps.sample(ctx, t0.Add(3*time.Second), &pt); err != nil {
		t.Fatal(err)
	}
	if got := pt.Metrics[`http_requests_total{code="200",method="get"}`]; got != 20 {
		t.Errorf("rate after a reset = %v, want 20", got)
	}

	for _, a := range target.accept {
		if !strings.HasPrefix(a, "text/plain;version=0.0.4") {
			t.Errorf("Accept %q does not prefer the classic text format", a)
		}
	}
}

func TestPrometheusSamplerOpenMetricsAndFailures(t *testing.T) {
	target := newPromTarget(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var warn warnings
	ps := newPromSampler(target.servers.URL, []string{"rpc"}, target.servers.Client(), time.Second,
		func(now time.Time) float64 { return now.Sub(t0).Seconds() }, &warn)
	// A client that only offers OpenMetrics-looking names: counter family
	// rpc, sample rpc_total, and a _created line that must not become a rate.
	om := func(n int) string {
		return fmt.Sprintf("# TYPE rpc counter\nrpc_total{path=\"/a\"} %d # {trace_id=\"x\"} 1\nrpc_created{path=\"/a\"} 1.7e9\n# EOF\n", n)
	}
	target.set("", om(10))
	var pt result.SystemPoint
	if err := ps.sample(context.Background(), t0, &pt); err != nil {
		t.Fatal(err)
	}
	target.set("", om(15))
	if err := ps.sample(context.Background(), t0.Add(time.Second/2), &pt); err != nil {
		t.Fatal(err)
	}
	if len(pt.Metrics) != 1 || pt.Metrics[`rpc_total{path="/a"}`] != 10 {
		t.Errorf("OpenMetrics counter: %v, want rpc_total at 10/s", pt.Metrics)
	}

	// A body that does not parse, then a protobuf answer: warnings, and
	// the point is left alone.
	target.set("rpc_total{path=\"/a\" 20\n", "")
	pt = result.SystemPoint{}
	err := ps.sample(context.Background(), t0.Add(time.Second), &pt)
	if err == nil || !strings.Contains(err.Error(), "line 1: unexpected '2' in label set") {
		t.Errorf("err = %v, want the syntax error", err)
	}
	if pt.Metrics != nil {
		t.Errorf("a broken scrape changed the point: %v", pt.Metrics)
	}
	target.mu.Lock()
	target.ctype = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
	target.mu.Unlock()
	if err := ps.sample(context.Background(), t0.Add(2*time.Second), &pt); err == nil || !strings.Contains(err.Error(), "protobuf") {
		t.Errorf("err = %v, want the protobuf warning", err)
	}
}

func TestWarningsAreCounted(t *testing.T) {
	var logged []string
	ws := warnings{logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }}
	ws.addErr(warnf("scrape", "scrape failed at 1.0 s: refused"), 1)
	ws.addErr(warnf("scrape", "scrape failed at 2.0 s: refused"), 2)
	ws.addErr(errors.Join(warnf("io", "no io"), warnf("scrape", "scrape failed at 3.0 s")), 3)
	ws.add("once", "a one-off")
	want := []string{
		"scrape failed at 1.0 s: refused (and 2 more times, the last at 3.0 s)",
		"no io",
		"a one-off",
	}
	if got := ws.list(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("list = %q, want %q", got, want)
	}
	if len(logged) != 3 {
		t.Errorf("logged %q, want each warning once", logged)
	}
}

func TestSpecFromFlags(t *testing.T) {
	tests := []struct {
		name                  string
		pid                   int
		pname, prom, pprofURL string
		interval              time.Duration
		want                  *plan.System
	}{
		{"nothing asked", 0, "", "", "", 0, nil},
		{"pid wins over name", 42, "app", "", "", 0, &plan.System{Process: &plan.ProcessRef{PID: 42}}},
		{"name only", 0, "app", "", "", 0, &plan.System{Process: &plan.ProcessRef{Name: "app"}}},
		{"endpoints and interval", 0, "", "http://h:9090/metrics", "http://h:6060", 500 * time.Millisecond,
			&plan.System{Prometheus: &plan.PrometheusSpec{URL: "http://h:9090/metrics"}, Pprof: "http://h:6060", Interval: plan.Duration(500 * time.Millisecond)}},
	}
	for _, tt := range tests {
		got := SpecFromFlags(tt.pid, tt.pname, tt.prom, tt.pprofURL, tt.interval)
		if fmt.Sprintf("%+v", deref(got)) != fmt.Sprintf("%+v", deref(tt.want)) {
			t.Errorf("%s: got %+v, want %+v", tt.name, deref(got), deref(tt.want))
		}
	}
}

func deref(s *plan.System) string {
	if s == nil {
		return "nil"
	}
	out := fmt.Sprintf("pprof=%s interval=%v", s.Pprof, s.Interval.D())
	if s.Process != nil {
		out += fmt.Sprintf(" process=%+v", *s.Process)
	}
	if s.Prometheus != nil {
		out += fmt.Sprintf(" prometheus=%+v", *s.Prometheus)
	}
	return out
}

func TestStartRejects(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		spec *plan.System
		want error
	}{
		{"no spec", nil, ErrNothingToWatch},
		{"empty spec", &plan.System{}, ErrNothingToWatch},
		{"a pid that does not exist", &plan.System{Process: &plan.ProcessRef{PID: 1 << 30}}, ErrNoProcess},
		{"a name nothing has", &plan.System{Process: &plan.ProcessRef{Name: "no-such-stampede-target"}}, ErrNoProcess},
		{"not an http URL", &plan.System{Pprof: "localhost:6060"}, nil},
		{"a negative interval", &plan.System{Pprof: "http://127.0.0.1:1", Interval: -1}, nil},
	}
	for _, tt := range tests {
		w, err := Start(ctx, tt.spec, Options{Manual: true})
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if w != nil {
			t.Errorf("%s: a watcher came back with the error", tt.name)
		}
	}
}

func TestEndpointDefaults(t *testing.T) {
	tests := []struct{ in, def, want string }{
		{"http://127.0.0.1:6060", "/debug/pprof", "http://127.0.0.1:6060/debug/pprof"},
		{"http://127.0.0.1:6060/debug/pprof/", "/debug/pprof", "http://127.0.0.1:6060/debug/pprof"},
		{"https://h/metrics", "/metrics", "https://h/metrics"},
		{"http://h:9100/", "/metrics", "http://h:9100/metrics"},
	}
	for _, tt := range tests {
		if got, err := endpoint(tt.in, tt.def); err != nil || got != tt.want {
			t.Errorf("endpoint(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestPrometheusLiveHeapAndCycles: the live heap after the last GC and the
// count of completed cycles, from each set of series a Go target may
// expose.
func TestPrometheusLiveHeapAndCycles(t *testing.T) {
	tests := []struct {
		name   string
		bodies []string // scraped one second apart
		live   []float64
		cycles []int64
	}{
		{"runtime/metrics opted in (client_golang's /gc/heap/live and /gc/cycles/total)", []string{
			"# TYPE go_gc_heap_live_bytes gauge\ngo_gc_heap_live_bytes 1.048576e+07\n# TYPE go_gc_cycles_total_gc_cycles_total counter\ngo_gc_cycles_total_gc_cycles_total 40\n# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds_count 39\n# TYPE go_memstats_next_gc_bytes gauge\ngo_memstats_next_gc_bytes 9.9e+07\n",
			"# TYPE go_gc_heap_live_bytes gauge\ngo_gc_heap_live_bytes 1.2582912e+07\n# TYPE go_gc_cycles_total_gc_cycles_total counter\ngo_gc_cycles_total_gc_cycles_total 43\n",
		}, []float64{10, 12}, []int64{40, 43}},
		{"client_golang's default: the heap goal at GOGC=100, NumGC", []string{
			"# TYPE go_memstats_next_gc_bytes gauge\ngo_memstats_next_gc_bytes 4.194304e+07\n# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds{quantile=\"1\"} 0.001\ngo_gc_duration_seconds_sum 0.1\ngo_gc_duration_seconds_count 7\n",
			"# TYPE go_memstats_next_gc_bytes gauge\ngo_memstats_next_gc_bytes 5.0331648e+07\n# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds_sum 0.2\ngo_gc_duration_seconds_count 9\n",
		}, []float64{20, 24}, []int64{7, 9}},
		{"the goal with GOGC=50 from go_gc_gogc_percent", []string{
			"# TYPE go_gc_gogc_percent gauge\ngo_gc_gogc_percent 50\n# TYPE go_memstats_next_gc_bytes gauge\ngo_memstats_next_gc_bytes 3.145728e+07\n",
		}, []float64{20}, []int64{0}},
		{"a goal at the runtime's 4 MB minimum says nothing; GOGC off neither", []string{
			"# TYPE go_memstats_next_gc_bytes gauge\ngo_memstats_next_gc_bytes 4.194304e+06\n",
			"# TYPE go_gc_gogc_percent gauge\ngo_gc_gogc_percent -1\n# TYPE go_memstats_next_gc_bytes gauge\ngo_memstats_next_gc_bytes 4.194304e+08\n",
		}, []float64{0, 0}, []int64{0, 0}},
		{"only the time of the last GC: its changes are counted", []string{
			"# TYPE go_memstats_last_gc_time_seconds gauge\ngo_memstats_last_gc_time_seconds 1.7e+09\n",
			"# TYPE go_memstats_last_gc_time_seconds gauge\ngo_memstats_last_gc_time_seconds 1.7e+09\n",
			"# TYPE go_memstats_last_gc_time_seconds gauge\ngo_memstats_last_gc_time_seconds 1.700000001e+09\n",
			"# TYPE go_memstats_last_gc_time_seconds gauge\ngo_memstats_last_gc_time_seconds 1.700000003e+09\n",
		}, []float64{0, 0, 0, 0}, []int64{1, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := newPromTarget(t)
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var warn warnings
			ps := newPromSampler(target.servers.URL, nil, target.servers.Client(), time.Second,
				func(now time.Time) float64 { return now.Sub(t0).Seconds() }, &warn)
			for i, body := range tt.bodies {
				target.set(body, "")
				var pt result.SystemPoint
				if err := ps.sample(context.Background(), t0.Add(time.Duration(i)*time.Second), &pt); err != nil {
					t.Fatal(err)
				}
				if math.Abs(pt.HeapLiveMB-tt.live[i]) > 1e-9 || pt.GCCycles != tt.cycles[i] {
					t.Errorf("scrape %d: live %v MB, %d cycles; want %v MB, %d cycles", i, pt.HeapLiveMB, pt.GCCycles, tt.live[i], tt.cycles[i])
				}
			}
		})
	}
}

// TestPrometheusLastGCAt: a point records when the last cycle ended, in
// seconds from its own time, so it holds when the timeline moves.
func TestPrometheusLastGCAt(t *testing.T) {
	target := newPromTarget(t)
	t0 := time.Unix(1_700_000_000, 0)
	var warn warnings
	ps := newPromSampler(target.servers.URL, nil, target.servers.Client(), time.Second,
		func(now time.Time) float64 { return now.Sub(t0).Seconds() }, &warn)
	// The point stamped at 4 s (the start of its interval), read at 5 s; the
	// cycle ended at 4.25 s.
	target.set("# TYPE go_memstats_last_gc_time_seconds gauge\ngo_memstats_last_gc_time_seconds 1.70000000425e+09\n", "")
	pt := result.SystemPoint{TS: 4}
	if err := ps.sample(context.Background(), t0.Add(5*time.Second), &pt); err != nil {
		t.Fatal(err)
	}
	if math.Abs(pt.LastGCAtS-0.25) > 1e-6 {
		t.Errorf("last_gc_at_s = %v, want 0.25", pt.LastGCAtS)
	}
}
