// Package dashboard is the live web page of a running test (`--dashboard`
// on run, test and demo): throughput, latency percentiles, errors, VUs,
// the system under test when it is watched, the protocol's phases as a
// timeline, and at the end the run's findings and its HTML report.
//
// Design: a Dashboard is an output.Sink, so it is fed by the same Fan as
// the other live outputs, from the Fan's goroutine and never from the
// collector's. Each update becomes one small JSON event, encoded once and
// broadcast to the browsers over Server-Sent Events. The points the
// watch takes of the system under test arrive through System, from the
// watcher's goroutine.
//
// Bounds: at most MaxClients browsers at once (more get 503); each has a
// queue of clientQueue events, and a browser that falls that far behind
// is disconnected rather than waited for (its EventSource reconnects and
// is sent the history again). The history a new browser is sent holds at
// most MaxHistory events; past that the oldest go.
//
// The end: Close(final) marks the run as over (the Fan closes its sinks
// when the run ends); Finish, called once the run is concluded, sends the
// findings and the HTML report as the last event, waits (at most
// finishWait) for the connected browsers to have received it and stops
// the server.
package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/web"
)

// Bounds of the dashboard.
const (
	// MaxClients is how many browsers may watch at once.
	MaxClients = 16
	// MaxHistory is how many events a newly connected browser is sent.
	MaxHistory = 20000
	// clientQueue is how many events may wait for one browser.
	clientQueue = 1024
	// finishWait bounds the wait for the browsers to receive the report.
	finishWait = 10 * time.Second
)

// Dashboard serves the live page of one run. Update and Close are called
// from the Fan's goroutine, System from the watcher's, Finish once at the
// end from the command's; all may overlap.
type Dashboard struct {
	srv      *http.Server
	ln       net.Listener
	loopback bool
	served   chan struct{} // closed when Serve returned

	mu       sync.Mutex // guards everything below
	meta     []byte     // the meta event, sent first to every browser
	history  [][]byte
	clients  map[*client]struct{}
	finished bool
	phase    string
}

type client struct {
	q       chan []byte
	dropped bool
}

// Meta describes the run for the page's header.
type Meta struct {
	Plan   string `json:"plan"`
	Kind   string `json:"kind"` // load or test
	Target string `json:"target,omitempty"`
}

// Start binds addr and serves the page until Finish. The page binds
// loopback unless addr names another host: Loopback says which.
func Start(addr string, m Meta) (*Dashboard, error) {
	ln, loopback, err := web.Listen(addr)
	if err != nil {
		return nil, err
	}
	d := &Dashboard{ln: ln, loopback: loopback, served: make(chan struct{}), clients: map[*client]struct{}{}}
	d.meta = event("meta", m)
	mux := http.NewServeMux()
	mux.Handle("GET /assets/", web.Assets())
	mux.Handle("GET /{$}", web.PageHandler("dashboard.html"))
	mux.HandleFunc("GET /events", d.events)
	d.srv = &http.Server{Handler: web.Guard(loopback, mux), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(d.served)
		d.srv.Serve(ln)
	}()
	return d, nil
}

// URL is the page's address.
func (d *Dashboard) URL() string { return web.URL(d.ln.Addr().String()) }

// Loopback reports whether the page is reachable only from this machine.
func (d *Dashboard) Loopback() bool { return d.loopback }

// events streams the history, then every new event, until the run is
// finished or the browser goes away.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	d.mu.Lock()
	if len(d.clients) >= MaxClients {
		d.mu.Unlock()
		http.Error(w, fmt.Sprintf("at most %d browsers may watch at once", MaxClients), http.StatusServiceUnavailable)
		return
	}
	backlog := append([][]byte{d.meta}, d.history...)
	finished := d.finished
	c := &client{q: make(chan []byte, clientQueue)}
	if !finished {
		d.clients[c] = struct{}{}
	}
	d.mu.Unlock()
	defer d.drop(c)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	for _, ev := range backlog {
		if _, err := w.Write(ev); err != nil {
			return
		}
	}
	fl.Flush()
	if finished {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-c.q:
			if !ok {
				return
			}
			if _, err := w.Write(ev); err != nil {
				return
			}
			// Write what is already queued before flushing once.
			for n := len(c.q); n > 0; n-- {
				ev, ok := <-c.q
				if !ok {
					break
				}
				w.Write(ev)
			}
			fl.Flush()
		}
	}
}

func (d *Dashboard) drop(c *client) {
	d.mu.Lock()
	if _, ok := d.clients[c]; ok {
		delete(d.clients, c)
		close(c.q)
	}
	d.mu.Unlock()
}

// event encodes one Server-Sent Event. JSON has no raw newline, so the
// data is one line.
func event(name string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	out := make([]byte, 0, len(b)+len(name)+16)
	out = append(out, "event: "...)
	out = append(out, name...)
	out = append(out, "\ndata: "...)
	out = append(out, b...)
	return append(out, "\n\n"...)
}

// broadcast keeps ev in the history and queues it for every browser;
// a browser whose queue is full is disconnected.
func (d *Dashboard) broadcast(ev []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.finished {
		return
	}
	if len(d.history) >= MaxHistory {
		n := MaxHistory / 10
		d.history = append(d.history[:0], d.history[n:]...)
	}
	d.history = append(d.history, ev)
	for c := range d.clients {
		select {
		case c.q <- ev:
		default:
			delete(d.clients, c)
			close(c.q)
		}
	}
}

