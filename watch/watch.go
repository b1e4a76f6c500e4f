package watch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/procfs"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// Defaults for the zero values of plan.System.
const (
	DefaultInterval   = time.Second
	DefaultCPUProfile = 10 * time.Second
)

var (
	// ErrNothingToWatch is returned by Start for a spec with no process,
	// Prometheus endpoint or pprof endpoint.
	ErrNothingToWatch = errors.New("nothing to watch: set a process, a prometheus URL or a pprof URL")
	// ErrNoProcess is returned by Start when the process to watch does not
	// exist.
	ErrNoProcess = errors.New("no such process")
)

// Options are how a Watcher fits into its run.
type Options struct {
	// Start is the run's t0: every point's t_s is seconds since Start.
	// Zero means the moment Start is called.
	Start time.Time
	// Duration is the run's planned length, when known: it caps the CPU
	// profile so that it ends with the run.
	Duration time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Dir is where profiles are saved (next to the run's JSON). Empty means
	// profiles are not taken.
	Dir string
	// Prefix is put before each profile file name ("soak-" gives
	// soak-cpu.pb.gz) so that several watchers can share Dir.
	Prefix string
	// HTTPClient makes the scrapes and profile requests. When nil the
	// watcher uses its own client, which proxies as the environment says
	// and has no overall timeout (each request has its own).
	HTTPClient *http.Client
	// Logf, when set, is told about saved profiles and each new warning.
	Logf func(format string, args ...any)
	// Manual turns the watcher's ticker off: the caller takes every sample
	// with SampleAt, for example when each window of the run closes.
	Manual bool
	// OnPoint, when set, sees each point as soon as it is taken (a live
	// dashboard), on the sampling goroutine; it must not block.
	OnPoint func(result.SystemPoint)
}

// A sampler reads one source of the system under test into a point. An
// error is a warning for the run, never a reason to stop sampling.
// Implementations are used from one goroutine at a time.
type sampler interface {
	sample(ctx context.Context, now time.Time, pt *result.SystemPoint) error
}

// Watcher watches the system under test until Stop. See the package
// documentation for its concurrency contract.
type Watcher struct {
	opts     Options
	interval time.Duration
	cpuProf  time.Duration
	client   *http.Client
	ownsHTTP bool

	proc     *processSampler // nil without a process
	prom     *promSampler    // nil without a Prometheus endpoint
	samplers []sampler       // in sampling order: process, host, prometheus, pprof
	pprof    *pprofSource    // nil without a pprof URL

	ctx        context.Context // cancelled by Stop: ends samples and profile requests
	cancel     context.CancelFunc
	stopTicker context.CancelFunc
	loop       chan struct{} // closed when the ticker goroutine returned
	cpu        sync.WaitGroup
	stopped    chan struct{} // closed when Stop has its section in final

	warn warnings

	tickMu sync.Mutex // serializes samples; guards points, last and the samplers' state
	points []result.SystemPoint
	last   time.Time // time of the previous sample: the start of the next point

	mu         sync.Mutex // guards profiles, cpuStarted, peakTimer and stopping
	profiles   []result.Profile
	cpuStarted bool
	peakTimer  *time.Timer
	stopping   bool

	final *result.System // set once by Stop before it closes stopped
}

// Start begins watching what spec names. It reads every source once, so
// that the first point already has rates, takes the starting heap profile,
// and, unless opts.Manual, samples every spec.Interval until Stop or until
// ctx is done.
func Start(ctx context.Context, spec *plan.System, opts Options) (*Watcher, error) {
	if spec == nil || (spec.Process == nil && spec.Prometheus == nil && spec.Pprof == "") {
		return nil, ErrNothingToWatch
	}
	w := &Watcher{opts: opts, interval: spec.Interval.D(), cpuProf: spec.CPUProfile.D(), client: opts.HTTPClient}
	if w.interval < 0 || w.cpuProf < 0 {
		return nil, fmt.Errorf("watch: interval and cpu_profile must not be negative")
	}
	if w.interval == 0 {
		w.interval = DefaultInterval
	}
	if w.cpuProf == 0 {
		w.cpuProf = DefaultCPUProfile
	}
	if w.opts.Now == nil {
		w.opts.Now = time.Now
	}
	if w.opts.Logf == nil {
		w.opts.Logf = func(string, ...any) {}
	}
	w.warn.logf = w.opts.Logf
	now := w.opts.Now()
	if w.opts.Start.IsZero() {
		w.opts.Start = now
	}
	if w.client == nil {
		w.client = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     30 * time.Second,
		}}
		w.ownsHTTP = true
	}
	var promURL, pprofURL string
	var err error
	if spec.Prometheus != nil {
		if promURL, err = endpoint(spec.Prometheus.URL, "/metrics"); err != nil {
			return nil, fmt.Errorf("watch: prometheus: %w", err)
		}
	}
	if spec.Pprof != "" {
		if pprofURL, err = endpoint(spec.Pprof, "/debug/pprof"); err != nil {
			return nil, fmt.Errorf("watch: pprof: %w", err)
		}
	}

	fs, fsErr := procfs.NewFS(procfs.DefaultMountPoint)
	if spec.Process != nil {
		if fsErr != nil {
			w.warn.add("process", fmt.Sprintf("process not watched: %v (process sampling needs Linux /proc)", fsErr))
		} else {
			p, err := newProcessSampler(fs, spec.Process, w.ts, &w.warn)
			if err != nil {
				return nil, fmt.Errorf("watch: %w", err)
			}
			w.proc = p
			w.samplers = append(w.samplers, p)
		}
	}
	if fsErr == nil {
		w.samplers = append(w.samplers, &hostSampler{fs: fs})
	} else if spec.Process == nil {
		w.warn.add("host", fmt.Sprintf("host not watched: %v", fsErr))
	}
	if promURL != "" {
		w.prom = newPromSampler(promURL, spec.Prometheus.Metrics, w.client, w.requestTimeout(), w.ts, &w.warn)
		w.samplers = append(w.samplers, w.prom)
	}
	if pprofURL != "" {
		w.pprof = &pprofSource{base: pprofURL, client: w.client}
		w.samplers = append(w.samplers, &goroutineSampler{src: w.pprof, timeout: w.requestTimeout(), ts: w.ts})
		if w.opts.Dir == "" {
			w.warn.add("profiles", "pprof profiles not taken: no directory to save them in")
		}
	}

	w.ctx, w.cancel = context.WithCancel(ctx)
	// Prime every sampler so that the first point has rates over a whole
	// interval; what the priming read finds wrong is already a warning.
	var discard result.SystemPoint
	w.runSamplers(w.ctx, now, &discard)
	w.last = now
	w.takeProfile(w.ctx, "heap_start", "heap-start.pb.gz", "/heap?gc=1", 0, false)
	w.saveGoroutines(w.ctx, "goroutines_start", "goroutines-start.pb.gz")

	w.stopped = make(chan struct{})
	w.loop = make(chan struct{})
	var tickCtx context.Context
	tickCtx, w.stopTicker = context.WithCancel(w.ctx)
	if w.opts.Manual {
		close(w.loop)
	} else {
		go w.tick(tickCtx)
	}
	return w, nil
}

