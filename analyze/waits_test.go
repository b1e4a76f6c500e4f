package analyze

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/internal/gotext"
	"github.com/stampede-perf/stampede/result"
)

// waitingService is a real HTTP service on loopback whose handlers wait
// in known ways: /quote calls a downstream service that answers only
// when released, /locked waits on a mutex held by the test, /persist
// writes and fsyncs a file until released, /idle blocks on a channel.
type waitingService struct {
	release chan struct{}
	mu      sync.Mutex
	front   *httptest.Server
	down    *httptest.Server
	dir     string
}

func fetchQuote(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func persistUntil(path string, release <-chan struct{}) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		select {
		case <-release:
			return nil
		default:
		}
		if _, err := f.Write(bytes.Repeat([]byte("x"), 4096)); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
}

func newWaitingService(t *testing.T) *waitingService {
	s := &waitingService{release: make(chan struct{}), dir: t.TempDir()}
	s.down = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-s.release
		io.WriteString(w, "42")
	}))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n int
	var nmu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("/quote", func(w http.ResponseWriter, r *http.Request) {
		if err := fetchQuote(client, s.down.URL); err != nil {
			http.Error(w, err.Error(), 502)
		}
	})
	mux.HandleFunc("/locked", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
	})
	mux.HandleFunc("/persist", func(w http.ResponseWriter, r *http.Request) {
		nmu.Lock()
		n++
		path := filepath.Join(s.dir, string(rune('a'+n)))
		nmu.Unlock()
		if err := persistUntil(path, s.release); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	s.front = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.front.Close()
		s.down.Close()
		client.CloseIdleConnections()
	})
	return s
}

// TestRequestWaitsOfARealService sends requests that stay in flight (each
// path's handler waits in its own way), takes goroutine profiles of this
// process as the watch takes them of a target, and checks that each wait
// is classified and named after the own function above it.
func TestRequestWaitsOfARealService(t *testing.T) {
	s := newWaitingService(t)
	s.mu.Lock() // /locked waits until the end
	paths := map[string]int{"/quote": 6, "/locked": 3, "/persist": 2}
	var wg sync.WaitGroup
	for p, n := range paths {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(s.front.URL + p)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
	}
	defer wg.Wait()
	defer s.mu.Unlock()
	defer close(s.release)

	for _, debug := range []int{0, 1} {
		checkRequestWaits(t, debug)
	}
}

