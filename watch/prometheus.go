package watch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/watch/internal/promtext"
)

// maxScrape bounds a scraped body; a target that serves more is a warning.
const maxScrape = 32 << 20

// promSampler scrapes one Prometheus endpoint.
type promSampler struct {
	url     string
	client  *http.Client
	timeout time.Duration
	ts      func(time.Time) float64
	warn    *warnings

	exact   map[string]int // user-named series → index in wanted
	globs   []int          // indexes in wanted of names with wildcards
	wanted  []string
	seen    []bool // wanted[i] matched a series in the first good scrape
	checked bool   // the first good scrape happened: unmatched names reported

	body   bytes.Buffer
	prev   map[string]float64 // cumulative series at the last good scrape
	prevAt time.Time
	size   int // series kept last time: sizes the next map

	// A target that reports neither count of GC cycles has its cycles
	// counted here from the changes of go_memstats_last_gc_time_seconds:
	// at least one cycle completed between two scrapes that differ.
	lastGC     float64
	lastGCSeen int64

	gomaxprocs int // go_sched_gomaxprocs_threads at the last scrape that had it
}

var _ sampler = (*promSampler)(nil)

func newPromSampler(url string, names []string, client *http.Client, timeout time.Duration, ts func(time.Time) float64, warn *warnings) *promSampler {
	s := &promSampler{url: url, client: client, timeout: timeout, ts: ts, warn: warn, exact: map[string]int{}}
	for _, n := range names {
		i := len(s.wanted)
		s.wanted = append(s.wanted, n)
		if strings.ContainsAny(n, "*?[") {
			s.globs = append(s.globs, i)
		} else {
			s.exact[n] = i
		}
	}
	s.seen = make([]bool, len(s.wanted))
	return s
}