// endpoint checks an http(s) URL and gives it a default path when it has
// none, so "http://host:6060" can name the /debug/pprof endpoint.
func endpoint(raw, defaultPath string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = defaultPath
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// requestTimeout bounds one scrape: one that takes longer than the interval
// would only delay the next sample.
func (w *Watcher) requestTimeout() time.Duration { return max(w.interval, time.Second) }

// ts is seconds since the run's t0, to the millisecond.
func (w *Watcher) ts(t time.Time) float64 {
	return math.Round(t.Sub(w.opts.Start).Seconds()*1000) / 1000
}

// tick samples on the interval boundaries after t0 until the watcher
// stops.
func (w *Watcher) tick(ctx context.Context) {
	defer close(w.loop)
	Aligned(ctx, w.opts.Start, w.interval, w.opts.Now, func(now time.Time) { w.SampleAt(ctx, now) })
}

// Aligned calls sample on the interval boundaries after start (start +
// k·interval) until ctx ends, on the caller's goroutine. Each wait is to
// the next boundary, so a late wake-up or a slow sample does not shift the
// later ones; boundaries missed while a sample overran are skipped. Every
// watcher of a run uses it, so their points line up with the run's
// windows.
func Aligned(ctx context.Context, start time.Time, interval time.Duration, now func() time.Time, sample func(now time.Time)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		since := now().Sub(start)
		next := time.Duration(0)
		if since >= 0 {
			next = (since/interval + 1) * interval
		}
		timer.Reset(next - since)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		sample(now())
	}
}