// windowEvent is one closed window as the page draws it.
type windowEvent struct {
	T        float64          `json:"t"`
	Phase    string           `json:"phase"`
	Requests int64            `json:"requests"`
	RPS      float64          `json:"rps"`
	Errors   int64            `json:"errors"`
	Kinds    map[string]int64 `json:"kinds,omitempty"`
	VUs      int              `json:"vus"`
	P50      float64          `json:"p50"`
	P95      float64          `json:"p95"`
	P99      float64          `json:"p99"`
	Max      float64          `json:"max"`
	Dropped  int64            `json:"dropped,omitempty"`
	GenCPU   float64          `json:"gen_cpu"`
	Saturate bool             `json:"saturated,omitempty"`
}

// Update sends one closed window to the browsers. It never blocks on
// them.
func (d *Dashboard) Update(u *output.Update) error {
	w := u.Window
	d.broadcast(event("window", windowEvent{T: w.TS, Phase: u.Phase, Requests: w.Requests, RPS: w.RPS, Errors: w.Errors,
		Kinds: w.ErrKinds, VUs: w.VUs, P50: w.P50, P95: w.P95, P99: w.P99, Max: w.Max, Dropped: u.NewDropped,
		GenCPU: u.Generator.CPUPercent, Saturate: u.Generator.Saturated}))
	return nil
}

// systemEvent is one point of the watched system under test.
type systemEvent struct {
	T          float64 `json:"t"`
	CPU        float64 `json:"cpu"`
	RSSMB      float64 `json:"rss_mb"`
	HeapMB     float64 `json:"heap_mb"`
	HeapLiveMB float64 `json:"heap_live_mb"`
	GCPerS     float64 `json:"gc_per_s"`
	GCPausePct float64 `json:"gc_pause_pct"`
	Goroutines float64 `json:"goroutines"`
}

// System sends one point of the system under test, on the run's clock
// (t_s since the run, or the protocol, started).
func (d *Dashboard) System(pt result.SystemPoint) {
	d.broadcast(event("system", systemEvent{T: pt.TS, CPU: pt.CPUPercent, RSSMB: pt.RSSMB, HeapMB: pt.HeapMB,
		HeapLiveMB: pt.HeapLiveMB, GCPerS: pt.GCPerS, GCPausePct: pt.GCPausePct, Goroutines: pt.Goroutines}))
}

// Close tells the browsers the load is over and the run is being
// concluded. The server stays up for Finish.
func (d *Dashboard) Close(final *result.Run) error {
	d.broadcast(event("ended", map[string]bool{"aborted": final == nil || final.Aborted}))
	return nil
}

// finalEvent is what the page shows once the run is concluded.
type finalEvent struct {
	ID            string                   `json:"id,omitempty"`
	Verdict       string                   `json:"verdict"`
	VerdictReason string                   `json:"verdict_reason,omitempty"`
	Aborted       bool                     `json:"aborted"`
	Requests      int64                    `json:"requests"`
	Errors        int64                    `json:"errors"`
	RPS           float64                  `json:"rps"`
	P50           float64                  `json:"p50"`
	P95           float64                  `json:"p95"`
	P99           float64                  `json:"p99"`
	Phases        []phaseEvent             `json:"phases,omitempty"`
	Findings      []result.Finding         `json:"findings"`
	Thresholds    []result.ThresholdResult `json:"thresholds"`
	Report        string                   `json:"report,omitempty"` // the HTML report, whole
}

type phaseEvent struct {
	Name    string `json:"name"`
	Pass    bool   `json:"pass"`
	Skipped bool   `json:"skipped,omitempty"`
}

// Finish sends the concluded run (nil when none was made) and its HTML
// report to the browsers, waits at most finishWait for them to receive
// it, and stops the server. Later calls do nothing.
func (d *Dashboard) Finish(run *result.Run, reportHTML []byte) error {
	fe := finalEvent{Verdict: "none", Aborted: true, Findings: []result.Finding{}, Thresholds: []result.ThresholdResult{}}
	if run != nil {
		s := run.Summary
		fe = finalEvent{ID: run.ID, Verdict: string(run.Verdict), VerdictReason: run.VerdictReason, Aborted: run.Aborted,
			Requests: s.Requests, Errors: s.Errors, RPS: s.RPS, P50: s.Latency.P50, P95: s.Latency.P95, P99: s.Latency.P99,
			Findings: run.Findings, Thresholds: run.Thresholds, Report: string(reportHTML)}
		if fe.Findings == nil {
			fe.Findings = []result.Finding{}
		}
		if fe.Thresholds == nil {
			fe.Thresholds = []result.ThresholdResult{}
		}
		for _, ph := range run.Phases {
			fe.Phases = append(fe.Phases, phaseEvent{Name: ph.Name, Pass: ph.Pass, Skipped: ph.Skipped})
		}
	}
	ev := event("final", fe)
	d.mu.Lock()
	if d.finished {
		d.mu.Unlock()
		return nil
	}
	d.history = append(d.history, ev)
	for c := range d.clients {
		select {
		case c.q <- ev:
		default: // too far behind for the report: it is dropped
		}
		delete(d.clients, c)
		close(c.q) // the handler writes what is queued, then returns
	}
	d.finished = true
	d.mu.Unlock()
	// Shutdown waits for the streams to write their last events.
	ctx, cancel := context.WithTimeout(context.Background(), finishWait)
	defer cancel()
	err := d.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		d.srv.Close()
		err = fmt.Errorf("dashboard: a browser did not take the report in %v", finishWait)
	}
	<-d.served
	return err
}

var _ output.Sink = (*Dashboard)(nil)
