package analyze

import (
	"cmp"
	"slices"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/result"
)

// Wait states of a goroutine serving a request (see result.WaitState).
const (
	WaitCPU        = "cpu"
	WaitDependency = "dependency"
	WaitNetwork    = "network"
	WaitDatabase   = "database"
	WaitDisk       = "disk"
	WaitLock       = "lock"
	WaitChannel    = "channel"
	WaitSleep      = "sleep"
	WaitClient     = "client"
	WaitRuntime    = "runtime"
	WaitOther      = "other"
)

// requestMarkers are the frames under which a server runs a request's
// handler: a goroutine with one of them on its stack is serving a
// request. A keep-alive connection waiting for its next request is not
// under them, nor is any background goroutine.
var requestMarkers = []string{
	"net/http.serverHandler.ServeHTTP",
	"net/http.(*http2serverConn).runHandler",
	"golang.org/x/net/http2.(*serverConn).runHandler",
	"google.golang.org/grpc.(*Server).processUnaryRPC",
	"google.golang.org/grpc.(*Server).processStreamingRPC",
}

// observerFrames are the handlers of the watch's own requests (profiles,
// metrics): not load, left out.
var observerFrames = []string{"net/http/pprof.", "runtime/pprof.", "github.com/prometheus/client_golang/prometheus/promhttp.HandlerFor"}

// waitClass is a state and the frames that identify it: a goroutine is in
// the first class (in this order) one of whose frames is on its stack
// below the handler. parked classes count only when the goroutine is
// parked (its leaf is the scheduler's park), otherwise it is running.
type waitClass struct {
	state  string
	detail string
	frames []string // exact names, or prefixes ending in "."
	parked bool
}

var waitClasses = []waitClass{
	{state: WaitDisk, detail: "fsync", frames: []string{"os.(*File).Sync", "syscall.Fsync", "syscall.fsync", "syscall.Fdatasync", "internal/poll.(*FD).Fsync"}},
	{state: WaitDisk, detail: "file", frames: []string{"os.(*File).Write", "os.(*File).WriteAt", "os.(*File).WriteString", "os.(*File).Read", "os.(*File).ReadAt",
		"os.(*File).ReadFrom", "os.OpenFile", "os.Open", "os.Create", "os.ReadFile", "os.WriteFile", "os.Remove", "os.Rename", "os.Mkdir", "os.MkdirAll", "os.(*File).Close",
		"os.Stat", "os.ReadDir"}},
	{state: WaitClient, frames: []string{"net/http.(*body).Read", "net/http.(*response).Write", "net/http.(*response).WriteString", "net/http.(*chunkWriter).Write",
		"net/http.(*response).finishRequest", "net/http.(*response).Flush", "net/http.(*http2responseWriter).Write", "net/http.(*http2requestBody).Read"}},
	{state: WaitDependency, detail: "connection pool", frames: []string{"net/http.(*Transport).getConn", "net/http.(*Transport).queueForIdleConn"}},
	{state: WaitDependency, detail: "http", frames: []string{"net/http.(*Client).do", "net/http.(*Transport).roundTrip", "net/http.(*persistConn).roundTrip", "net/http.(*http2ClientConn).RoundTrip"}},
	{state: WaitDependency, detail: "grpc", frames: []string{"google.golang.org/grpc.(*ClientConn).Invoke", "google.golang.org/grpc.invoke", "google.golang.org/grpc.(*clientStream).",
		"google.golang.org/grpc.newClientStream"}},
	{state: WaitDatabase, detail: "connection pool", frames: []string{"database/sql.(*DB).conn"}, parked: true},
	{state: WaitDatabase, detail: "query", frames: []string{"database/sql."}},
	{state: WaitNetwork, frames: []string{"net.(*conn).Read", "net.(*conn).Write", "net.(*netFD).Read", "net.(*netFD).Write", "net.Dial", "net.(*Dialer).DialContext",
		"net.(*Resolver)."}},
	{state: WaitLock, frames: []string{"sync.(*Mutex).Lock", "sync.(*RWMutex).Lock", "sync.(*RWMutex).RLock", "sync.(*Mutex).lockSlow", "internal/sync.(*Mutex).lockSlow"}, parked: true},
	{state: WaitSleep, frames: []string{"time.Sleep"}, parked: true},
	{state: WaitChannel, frames: []string{"runtime.chanrecv1", "runtime.chanrecv2", "runtime.chansend1", "runtime.selectgo", "sync.(*WaitGroup).Wait", "sync.(*Cond).Wait"}, parked: true},
}

func (c waitClass) matches(name string) bool {
	for _, f := range c.frames {
		if name == f || (strings.HasSuffix(f, ".") && strings.HasPrefix(name, f)) {
			return true
		}
	}
	return false
}

// isParked reports a goroutine stopped by the scheduler (waiting), from
// its leaf frames, or for a snapshot in the text form (which leaves the
// runtime's frames out; see internal/gotext) from the number of runtime
// frames left out above the first shown: such a goroutine is waiting, or
// was preempted while computing (state runtime).
func isParked(frames []string, hidden int64) bool {
	if hidden > 0 {
		return true
	}
	for _, f := range frames[:min(3, len(frames))] {
		if f == "runtime.gopark" || f == "runtime.goparkunlock" {
			return true
		}
	}
	return false
}