// SampleAt takes one sample at now, on the caller's goroutine: the point
// it adds is stamped with the previous sample's time and covers the time
// since. It is how a caller with its
// own clock (Options.Manual) drives the watcher; it does nothing after
// Stop or when now is not at least a millisecond after the previous sample.
func (w *Watcher) SampleAt(ctx context.Context, now time.Time) {
	w.tickMu.Lock()
	defer w.tickMu.Unlock()
	w.mu.Lock()
	stopping := w.stopping
	w.mu.Unlock()
	if stopping || w.ts(now) <= w.ts(w.last) { // points are stamped to the ms
		return
	}
	pt := result.SystemPoint{TS: w.ts(w.last)}
	w.runSamplers(ctx, now, &pt)
	w.points = append(w.points, pt)
	w.last = now
	if w.opts.OnPoint != nil {
		w.opts.OnPoint(pt)
	}
}

func (w *Watcher) runSamplers(ctx context.Context, now time.Time, pt *result.SystemPoint) {
	for _, s := range w.samplers {
		if err := s.sample(ctx, now, pt); err != nil {
			w.warn.addErr(err, w.ts(now))
		}
	}
}

// MarkPeak tells the watcher that the load has reached its peak: it starts
// the CPU profile (spec.CPUProfile long, 10 s by default, cut to what is
// left of the run when Options.Duration is set). Only the first call
// counts; without a pprof endpoint or after Stop it does nothing. It
// returns at once.
func (w *Watcher) MarkPeak() {
	if w.pprof == nil || w.opts.Dir == "" {
		return
	}
	w.mu.Lock()
	if w.stopping || w.cpuStarted {
		w.mu.Unlock()
		return
	}
	w.cpuStarted = true
	w.cpu.Add(1)
	w.mu.Unlock()

	now := w.opts.Now()
	d := w.cpuProf
	if w.opts.Duration > 0 {
		d = min(d, w.opts.Start.Add(w.opts.Duration).Sub(now))
	}
	// The endpoint takes whole seconds: a peak marked a little late still
	// gets its last second, ending at most a quarter second after the run.
	secs := int((d + time.Second/4) / time.Second)
	if secs < 1 {
		w.cpu.Done()
		w.warn.add("cpu-skipped", fmt.Sprintf("cpu profile not taken: the peak came at %.1f s, less than a second before the run ends", w.ts(now)))
		return
	}
	w.cpu.Add(1)
	go func() {
		defer w.cpu.Done()
		w.takeProfile(w.ctx, "cpu", "cpu.pb.gz", fmt.Sprintf("/profile?seconds=%d", secs), time.Duration(secs)*time.Second, false)
	}()
	go func() {
		defer w.cpu.Done()
		w.snapshotGoroutines(w.ctx, time.Duration(secs)*time.Second)
	}()
}

// ProfileCPUAt schedules MarkPeak for d after the run's t0, for a caller
// that knows when its peak will come. It returns at once.
func (w *Watcher) ProfileCPUAt(d time.Duration) {
	wait := w.opts.Start.Add(d).Sub(w.opts.Now())
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopping || w.peakTimer != nil {
		return
	}
	w.peakTimer = time.AfterFunc(max(wait, 0), w.MarkPeak)
}