// ownGoroutines is a goroutine profile of this process in form debug (0:
// protocol buffers, 1: text, read as the watch reads it).
func ownGoroutines(t *testing.T, debug int) *profile.Profile {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, debug); err != nil {
		t.Fatal(err)
	}
	var p *profile.Profile
	var err error
	if debug == 0 {
		p, err = profile.Parse(&buf)
	} else {
		p, err = gotext.Parse(buf.Bytes())
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkRequestWaits takes goroutine profiles of the waiting service's
// requests in form debug (0: protocol buffers, 1: text, as the watch
// takes them) and checks what requestWaits reads from them.
func checkRequestWaits(t *testing.T, debug int) {
	// Snapshots until every request is in its handler, then 20 more.
	var sum *profile.Profile
	taken := 0
	deadline := time.Now().Add(20 * time.Second)
	for taken < 20 {
		p := ownGoroutines(t, debug)
		w := requestWaits(p, 1, 0, newOwnCode(&result.Module{Path: "github.com/stampede-perf/stampede"}))
		if sum == nil && (w == nil || w.Observations < 11) {
			if time.Now().After(deadline) {
				t.Fatalf("the 11 requests never were all in their handlers: %+v", w)
			}
			time.Sleep(5 * time.Millisecond) // polling the process's own state: nothing to wait on
			continue
		}
		if sum == nil {
			sum = p
		} else {
			var err error
			if sum, err = profile.Merge([]*profile.Profile{sum, p}); err != nil {
				t.Fatal(err)
			}
		}
		taken++
	}
	w := requestWaits(sum, taken, 1, newOwnCode(&result.Module{Path: "github.com/stampede-perf/stampede"}))
	if w == nil {
		t.Fatalf("debug=%d: no waits", debug)
	}
	// The downstream service runs in this process too: its 6 handlers,
	// waiting to be released, are requests being served.
	if w.InRequest < 16.5 || w.InRequest > 17.5 {
		t.Errorf("in request %.2f, want 17", w.InRequest)
	}
	state := map[string]result.WaitState{}
	for _, st := range w.States {
		state[st.State] = st
	}
	check := func(st string, goroutines float64, fn string) {
		t.Helper()
		got, ok := state[st]
		if !ok {
			t.Errorf("debug=%d: no %s state: %+v", debug, st, w.States)
			return
		}
		if got.Goroutines < goroutines-0.5 || len(got.Sites) == 0 || shortFunc(got.Sites[0].Function) != fn || !got.Sites[0].Own {
			t.Errorf("debug=%d: %s: %.2f goroutines (want about %v), sites %+v (want %s first)", debug, st, got.Goroutines, goroutines, got.Sites, fn)
		}
	}
	check(WaitDependency, 6, "analyze.fetchQuote")
	check(WaitLock, 3, "analyze.newWaitingService.func3")
	if debug == 0 {
		check(WaitChannel, 6, "analyze.newWaitingService.func1")
	} else {
		check(WaitRuntime, 6, "analyze.newWaitingService.func1")
	}
	// A goroutine writing a file may be caught between its calls: most
	// of the time it is in them.
	if d := state[WaitDisk]; d.Goroutines < 1 || len(d.Sites) == 0 || shortFunc(d.Sites[0].Function) != "analyze.persistUntil" {
		t.Errorf("debug=%d: disk: %+v", debug, d)
	}
}

// TestRequestWaitsLeavesOutTheWatch: the goroutines serving the watch's
// own profile requests are not requests of the load.
func TestRequestWaitsLeavesOutTheWatch(t *testing.T) {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "goroutine", Unit: "count"}}}
	add := func(n int64, names ...string) {
		s := &profile.Sample{Value: []int64{n}}
		for i, name := range names {
			fn := &profile.Function{ID: uint64(len(p.Function) + 1), Name: name}
			p.Function = append(p.Function, fn)
			loc := &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn}}}
			p.Location = append(p.Location, loc)
			s.Location = append(s.Location, loc)
			_ = i
		}
		p.Sample = append(p.Sample, s)
	}
	add(5, "runtime/pprof.writeGoroutine", "net/http/pprof.handler.ServeHTTP", "net/http.serverHandler.ServeHTTP", "net/http.(*conn).serve")
	add(5, "github.com/prometheus/client_golang/prometheus/promhttp.HandlerForTransactional.func1", "net/http.serverHandler.ServeHTTP")
	if w := requestWaits(p, 1, 1, ownCode{}); w != nil {
		t.Errorf("the watch's requests were counted: %+v", w)
	}
	add(2, "runtime.gopark", "runtime.selectgo", "net/http.(*persistConn).roundTrip", "net/http.(*Client).do",
		"example.com/svc.fetch", "github.com/prometheus/client_golang/prometheus/promhttp.InstrumentHandlerCounter.func1", "net/http.serverHandler.ServeHTTP")
	w := requestWaits(p, 1, 1, newOwnCode(&result.Module{Path: "example.com/svc"}))
	if w == nil || w.Observations != 2 || w.States[0].State != WaitDependency || w.States[0].Sites[0].Function != "example.com/svc.fetch" {
		t.Errorf("an instrumented handler's call was not counted: %+v", w)
	}
}

// leakWaiting is a goroutine that never ends until released.
func leakWaiting(started chan<- struct{}, release <-chan struct{}) {
	started <- struct{}{}
	<-release
}

// TestGoroutineGrowthNamesTheLeak: goroutine profiles of this process
// before and after 30 goroutines are started and left waiting name the
// function they wait in, with 30 more; in both forms of the profile.
func TestGoroutineGrowthNamesTheLeak(t *testing.T) {
	take := func(debug int) *profile.Profile { return ownGoroutines(t, debug) }
	oc := newOwnCode(&result.Module{Path: "github.com/stampede-perf/stampede"})
	for _, debug := range []int{0, 1} {
		before := take(debug)
		release, started := make(chan struct{}), make(chan struct{})
		var done sync.WaitGroup
		for range 30 {
			done.Go(func() { leakWaiting(started, release) })
			<-started
		}
		// Each has sent and is on its way to the receive: take profiles
		// until all 30 are seen parked there.
		var top []result.GoroutineGrowth
		for try := 0; try < 1000; try++ {
			top = goroutineGrowth(before, take(debug), oc, 3)
			if len(top) > 0 && top[0].Added == 30 {
				break
			}
			runtime.Gosched()
		}
		close(release)
		done.Wait() // gone before the next form's first profile
		if len(top) == 0 || shortFunc(top[0].Function) != "analyze.leakWaiting" || top[0].Added != 30 || !top[0].Own {
			t.Errorf("debug=%d: growth %+v, want 30 in analyze.leakWaiting", debug, top)
		}
	}
}
