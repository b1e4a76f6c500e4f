package zoo

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Finding kinds the ground truth names. They are the analysis's rule
// names (result.Kind…) where a rule exists; the others name what a rule
// would have to find, and no finding has them yet.
const (
	KindCPUHotspot     = "cpu_hotspot"
	KindLockContention = "lock_contention"
	KindMemoryLeak     = "memory_leak"
	KindGCPressure     = "gc_pressure"
	KindSlowDatabase   = "slow_database"
	KindDBPoolWait     = "db_pool_wait" // read from SQL steps only, so far
	KindSlowResponse   = "slow_response"
	KindThroughput     = "throughput_shortfall"
	KindSlowDependency = "slow_dependency"
	KindDiskIO         = "disk_io"
	KindGoroutineLeak  = "goroutine_leak"

	// Not (yet) rules of the analysis.
	KindQueueGrowth = "queue_growth"
)

// Truth is what the analysis should conclude about a service under its
// standard plan.
type Truth struct {
	// Healthy services have no planted fault: no finding of medium or
	// high severity should be drawn from them.
	Healthy bool
	// Kinds are the finding kinds that name the fault, the preferred
	// first; any of them counts.
	Kinds []string
	// Function is the service's own function the finding should name (in
	// its subject or title), as it appears in a profile's symbol name;
	// empty when no profile can point at one.
	Function string
	// Note says why, when the truth is not obvious from the fault.
	Note string
}

// Service is one service of the zoo.
type Service struct {
	Name string
	// About says what is planted or, for a healthy service, what makes
	// it look suspicious to a careless rule.
	About string
	Truth Truth
	// build makes the service's routes; it registers what it must close
	// on s.
	build func(s *setup) error
}

// setup is what a service is built with.
type setup struct {
	mux     *http.ServeMux
	dir     string                // a temporary directory the service owns
	reg     prometheus.Registerer // the default registry, as a service would use
	logf    func(format string, args ...any)
	closers []func() error // run in reverse order when the service stops
	ctx     context.Context
}

// handle registers an instrumented handler for pattern, as services do
// with promhttp's middleware.
func (s *setup) handle(pattern string, h http.HandlerFunc) {
	s.mux.Handle(pattern, instrument(pattern, h))
}

func (s *setup) onClose(f func() error) { s.closers = append(s.closers, f) }

// Services lists the zoo, faults first, then the healthy services.
func Services() []Service {
	return slices.Concat(faultServices(), healthyServices())
}

// Lookup returns the service called name.
func Lookup(name string) (Service, bool) {
	for _, s := range Services() {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// Names lists the services' names, in the order of Services.
func Names() []string {
	var out []string
	for _, s := range Services() {
		out = append(out, s.Name)
	}
	return out
}

//go:embed plans/*.yaml
var plans embed.FS

// PlanParams fill a service's standard plan.
type PlanParams struct {
	URL  string        // the service's base URL
	PID  int           // its process, for the process watch
	Hold time.Duration // how long the load holds at its level (0: 20s)
}

// Plan returns the service's standard plan, a stampede plan document
// pointed at a running instance: its placeholders $ZOO_URL, $ZOO_PID and
// $ZOO_HOLD replaced.
func (s Service) Plan(p PlanParams) ([]byte, error) {
	b, err := plans.ReadFile("plans/" + s.Name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("service %s has no plan: %w", s.Name, err)
	}
	hold := cmp.Or(p.Hold, 20*time.Second)
	r := strings.NewReplacer(
		"$ZOO_URL", p.URL,
		"$ZOO_PID", strconv.Itoa(p.PID),
		"$ZOO_HOLD", strconv.FormatFloat(hold.Seconds(), 'f', -1, 64)+"s",
	)
	return []byte(r.Replace(string(b))), nil
}

// Options configure Serve.
type Options struct {
	// Stdout receives the one line that says where the service listens:
	// "zoo NAME listening on http://ADDR".
	Stdout io.Writer
	// Logf logs what goes wrong inside the service (nil: nothing).
	Logf func(format string, args ...any)
}

// ListeningPrefix starts the line Serve prints once it accepts requests.
const ListeningPrefix = "zoo listening on "

// Serve runs service name on addr ("127.0.0.1:0" picks a free port) until
// ctx is done. It sets process-wide state (the profiling rates, the
// default Prometheus registry), so it runs once per process.
func Serve(ctx context.Context, name, addr string, o Options) error {
	svc, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("no service %q in the zoo (have %s)", name, strings.Join(Names(), ", "))
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	// The rates the watch's documentation recommends: the mutex and block
	// profiles stay empty otherwise.
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(10000)
	// The default Go collector exports the memstats series only; the
	// runtime/metrics ones (go_gc_heap_live_bytes, the GC cycle counters,
	// CPU classes) are what the analysis needs to tell live heap from
	// garbage.
	prometheus.Unregister(collectors.NewGoCollector())
	prometheus.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsAll)))

	dir, err := os.MkdirTemp("", "zoo-"+name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	mux := http.NewServeMux()
	st := &setup{mux: mux, dir: dir, reg: prometheus.DefaultRegisterer, logf: logf, ctx: ctx}
	defer func() {
		for i := len(st.closers) - 1; i >= 0; i-- {
			if err := st.closers[i](); err != nil {
				logf("zoo %s: close: %v", name, err)
			}
		}
	}()
	if err := svc.build(st); err != nil {
		return fmt.Errorf("cannot start service %s: %w", name, err)
	}
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if o.Stdout != nil {
		fmt.Fprintf(o.Stdout, "%shttp://%s (service %s, pid %d)\n", ListeningPrefix, ln.Addr(), name, os.Getpid())
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

var (
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "HTTP requests served, by route and status code.",
	}, []string{"route", "code"})
	durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "Time to serve a request, by route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	registerHTTP = sync1(func() { prometheus.MustRegister(requests, durations) })
)

// instrument wraps h in client_golang's request counter and duration
// histogram, curried with the route.
func instrument(route string, h http.HandlerFunc) http.Handler {
	registerHTTP()
	lbl := prometheus.Labels{"route": route}
	return promhttp.InstrumentHandlerDuration(durations.MustCurryWith(lbl),
		promhttp.InstrumentHandlerCounter(requests.MustCurryWith(lbl), h))
}