// Stop ends the watch and returns its section of the Run: it stops
// sampling, waits for a CPU profile in progress (cancelling it when ctx is
// done first), takes the ending heap profile and the mutex and block
// profiles, and summarises the process. A second call returns the same
// section.
func (w *Watcher) Stop(ctx context.Context) *result.System {
	w.mu.Lock()
	if w.stopping {
		w.mu.Unlock()
		<-w.stopped
		return w.final
	}
	w.stopping = true
	if w.peakTimer != nil {
		w.peakTimer.Stop()
	}
	w.mu.Unlock()
	defer close(w.stopped)

	w.stopTicker()
	<-w.loop
	w.tickMu.Lock() // no sample is in progress, and none will start
	defer w.tickMu.Unlock()
	cpuDone := make(chan struct{})
	go func() { w.cpu.Wait(); close(cpuDone) }()
	select {
	case <-cpuDone:
	case <-ctx.Done():
		w.warn.add("cpu-cut", "cpu profile cut short: the watch was stopped before it finished")
		w.cancel()
		<-cpuDone
	}
	w.cancel()

	w.takeProfile(ctx, "heap_end", "heap-end.pb.gz", "/heap?gc=1", 0, false)
	w.saveGoroutines(ctx, "goroutines_end", "goroutines-end.pb.gz")
	w.takeProfile(ctx, "mutex", "mutex.pb.gz", "/mutex", 0, true)
	w.takeProfile(ctx, "block", "block.pb.gz", "/block", 0, true)
	if w.ownsHTTP {
		w.client.CloseIdleConnections()
	}

	sys := &result.System{IntervalS: w.interval.Seconds(), Timeline: w.points}
	if w.proc != nil {
		w.proc.checkGone(w.opts.Now())
		sys.Process = w.proc.stats()
		if l := sys.Process.Limits; l != nil && w.prom != nil && w.prom.gomaxprocs > 0 {
			l.GOMAXPROCS = w.prom.gomaxprocs
			l.SettleCPU()
		}
	}
	w.mu.Lock()
	sys.Profiles = append([]result.Profile(nil), w.profiles...)
	w.mu.Unlock()
	sys.Warnings = w.warn.list()
	w.final = sys
	return sys
}

// warnings collects the run's warnings in the order they first happened.
// A warning with the key of an earlier one is counted, not repeated.
type warnings struct {
	logf func(format string, args ...any)

	mu    sync.Mutex // guards order and byKey
	order []*warningCount
	byKey map[string]*warningCount
}

type warningCount struct {
	msg    string
	repeat int
	lastTS float64
}

// warning is an error with a key: repeats of one problem share the key
// even when their messages differ (a different time, a different errno).
type warning struct{ key, msg string }

func (e *warning) Error() string { return e.msg }

func warnf(key, format string, args ...any) error {
	return &warning{key: key, msg: fmt.Sprintf(format, args...)}
}

func (ws *warnings) addErr(err error, ts float64) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			ws.addErr(e, ts)
		}
		return
	}
	var w *warning
	if errors.As(err, &w) {
		ws.addAt(w.key, w.msg, ts)
		return
	}
	ws.addAt(err.Error(), err.Error(), ts)
}

func (ws *warnings) add(key, msg string) { ws.addAt(key, msg, 0) }

func (ws *warnings) addAt(key, msg string, ts float64) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if c, ok := ws.byKey[key]; ok {
		c.repeat++
		c.lastTS = ts
		return
	}
	if ws.byKey == nil {
		ws.byKey = make(map[string]*warningCount)
	}
	c := &warningCount{msg: msg}
	ws.byKey[key] = c
	ws.order = append(ws.order, c)
	if ws.logf != nil {
		ws.logf("watch: %s", msg)
	}
}

func (ws *warnings) list() []string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var out []string
	for _, c := range ws.order {
		msg := c.msg
		if c.repeat > 0 {
			msg += fmt.Sprintf(" (and %d more times, the last at %.1f s)", c.repeat, c.lastTS)
		}
		out = append(out, msg)
	}
	return out
}