// minWaitObservations is how many in-request goroutine observations the
// snapshots need before their shares are read: fewer say too little.
const minWaitObservations = 20

// RequestWaits reads summed goroutine snapshots (n of them, over spanS
// seconds; see watch) into where the goroutines serving requests were.
// Only goroutines under a request handler count (requestMarkers), the
// watch's own requests apart; each is classified by waitClasses from its
// leaf up to the handler, and its time goes to the own function nearest
// above the call that identifies its state. nil when the profile shows no
// request being served.
func RequestWaits(p *profile.Profile, n int, spanS float64, m *result.Module) *result.Waits {
	return requestWaits(p, n, spanS, newOwnCode(m))
}

func requestWaits(p *profile.Profile, n int, spanS float64, oc ownCode) *result.Waits {
	if p == nil || n <= 0 || len(p.SampleType) == 0 {
		return nil
	}
	type key struct{ state, fn, via, detail string }
	counts := map[key]int64{}
	own := map[string]bool{}
	var total int64
	for _, s := range p.Sample {
		v := s.Value[0]
		if v <= 0 {
			continue
		}
		frames, files := stackFrames(s.Location)
		marker := slices.IndexFunc(frames, func(f string) bool { return slices.Contains(requestMarkers, f) })
		if marker < 0 || slices.ContainsFunc(frames[:marker], isObserverFrame) {
			continue
		}
		below := frames[:marker]
		state, detail, via := WaitOther, "", -1
		var hidden int64
		if h := s.NumLabel["hidden"]; len(h) > 0 {
			hidden = h[0]
		}
		parked := isParked(below, hidden)
		for _, c := range waitClasses {
			if c.parked && !parked {
				continue
			}
			// The outermost matching frame is the call the handler made.
			if i := lastIndexFunc(below, c.matches); i >= 0 {
				state, detail, via = c.state, c.detail, i
				break
			}
		}
		switch {
		case via < 0 && !parked:
			state = WaitCPU
		case via < 0 && hidden > 0:
			// The text form leaves out the runtime's frames: a
			// goroutine stopped there may wait on a channel or a select,
			// or have been preempted while computing.
			state = WaitRuntime
		}
		fn, isOwn := "", false
		for i := max(via+1, 0); i < marker; i++ {
			if oc.own(frames[i], files[i]) {
				fn, isOwn = frames[i], true
				break
			}
		}
		if fn == "" && marker > 0 {
			fn = frames[marker-1] // the handler the server called
		}
		k := key{state: state, fn: fn, detail: detail}
		if via >= 0 {
			k.via = frames[via]
		}
		counts[k] += v
		own[fn] = isOwn
		total += v
	}
	if total == 0 {
		return nil
	}
	w := &result.Waits{Snapshots: n, SpanS: spanS, InRequest: float64(total) / float64(n), Observations: total}
	byState := map[string]int64{}
	for k, v := range counts {
		byState[k.state] += v
	}
	for _, st := range heaviestKeys(byState, len(byState)) {
		ws := result.WaitState{State: st, Pct: 100 * float64(byState[st]) / float64(total), Goroutines: float64(byState[st]) / float64(n)}
		var keys []key
		for k := range counts {
			if k.state == st {
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, func(a, b key) int {
			if c := cmp.Compare(counts[b], counts[a]); c != 0 {
				return c
			}
			return cmp.Compare(a.fn+a.via, b.fn+b.via)
		})
		for _, k := range keys[:min(3, len(keys))] {
			ws.Sites = append(ws.Sites, result.WaitSite{Function: k.fn, Own: own[k.fn], Via: k.via, Detail: k.detail, Pct: 100 * float64(counts[k]) / float64(total)})
		}
		w.States = append(w.States, ws)
	}
	return w
}

func isObserverFrame(name string) bool {
	return slices.ContainsFunc(observerFrames, func(p string) bool { return strings.HasPrefix(name, p) })
}

func lastIndexFunc(s []string, f func(string) bool) int {
	for i := len(s) - 1; i >= 0; i-- {
		if f(s[i]) {
			return i
		}
	}
	return -1
}

// SetWaitRates fills the time per request of each state of the run's
// Waits from the throughput over the snapshots' span (the run's windows
// there; the run's mean when they do not cover it).
func SetWaitRates(run *result.Run) {
	if run.System == nil || run.System.Waits == nil {
		return
	}
	w := run.System.Waits
	from := -1.0
	for _, p := range run.System.Profiles {
		if p.Kind == "goroutines" {
			from = p.TS
		}
	}
	var req int64
	var secs float64
	for i, win := range run.Series {
		end := win.TS + 1
		if i+1 < len(run.Series) {
			end = run.Series[i+1].TS
		}
		if win.TS >= from-0.5 && end <= from+w.SpanS+0.5 {
			req += win.Requests
			secs += end - win.TS
		}
	}
	w.RPS = run.Summary.RPS
	if secs >= 1 && req > 0 {
		w.RPS = float64(req) / secs
	}
	if w.RPS <= 0 {
		return
	}
	for i := range w.States {
		w.States[i].MSPerReq = 1000 * w.States[i].Goroutines / w.RPS
	}
}