func (s *promSampler) sample(ctx context.Context, now time.Time, pt *result.SystemPoint) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	fail := func(format string, args ...any) error {
		return warnf("prometheus", "%s", redact.Text(fmt.Sprintf("prometheus: scrape of %s failed at %.1f s: %s", s.url, s.ts(now), fmt.Sprintf(format, args...))))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("Accept", promtext.Accept)
	resp, err := s.client.Do(req)
	if err != nil {
		return fail("%v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail("%s", resp.Status)
	}
	s.body.Reset()
	if _, err := s.body.ReadFrom(io.LimitReader(resp.Body, maxScrape+1)); err != nil {
		return fail("%v", err)
	}
	if s.body.Len() > maxScrape {
		return fail("body larger than %d MB", maxScrape/mb)
	}
	format, err := promtext.FormatOf(resp.Header.Get("Content-Type"))
	if err != nil {
		return fail("%v", err)
	}
	if err := s.read(s.body.Bytes(), format, now, pt); err != nil {
		return fail("%v", err)
	}
	return nil
}

// seriesKind says what becomes of a scraped series.
type seriesKind int

const (
	dropSeries  seriesKind = iota // buckets and _created timestamps
	gaugeSeries                   // kept as read
	cumulative                    // kept as a per-second rate
)

func kindOf(smp *promtext.Sample) seriesKind {
	switch suffix := smp.Suffix(); {
	case suffix == "_bucket" || suffix == "_created":
		return dropSeries
	case smp.Type == promtext.Counter:
		return cumulative
	case (smp.Type == promtext.Histogram || smp.Type == promtext.Summary) && (suffix == "_sum" || suffix == "_count"):
		return cumulative
	}
	return gaugeSeries
}

// read turns one scraped body into pt's metrics. A body that does not
// parse changes nothing: neither the point nor the rates' base.
func (s *promSampler) read(body []byte, format promtext.Format, now time.Time, pt *result.SystemPoint) error {
	dt := now.Sub(s.prevAt).Seconds()
	rates := s.prev != nil && dt > 0
	cur := make(map[string]float64, len(s.prev))
	metrics := make(map[string]float64, s.size)
	var std stdGo
	p := promtext.NewParser(body, format)
	for p.Next() {
		smp := p.Sample()
		if !s.keep(smp) {
			continue
		}
		kind := kindOf(smp)
		if kind == dropSeries {
			continue
		}
		v := smp.Value
		// NaN (a summary's quantile before its first observation) and the
		// infinities are no reading, and a Run document cannot carry them.
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		key := seriesKey(smp.Name, smp.Labels)
		if len(smp.Labels) == 0 {
			std.setRaw(smp.Name, v)
		}
		if kind == cumulative {
			cur[key] = v
			old, ok := s.prev[key]
			if !rates || !ok {
				continue
			}
			if v < old { // the counter was reset (the target restarted)
				old = 0
			}
			v = (v - old) / dt
			if math.IsInf(v, 0) { // a jump past what a float holds
				continue
			}
		}
		metrics[key] = v
		if len(smp.Labels) == 0 {
			std.set(smp.Name, v)
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	s.prev, s.prevAt, s.size = cur, now, len(metrics)
	if len(metrics) > 0 {
		pt.Metrics = metrics
	}
	std.apply(pt)
	if std.hasProcs && std.gomaxprocs >= 1 && std.gomaxprocs <= math.MaxInt32 {
		s.gomaxprocs = int(std.gomaxprocs)
	}
	if c, ok := std.cycles(); ok {
		pt.GCCycles = c
	} else if std.hasLastGC && std.lastGC > 0 {
		if std.lastGC != s.lastGC {
			s.lastGC = std.lastGC
			s.lastGCSeen++ // 1 at the first scrape: 0 is "not read"
		}
		pt.GCCycles = s.lastGCSeen
	}
	if std.hasLastGC && std.lastGC > 0 {
		// When the last cycle ended, from the point's own time (the start
		// of the interval the point describes; the scrape is at its end):
		// the live heap it left belongs to that moment. An offset, not a
		// time, so it holds when the timeline is moved onto another clock.
		pt.LastGCAtS = s.ts(time.Unix(0, int64(std.lastGC*1e9))) - pt.TS
	}
	if !s.checked {
		s.checked = true
		for i, ok := range s.seen {
			if !ok {
				s.warn.add("prometheus-missing-"+s.wanted[i], fmt.Sprintf("prometheus: no series named %q at %s", s.wanted[i], redact.String(s.url)))
			}
		}
	}
	return nil
}

// keep reports whether a series is one the plan names or one of the
// standard go_* and process_* families.
func (s *promSampler) keep(smp *promtext.Sample) bool {
	if strings.HasPrefix(smp.Family, "go_") || strings.HasPrefix(smp.Family, "process_") {
		return true
	}
	if i, ok := s.exact[smp.Family]; ok {
		s.seen[i] = true
		return true
	}
	if i, ok := s.exact[smp.Name]; ok {
		s.seen[i] = true
		return true
	}
	for _, i := range s.globs {
		if ok, _ := path.Match(s.wanted[i], smp.Family); ok {
			s.seen[i] = true
			return true
		}
		if ok, _ := path.Match(s.wanted[i], smp.Name); ok {
			s.seen[i] = true
			return true
		}
	}
	return false
}

// stdGo holds the Go runtime series that have their own point fields.
// The garbage collector's rate and pause come from the MemStats summary
// go_gc_duration_seconds when the target exports it, else from the
// runtime/metrics series as client_golang's Go collector names them: the
// rate of go_gc_cycles_total_gc_cycles_total, and the pause from
// go_cpu_classes_gc_pause_cpu_seconds_total (the runtime counts a pause
// GOMAXPROCS times, so it is divided by go_sched_gomaxprocs_threads), or
// the sum of the go_gc_pauses_seconds histogram where an exporter gives
// one (client_golang's is 0: runtime/metrics has no sum for it).
type stdGo struct {
	heap, goroutines, gcPerS, gcPause float64
	has                               [4]bool

	// runtime/metrics: rates, and GOMAXPROCS as read
	cyclesPerS, pauseCPUPerS, pausePerS, gomaxprocs        float64
	hasCyclesPerS, hasPauseCPUPerS, hasPausePerS, hasProcs bool

	live, goal, gogc, cyclesTotal, gcCount, lastGC                   float64
	hasLive, hasGoal, hasGOGC, hasCyclesTotal, hasGCCount, hasLastGC bool
}

func (g *stdGo) set(name string, v float64) {
	switch name {
	case "go_memstats_heap_inuse_bytes":
		g.heap, g.has[0] = v, true
	case "go_goroutines":
		g.goroutines, g.has[1] = v, true
	case "go_gc_duration_seconds_count": // a rate: collections per second
		g.gcPerS, g.has[2] = v, true
	case "go_gc_duration_seconds_sum": // a rate: seconds of pause per second
		g.gcPause, g.has[3] = v, true
	case "go_gc_cycles_total_gc_cycles_total": // runtime/metrics /gc/cycles/total:gc-cycles
		g.cyclesPerS, g.hasCyclesPerS = v, true
	case "go_cpu_classes_gc_pause_cpu_seconds_total": // /cpu/classes/gc/pause:cpu-seconds
		g.pauseCPUPerS, g.hasPauseCPUPerS = v, true
	case "go_sched_gomaxprocs_threads": // /sched/gomaxprocs:threads
		g.gomaxprocs, g.hasProcs = v, true
	case "go_gc_pauses_seconds_sum": // /gc/pauses:seconds, where its sum is exported
		g.pausePerS, g.hasPausePerS = v, v > 0
	}
}

// heapMinimum is the Go runtime's least heap goal at GOGC=100: below
// it, the goal says nothing of the live heap.
const heapMinimum = 4 << 20

// setRaw keeps the series read as they are, counters included, that give
// the live heap and the count of completed GC cycles.
func (g *stdGo) setRaw(name string, v float64) {
	switch name {
	case "go_gc_heap_live_bytes": // runtime/metrics /gc/heap/live:bytes
		g.live, g.hasLive = v, true
	case "go_memstats_next_gc_bytes": // the heap goal the last cycle set
		g.goal, g.hasGoal = v, true
	case "go_gc_gogc_percent":
		g.gogc, g.hasGOGC = v, true
	case "go_gc_cycles_total_gc_cycles_total": // runtime/metrics /gc/cycles/total:gc-cycles
		g.cyclesTotal, g.hasCyclesTotal = v, true
	case "go_gc_duration_seconds_count": // runtime.MemStats.NumGC
		g.gcCount, g.hasGCCount = v, true
	case "go_memstats_last_gc_time_seconds":
		g.lastGC, g.hasLastGC = v, true
	}
}

// liveBytes is the heap that survived the last completed GC cycle: the
// runtime's own figure when the target exports it (client_golang does
// with the opt-in runtime/metrics rule for /gc/heap/live:bytes), else
// the heap goal that cycle set, goal = live·(1 + GOGC/100) (GOGC read
// from go_gc_gogc_percent, 100 when absent). Since Go 1.18 the goal also
// counts stacks and globals at the GOGC rate, so the estimate carries a
// roughly constant excess that moves no trend. A goal at the runtime's
// minimum, or GOGC off, tells nothing.
func (g *stdGo) liveBytes() (float64, bool) {
	if g.hasLive && g.live > 0 {
		return g.live, true
	}
	if !g.hasGoal || g.goal <= 0 {
		return 0, false
	}
	gogc := 100.0
	if g.hasGOGC {
		gogc = g.gogc
	}
	if gogc <= 0 || g.goal <= heapMinimum*gogc/100 {
		return 0, false
	}
	return g.goal / (1 + gogc/100), true
}

// cycles is the count of GC cycles the process completed.
func (g *stdGo) cycles() (int64, bool) {
	var v float64
	switch {
	case g.hasCyclesTotal:
		v = g.cyclesTotal
	case g.hasGCCount:
		v = g.gcCount
	default:
		return 0, false
	}
	// A count an int64 cannot hold is no count (the conversion would
	// make it negative).
	if !(v >= 0 && v < math.MaxInt64) {
		return 0, false
	}
	return int64(v), true
}

func (g *stdGo) apply(pt *result.SystemPoint) {
	// Each figure is set only when it is finite: one derived from finite
	// series can still overflow (a rate of 10³⁰⁷ as a percentage).
	set := func(dst *float64, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			*dst = v
		}
	}
	if live, ok := g.liveBytes(); ok {
		set(&pt.HeapLiveMB, live/mb)
	}
	if g.has[0] {
		set(&pt.HeapMB, g.heap/mb)
	}
	if g.has[1] {
		set(&pt.Goroutines, g.goroutines)
	}
	switch {
	case g.has[2]:
		set(&pt.GCPerS, g.gcPerS)
	case g.hasCyclesPerS:
		set(&pt.GCPerS, g.cyclesPerS)
	}
	switch {
	case g.has[3]:
		set(&pt.GCPausePct, 100*g.gcPause)
	case g.hasPauseCPUPerS && g.hasProcs && g.gomaxprocs > 0:
		set(&pt.GCPausePct, 100*g.pauseCPUPerS/g.gomaxprocs)
	case g.hasPausePerS:
		set(&pt.GCPausePct, 100*g.pausePerS)
	}
}

// seriesKey is the series name with its labels sorted by name, written as
// in the exposition format: name{a="x",b="y"}. It sorts labels in place.
func seriesKey(name string, labels []promtext.Label) string {
	if len(labels) == 0 {
		return name
	}
	for i := 1; i < len(labels); i++ { // insertion sort: label sets are small
		for j := i; j > 0 && labels[j].Name < labels[j-1].Name; j-- {
			labels[j], labels[j-1] = labels[j-1], labels[j]
		}
	}
	n := len(name) + 2
	for _, l := range labels {
		n += len(l.Name) + len(l.Value) + 4
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(name)
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteString(`="`)
		for j := 0; j < len(l.Value); j++ {
			switch c := l.Value[j]; c {
			case '\\', '"':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
