package analyze

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/result"
)

// The service of the generated profiles: its own module, the library it
// uses, and the frames every request runs through.
const (
	svc = "example.com/svc"
	lib = "github.com/acme/fastlib"
)

var svcModule = &result.Module{Path: svc, Deps: []string{lib, "golang.org/x/net"}, Source: "buildinfo test"}

var (
	serve    = []string{"net/http.HandlerFunc.ServeHTTP", "net/http.serverHandler.ServeHTTP", "net/http.(*conn).serve", "runtime.goexit"}
	mux      = []string{"net/http.(*ServeMux).ServeHTTP", svc + "/api.(*Server).instrument.func1", "net/http.HandlerFunc.ServeHTTP", "net/http.serverHandler.ServeHTTP", "net/http.(*conn).serve", "runtime.goexit"}
	mallocIn = []string{"runtime.nextFreeFast", "runtime.mallocgc", "runtime.newobject"}
)

// gen builds a profile of weighted stacks (frames from the leaf) from a
// seeded generator: profiles in a population differ in their shares.
type gen struct {
	r      *rand.Rand
	stacks []stack
}

func (g *gen) add(weight int64, frames ...[]string) {
	var fs []string
	for _, f := range frames {
		fs = append(fs, f...)
	}
	g.stacks = append(g.stacks, stack{fs, []int64{weight, weight * 1e7}})
}

// between is a whole number of samples in [lo, hi].
func (g *gen) between(lo, hi int) int64 { return int64(lo + g.r.IntN(hi-lo+1)) }

// noise is what every busy Go service's profile has: the scheduler
// spinning, the scavenger returning memory, a little GC, some network.
func (g *gen) noise(total int64) {
	parts := []struct {
		frames []string
	}{
		{[]string{"runtime.futex", "runtime.futexsleep", "runtime.notesleep", "runtime.stopm", "runtime.findRunnable", "runtime.schedule", "runtime.park_m", "runtime.mcall"}},
		{[]string{"runtime.madvise", "runtime.sysUnusedOS", "runtime.(*pageAlloc).scavenge", "runtime.bgscavenge", "runtime.goexit"}},
		{[]string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker.func2", "runtime.systemstack", "runtime.gcBgMarkWorker", "runtime.goexit"}},
		{[]string{"internal/runtime/syscall.Syscall6", "syscall.Syscall", "syscall.read", "net.(*conn).Read", "net/http.(*connReader).Read", "bufio.(*Reader).fill", "net/http.(*conn).serve", "runtime.goexit"}},
	}
	left := total
	for i, p := range parts {
		w := left / int64(len(parts)-i)
		if i < len(parts)-1 {
			w = max(1, w+g.between(-1, 1))
		}
		g.add(max(w, 1), p.frames)
		left -= w
	}
}

func (g *gen) profile() *profile.Profile { return buildProfile(cpuTypes, g.stacks) }

// cpuCase is one kind of profile: want is the short name the hotspot
// finding must carry ("" for none).
type cpuCase struct {
	why  string
	make func(g *gen)
	want string
	// gcBy is the function the GC pressure finding names when the
	// allocation and GC share of the samples (refGCShare) calls for one;
	// "" for none named ("gc").
	gcBy string
}

// refGCShare is the obviously right share of samples with the allocator
// or a GC worker anywhere in their stack.
func refGCShare(stacks []stack) float64 {
	var in, total int64
	for _, s := range stacks {
		total += s.values[1]
		if slices.ContainsFunc(s.frames, func(f string) bool {
			return f == "runtime.mallocgc" || f == "runtime.gcBgMarkWorker" || f == "runtime.bgscavenge"
		}) {
			in += s.values[1]
		}
	}
	return 100 * float64(in) / float64(total)
}

func cpuCases() []cpuCase {
	handler := svc + "/api.(*Server).handleReport"
	return []cpuCase{
		{"an own handler with no time of its own calls an expensive library routine", func(g *gen) {
			w := g.between(45, 70)
			g.add(w*6/10, []string{lib + ".encodeBlock", lib + ".(*Encoder).encode", lib + ".Build", handler}, mux)
			g.add(w*4/10, []string{lib + ".hashRow", lib + ".Build", handler}, mux)
			g.add(g.between(5, 10), []string{svc + "/api.(*Server).handleHealth"}, mux)
			g.noise(100 - w)
		}, "api.(*Server).handleReport", ""},
		{"the library routine allocates: the path reaches the allocator", func(g *gen) {
			w := g.between(40, 60)
			g.add(w/2, mallocIn, []string{lib + ".(*Doc).grow", lib + ".Build", handler}, serve)
			g.add(w/2, []string{lib + ".render", lib + ".Build", handler}, serve)
			g.noise(g.between(40, 60))
		}, "api.(*Server).handleReport", handler},
		{"an own hot loop", func(g *gen) {
			w := g.between(40, 80)
			g.add(w, []string{svc + "/rank.score", svc + "/rank.Rank", handler}, mux)
			g.add(g.between(3, 8), []string{"sort.insertionSort", "sort.Sort", svc + "/rank.Rank", handler}, mux)
			g.noise(100 - w)
		}, "rank.score", ""},
		{"a wrapper hands its time to an own worker that calls a library", func(g *gen) {
			w := g.between(40, 70)
			worker := svc + "/jobs.(*Pool).process"
			g.add(w, []string{lib + ".compress", lib + ".Compress", worker, svc + "/jobs.(*Pool).run", "runtime.goexit"})
			g.add(g.between(2, 5), []string{worker, svc + "/jobs.(*Pool).run", "runtime.goexit"})
			g.noise(100 - w)
		}, "jobs.(*Pool).process", ""},
		{"an own dispatcher spreads its time over own handlers below the threshold", func(g *gen) {
			for i := range 5 {
				g.add(g.between(8, 12), []string{fmt.Sprintf("%s.step%d", lib, i), fmt.Sprintf("%s/api.handle%d", svc, i), svc + "/api.route"}, serve)
			}
			g.noise(g.between(40, 60))
		}, "", ""},
		{"only the runtime and server plumbing: nothing to name", func(g *gen) {
			g.add(g.between(5, 15), []string{svc + "/api.handleHealth"}, mux)
			g.noise(g.between(80, 120))
		}, "", ""},
		{"the time is spread thinly over own code", func(g *gen) {
			for i := range 6 {
				g.add(g.between(8, 14), []string{fmt.Sprintf("%s/api.part%d", svc, i), svc + "/api.handle"}, mux)
			}
			g.add(g.between(3, 6), []string{svc + "/api.handle"}, mux)
			g.noise(g.between(60, 80))
		}, "", ""},
		{"the garbage collector takes the CPU; an own function allocates", func(g *gen) {
			w := g.between(35, 45)
			g.add(w, mallocIn, []string{svc + "/api.buildRows", handler}, mux)
			g.add(8, []string{svc + "/api.encodeRows", handler}, mux)
			g.add(5, []string{"runtime.futex", "runtime.futexsleep", "runtime.notesleep", "runtime.stopm", "runtime.findRunnable", "runtime.schedule", "runtime.park_m", "runtime.mcall"})
			gc := 100 - w - 13
			for i := range 4 {
				g.add(gc/4+min(1, int64(i)*(gc%4)), []string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker.func2", "runtime.systemstack", "runtime.gcBgMarkWorker", "runtime.goexit"})
			}
		}, "api.buildRows", svc + "/api.buildRows"},
		{"the garbage collector takes nearly all the CPU, allocations spread over own code", func(g *gen) {
			g.add(g.between(8, 10), mallocIn, []string{svc + "/api.build0", svc + "/api.route"}, mux)
			for i := 1; i < 5; i++ {
				g.add(g.between(3, 6), mallocIn, []string{fmt.Sprintf("%s/api.build%d", svc, i), svc + "/api.route"}, mux)
			}
			for range 4 {
				g.add(g.between(10, 15), []string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker.func2", "runtime.systemstack", "runtime.gcBgMarkWorker", "runtime.goexit"})
			}
		}, "", svc + "/api.build0"},
		{"a library called from two own handlers, neither over the threshold", func(g *gen) {
			g.add(g.between(24, 29), []string{lib + ".parse", lib + ".Parse", svc + "/api.handleA"}, mux)
			g.add(g.between(10, 15), []string{lib + ".parse", lib + ".Parse", svc + "/api.handleB"}, mux)
			g.noise(g.between(40, 55))
		}, "api.handleA", ""},
		{"a handler runs four own steps, none over the threshold, and a little library work", func(g *gen) {
			steps := []string{"validateOrder", "priceOrder", "applyPromotions", "renderReceipt"}
			for _, st := range steps {
				g.add(g.between(14, 18), []string{svc + "/shop." + st, svc + "/shop.(*checkout).handle"}, mux)
			}
			g.add(g.between(12, 18), []string{"compress/flate.(*compressor).deflate", "compress/gzip.(*Writer).Write", svc + "/shop.(*checkout).handle"}, mux)
			g.add(g.between(2, 4), []string{"encoding/json.(*Decoder).Decode", svc + "/shop.(*checkout).handle"}, mux)
			g.noise(g.between(20, 30))
		}, "", ""},
		{"the HTTP server writing responses: standard library no own code calls", func(g *gen) {
			w := g.between(35, 50)
			g.add(w, []string{"internal/runtime/syscall.Syscall6", "syscall.write", "net.(*conn).Write", "net/http.checkConnErrorWriter.Write", "bufio.(*Writer).Flush", "net/http.(*response).finishRequest", "net/http.(*conn).serve", "runtime.goexit"})
			g.add(g.between(10, 20), []string{"encoding/json.Marshal", svc + "/api.handleList"}, mux)
			g.noise(100 - w)
		}, "", ""},
		{"a dependency working on its own goroutines is named as such", func(g *gen) {
			w := g.between(45, 70)
			g.add(w, []string{"golang.org/x/net/http2.(*Framer).ReadFrame", "golang.org/x/net/http2.(*serverConn).readFrames", "runtime.goexit"})
			g.add(g.between(5, 10), []string{svc + "/api.handleHealth"}, mux)
			g.noise(100 - w)
		}, "http2.(*Framer).ReadFrame", ""},
	}
}

// TestOwnCodePopulation generates many profiles of each kind and checks
// the function every CPU and GC finding names: own code whenever some
// own code is to blame, never the runtime or sync.
func TestOwnCodePopulation(t *testing.T) {
	statisticsOnly(t)
	const perCase = 40
	for ci, c := range cpuCases() {
		misses := 0
		for i := range perCase {
			g := &gen{r: rand.New(rand.NewPCG(uint64(ci), uint64(i)))}
			c.make(g)
			st := readStacks(g.profile(), newOwnCode(svcModule))
			r := cleanRun()
			r.System.Module = svcModule
			r.System.Hotspots = st.hotspots(profileTop)
			r.System.Alloc = st.allocCPU()
			r.System.Contention = nil
			Conclude(r, nil)
			var hot, gc *result.Finding
			for j := range r.Findings {
				f := &r.Findings[j]
				switch f.Kind {
				case result.KindCPUHotspot:
					if hot == nil {
						hot = f
					}
				case result.KindGCPressure:
					gc = f
				}
				if isMachinery(f.Subject) {
					t.Errorf("%s #%d: a finding names %s: %s", c.why, i, f.Subject, f.Title)
				}
			}
			ok := (c.want == "" && hot == nil) || (hot != nil && hot.Subject == c.want)
			wantGC := refGCShare(g.stacks) >= 100*gcCPUShare
			if wantGC {
				ok = ok && gc != nil && gc.Subject == orText(shortFunc(c.gcBy), "gc")
			} else {
				ok = ok && gc == nil
			}
			if !ok {
				misses++
				if misses == 1 {
					t.Errorf("%s #%d: hotspot %v, gc %v; want %q (gc %v %q)\nhotspots %+v\nalloc %+v", c.why, i, title(hot), title(gc), c.want, wantGC, c.gcBy, r.System.Hotspots, r.System.Alloc)
				}
			}
		}
		if misses > 0 {
			t.Errorf("%s: %d of %d profiles misattributed", c.why, misses, perCase)
		}
	}
}

func title(f *result.Finding) string {
	if f == nil {
		return "none"
	}
	return fmt.Sprintf("%q (%s)", f.Title, f.Subject)
}

func isMachinery(subject string) bool {
	return strings.HasPrefix(subject, "runtime.") || strings.HasPrefix(subject, "sync.")
}

// TestHotspotPathAndText: the handler of the motivating case is named
// with where its time goes, the allocation on that path called out.
func TestHotspotPathAndText(t *testing.T) {
	c := cpuCases()[1]
	g := &gen{r: rand.New(rand.NewPCG(7, 7))}
	c.make(g)
	st := readStacks(g.profile(), newOwnCode(svcModule))
	hs := st.hotspots(profileTop)
	if !hs[0].Own || hs[0].Function != "(*Server).handleReport" {
		t.Fatalf("own code does not come first by cumulative share: %+v", hs[0])
	}
	for i := 1; i < len(hs); i++ {
		if hs[i].Own && (!hs[i-1].Own || hs[i].CumPct > hs[i-1].CumPct) {
			t.Errorf("hotspots out of order at %d: %+v after %+v", i, hs[i], hs[i-1])
		}
	}
	var path []string
	for _, p := range hs[0].Path {
		path = append(path, p.Function)
	}
	want := []string{lib + ".Build", "runtime.newobject", mallocgc}
	if len(path) < 3 || !slices.Equal(path[:3], want) {
		t.Errorf("path = %q, want it to start %q", path, want)
	}
	r := cleanRun()
	r.System.Module, r.System.Hotspots = svcModule, hs
	fs, _ := ruleHotspot(&evaluation{run: r, cfg: map[string]float64{"hotspot_share": 0.3}})
	if len(fs) != 1 || !strings.Contains(fs[0].Title, "in fastlib.Build") || !strings.Contains(fs[0].Detail, "runtime.mallocgc") ||
		!strings.Contains(fs[0].Detail, "GC pressure") {
		t.Errorf("finding %+v", fs)
	}
}

// contentionCase is a mutex profile: want is the finding's subject (""
// for no finding) and via what it called on the way to the lock.
type contentionCase struct {
	why       string
	make      func(g *gen)
	want, via string
}

func contentionCases() []contentionCase {
	cache := svc + "/store.(*Cache).Get"
	return []contentionCase{
		{"an own cache holds a sync.Mutex", func(g *gen) {
			g.add(g.between(60, 90), []string{"sync.(*Mutex).Unlock", cache, svc + "/api.handleGet"}, mux)
			g.add(g.between(5, 15), []string{"sync.(*Mutex).Unlock", svc + "/store.(*Cache).Put", svc + "/api.handlePut"}, mux)
		}, "store.(*Cache).Get", "sync.(*Mutex).Unlock"},
		{"a read-write lock, deferred unlock", func(g *gen) {
			g.add(g.between(60, 90), []string{"sync.(*RWMutex).Unlock", cache + ".deferwrap1", cache, svc + "/api.handleGet"}, mux)
			g.add(g.between(5, 15), []string{"runtime.unlock", "runtime.(*mheap).alloc", "runtime.mallocgc", svc + "/api.handleGet"}, mux)
		}, "store.(*Cache).Get", "sync.(*RWMutex).Unlock"},
		{"a library's pool lock, taken for own code", func(g *gen) {
			g.add(g.between(60, 90), []string{"sync.(*Mutex).Unlock", "database/sql.(*DB).conn", "database/sql.(*DB).query", "database/sql.(*DB).QueryContext", svc + "/store.(*Repo).Find", svc + "/api.handleGet"}, mux)
			g.add(g.between(5, 15), []string{"sync.(*Mutex).Unlock", cache, svc + "/api.handleGet"}, mux)
		}, "store.(*Repo).Find", "database/sql.(*DB).QueryContext"},
		{"runtime-internal locks only: nothing of the program's to name", func(g *gen) {
			g.add(g.between(60, 90), []string{"runtime.unlock", "runtime.(*mheap).allocSpan", "runtime.(*mheap).alloc.func1", "runtime.systemstack"})
			g.add(g.between(10, 30), []string{"runtime.unlock", "runtime.findRunnable", "runtime.schedule", "runtime.park_m", "runtime.mcall"})
		}, "", ""},
		{"a channel the runtime locks, sent to by own code", func(g *gen) {
			g.add(g.between(60, 90), []string{"runtime.unlock", "runtime.chansend", "runtime.chansend1", svc + "/jobs.(*Queue).Push", svc + "/api.handlePut"}, mux)
		}, "jobs.(*Queue).Push", "runtime.chansend1"},
	}
}

// TestContentionPopulation checks the function the lock contention
// finding names over generated mutex profiles, and the wait per request.
func TestContentionPopulation(t *testing.T) {
	types := [][2]string{{"contentions", "count"}, {"delay", "nanoseconds"}}
	for ci, c := range contentionCases() {
		misses := 0
		for i := range 40 {
			g := &gen{r: rand.New(rand.NewPCG(uint64(100+ci), uint64(i)))}
			c.make(g)
			for j := range g.stacks { // a second of delay per sample weight
				g.stacks[j].values[1] = g.stacks[j].values[0] * 1e9
			}
			p := buildProfile(types, g.stacks)
			r := cleanRun()
			r.System.Module = svcModule
			r.System.Contention = contention(p, "mutex", profileTop, newOwnCode(svcModule))
			Conclude(r, nil)
			var lock *result.Finding
			for j := range r.Findings {
				if f := &r.Findings[j]; f.Kind == result.KindLockContention && f.Subject != subjectSerial {
					lock = f
				}
			}
			ok := (c.want == "" && lock == nil) || (lock != nil && lock.Subject == c.want)
			if lock != nil {
				if isMachinery(lock.Subject) {
					t.Errorf("%s: names %s", c.why, lock.Subject)
				}
				perReq, has := first(lock, "mutex_wait_per_request_ms")
				var delay float64
				for _, cn := range r.System.Contention {
					if shortFunc(cn.Function) == lock.Subject {
						delay = cn.DelayS
					}
				}
				ok = ok && has && perReq == 1000*delay/float64(r.Summary.Requests) && strings.Contains(lock.Title, "per request")
				_, hasVia := first(lock, "via: "+shortFunc(c.via))
				ok = ok && hasVia
			}
			if !ok {
				misses++
				if misses == 1 {
					t.Errorf("%s #%d: %v; want %q via %q\ncontention %+v", c.why, i, title(lock), c.want, c.via, r.System.Contention)
				}
			}
		}
		if misses > 0 {
			t.Errorf("%s: %d of 40 profiles misattributed", c.why, misses)
		}
	}
}

func TestOwnCode(t *testing.T) {
	withMod := newOwnCode(&result.Module{Path: "example.com/app", Deps: []string{"example.com/app/plugins", "github.com/lib/pq"}})
	noMod := newOwnCode(nil)
	tests := []struct {
		oc        ownCode
		name      string
		file      string
		own       bool
		reasoning string
	}{
		{withMod, "main.handler", "", true, "package main is always own"},
		{withMod, "example.com/app/api.(*S).Get", "", true, "a package of the main module"},
		{withMod, "example.com/app.Run", "", true, "the main module's root package"},
		{withMod, "example.com/app/plugins/csv.Parse", "", false, "a nested module that is a dependency"},
		{withMod, "example.com/application.X", "", false, "a path sharing only a prefix of characters"},
		{withMod, "github.com/lib/pq.(*conn).query", "", false, "a dependency module"},
		{withMod, "encoding/json.Marshal", "", false, "the standard library"},
		{withMod, "0x4a5b6c", "", false, "an address has no package"},
		{noMod, "example.com/app/api.(*S).Get", "/home/u/app/api/s.go", true, "a source tree outside the module cache"},
		{noMod, "github.com/lib/pq.(*conn).query", "/home/u/go/pkg/mod/github.com/lib/pq@v1.10.9/conn.go", false, "the module cache"},
		{noMod, "github.com/lib/pq.(*conn).query", "github.com/lib/pq@v1.10.9/conn.go", false, "a -trimpath dependency file"},
		{noMod, "github.com/lib/pq.(*conn).query", "/src/app/vendor/github.com/lib/pq/conn.go", false, "a vendored dependency"},
		{noMod, "net/http.(*conn).serve", "/usr/lib/go/src/net/http/server.go", false, "the standard library"},
		{noMod, "example.com/app/api.(*S).Get", "", true, "no file: outside the standard library counts as own"},
		{newOwnCode(&result.Module{Path: "svc"}), "svc/api.Get", "", true, "a module path with no dot is not the standard library"},
	}
	for _, tt := range tests {
		if got := tt.oc.own(tt.name, tt.file); got != tt.own {
			t.Errorf("own(%q, %q) = %v, want %v: %s", tt.name, tt.file, got, tt.own, tt.reasoning)
		}
	}
}

// TestAllocSites: allocations between the heap profiles go to the
// nearest own frame, through library and runtime frames.
func TestAllocSites(t *testing.T) {
	const mib = 1 << 20
	start := heapProfile(map[string]int64{
		"runtime.mallocgc," + lib + ".(*Doc).grow," + svc + "/api.buildRows": 10 * mib,
	})
	end := heapProfile(map[string]int64{
		"runtime.mallocgc," + lib + ".(*Doc).grow," + svc + "/api.buildRows": 70 * mib,
		"runtime.makeslice," + svc + "/api.encodeRows":                       20 * mib,
		"runtime.malg,runtime.newproc1," + lib + ".startWorker":              10 * mib,
	})
	sites, total := allocSites(start, end, newOwnCode(svcModule), 5)
	want := []result.AllocSite{
		{Function: svc + "/api.buildRows", Own: true, MB: 60, Pct: 66.66666666666667},
		{Function: svc + "/api.encodeRows", Own: true, MB: 20, Pct: 22.22222222222222},
		{Function: lib + ".startWorker", MB: 10, Pct: 11.11111111111111},
	}
	if total != 90 || !slices.Equal(sites, want) {
		t.Errorf("allocSites = %+v, %v; want %+v, 90", sites, total, want)
	}
	a := &result.AllocPressure{Sites: sites}
	if who, how := allocator(a); who != svc+"/api.buildRows" || !strings.Contains(how, "67% of the bytes") {
		t.Errorf("allocator = %q, %q", who, how)
	}
}

// TestGCFindingMerges: pauses and allocation CPU make one finding.
func TestGCFindingMerges(t *testing.T) {
	r := cleanRun()
	r.System.GC = &result.GC{CyclesPerS: 40, PausePct: 12}
	r.System.Alloc = &result.AllocPressure{CPUPct: 45, MallocPct: 30, GCWorkPct: 20,
		CPUCallers: []result.CallShare{{Function: svc + "/api.buildRows", Pct: 25, Own: true}}}
	Conclude(r, nil)
	var gcs []result.Finding
	for _, f := range r.Findings {
		if f.Kind == result.KindGCPressure {
			gcs = append(gcs, f)
		}
	}
	if len(gcs) != 1 || gcs[0].Subject != "api.buildRows" || !strings.Contains(gcs[0].Title, "45% of the CPU") || !strings.Contains(gcs[0].Title, "12% of the time paused") ||
		gcs[0].Severity != SeverityHigh {
		t.Errorf("GC findings %+v", gcs)
	}
	r.System.GC.PausePct, r.System.Alloc.CPUPct = 1, 20
	Conclude(r, nil)
	if slices.ContainsFunc(r.Findings, func(f result.Finding) bool { return f.Kind == result.KindGCPressure }) {
		t.Error("GC pressure below both thresholds")
	}
}

// burnOwn is own code of this module that spends its time in a library
// routine (crypto/sha256) and allocates.
//
//go:noinline
func burnOwn(until time.Time) int {
	n := 0
	buf := make([]byte, 4096)
	for time.Now().Before(until) {
		for range 64 {
			s := sha256.Sum256(buf)
			buf = append(buf[:0:0], buf...) // a new slice: allocation per round
			n += int(s[0])
		}
	}
	return n
}

// TestRealCPUProfile profiles this test binary while its own code calls
// a library routine, reads the build information of the binary, and
// checks that the own function is named with the library below it.
func TestRealCPUProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("profiles for a second")
	}
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skip("CPU profiling unavailable:", err)
	}
	burnOwn(time.Now().Add(time.Second))
	pprof.StopCPUProfile()
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	m, err := ReadModule(exe)
	if err != nil {
		t.Fatal(err)
	}
	if m.Path != "github.com/stampede-perf/stampede" {
		t.Fatalf("module %+v", m)
	}
	hs := Attribute(p, m, profileTop)
	var burn *result.Hotspot
	for i := range hs {
		if hs[i].Function == "burnOwn" {
			burn = &hs[i]
		}
	}
	if burn == nil || !burn.Own {
		t.Fatalf("burnOwn not found as own code: %+v", hs)
	}
	// Its share depends on the machine and on the race detector's own
	// work; what must hold is that it is the own function whose time
	// outside other own functions (what the hotspot rule judges) is
	// largest: the test function above it only calls it.
	for _, h := range hs {
		if h.Own && h.Function != "burnOwn" && h.CumPct-h.OwnBelowPct >= burn.CumPct-burn.OwnBelowPct {
			t.Errorf("%s (%.0f%% outside own callees) outranks burnOwn (%.0f%%)", h.Function, h.CumPct-h.OwnBelowPct, burn.CumPct-burn.OwnBelowPct)
		}
	}
	if len(burn.Path) == 0 || !strings.HasPrefix(burn.Path[0].Function, "crypto/") {
		t.Errorf("path below burnOwn = %+v, want crypto/sha256 first", burn.Path)
	}
	for _, h := range hs {
		if h.Own && (strings.HasPrefix(h.Package, "runtime") || strings.HasPrefix(h.Package, "crypto") || strings.HasPrefix(h.Package, "testing")) {
			t.Errorf("%s.%s counted as own code", h.Package, h.Function)
		}
	}
}

// TestRuntimeLocksAreNoFinding: a mutex profile whose dominant delay is
// the runtime's own locks names nothing, in Runs analysed before own
// code was told apart as well as after.
func TestRuntimeLocksAreNoFinding(t *testing.T) {
	for _, mod := range []*result.Module{nil, svcModule} {
		r := cleanRun()
		r.System.Module = mod
		r.System.Contention = []result.Contention{
			{Function: "runtime.unlock", Kind: "mutex", DelayPct: 92, DelayS: 300},
			{Function: svc + "/store.(*Cache).Get", Kind: "mutex", DelayPct: 8, DelayS: 26, Own: true},
		}
		Conclude(r, nil)
		for _, f := range r.Findings {
			if f.Kind == result.KindLockContention && f.Subject != subjectSerial {
				t.Errorf("module %v: %s (%s)", mod, f.Title, f.Subject)
			}
		}
	}
}

// TestIdleProcessHotspot: in a mostly idle process a hotspot is judged
// by its CPU per request against the service time.
func TestIdleProcessHotspot(t *testing.T) {
	for _, tt := range []struct {
		why                 string
		cpu, rps, serviceMS float64
		share               float64
		wantLow             bool
	}{
		{"a periodic background job in an idle service", 7, 137, 0.8, 32, true},
		{"a slow query scanned in process: most of each request", 7.4, 18.3, 5.2, 89, false},
		{"a busy process is judged by its shares", 60, 137, 0.8, 32, false},
		{"a query per item: half of each request", 13.5, 55, 3.4, 69, false},
		// From the zoo's healthy-batch-gc: an index rebuilt every 3 s
		// takes half the CPU per request of a fast service, all of it
		// outside requests.
		{"a background job that is half of each request's CPU", 7.2, 133, 0.4, 36, true},
	} {
		r := cleanRun()
		r.System.Module = svcModule
		r.System.Process.CPUPercent.Mean = tt.cpu
		r.Summary.RPS, r.Summary.Service.Mean = tt.rps, tt.serviceMS
		r.System.Hotspots = []result.Hotspot{{Function: "(*directory).rebuild", Package: svc + "/dir", Own: true, FlatPct: tt.share, CumPct: tt.share}}
		r.System.RequestCPUPct = 100 - tt.share
		if strings.Contains(tt.why, "request") && !strings.Contains(tt.why, "background") {
			r.System.Hotspots[0].RequestPct = tt.share
		}
		fs, _ := ruleHotspot(&evaluation{run: r, cfg: map[string]float64{"hotspot_share": 0.3}})
		if len(fs) != 1 || (fs[0].Severity == SeverityLow) != tt.wantLow {
			t.Errorf("%s: %+v", tt.why, fs)
		}
	}
}

// TestIdleProcessGC: in a mostly idle process, allocation and collection
// work over gc_cpu_share of the CPU is judged by what it costs each
// request against the service time, unless the pauses pass their own
// threshold.
func TestIdleProcessGC(t *testing.T) {
	for _, tt := range []struct {
		why                 string
		cpu, rps, serviceMS float64
		gcPct, pausePct     float64
		want                result.Severity
	}{
		// From the zoo's healthy-plain: a fast JSON service at 170
		// requests/s using 8% of a core.
		{"a fast idle service", 8.4, 177, 0.5, 38, 0.1, SeverityLow},
		{"a busy service", 70, 177, 0.5, 38, 0.1, SeverityMedium},
		{"an idle service whose allocation is half of each request", 10, 20, 2, 40, 0.1, SeverityHigh},
		{"an idle service with long pauses", 8.4, 177, 0.5, 38, 12, SeverityHigh},
	} {
		r := cleanRun()
		r.System.Module = svcModule
		r.System.Process.CPUPercent.Mean = tt.cpu
		r.Summary.RPS, r.Summary.Service.Mean = tt.rps, tt.serviceMS
		r.System.Alloc = &result.AllocPressure{CPUPct: tt.gcPct, MallocPct: tt.gcPct / 2, GCWorkPct: tt.gcPct / 2}
		r.System.GC = &result.GC{PausePct: tt.pausePct, CyclesPerS: 5}
		fs, _ := ruleGC(&evaluation{run: r, cfg: map[string]float64{"gc_pause_percent": 5}})
		if len(fs) != 1 || fs[0].Severity != tt.want {
			t.Errorf("%s: want %s, got %+v", tt.why, tt.want, fs)
		}
	}
}

// TestHotspotTitleNamesTheLibrary: the title says which routine outside
// own code takes the function's time, even when an own callee comes
// first on its path.
func TestHotspotTitleNamesTheLibrary(t *testing.T) {
	r := cleanRun()
	r.System.Module = svcModule
	r.System.Hotspots = []result.Hotspot{{Function: "handle", Package: svc + "/api", Own: true, CumPct: 80, OwnBelowPct: 35,
		Path: []result.CallShare{{Function: svc + "/api.step", Pct: 35, Own: true}, {Function: lib + ".Build", Pct: 30}}}}
	r.System.Process.CPUPercent.Mean = 170 // short of CPU: its severity is its share's
	fs, _ := ruleHotspot(&evaluation{run: r, cfg: map[string]float64{"hotspot_share": 0.3}})
	if len(fs) != 1 || !strings.Contains(fs[0].Title, "30% of it in fastlib.Build") || fs[0].Severity != SeverityHigh {
		t.Errorf("%+v", fs)
	}
}

// TestHotspotWithCPUToSpare: a hotspot high by its share is medium in a
// process that had CPU to spare and kept up (it limits nothing yet), and
// high in one short of CPU or falling behind.
func TestHotspotWithCPUToSpare(t *testing.T) {
	for _, tt := range []struct {
		why       string
		cpu       float64 // of one core, on 2 cores
		delivered float64 // of the rate asked
		want      result.Severity
	}{
		{"a third of the machine, kept up", 60, 1, SeverityMedium},
		{"most of the machine", 170, 1, SeverityHigh},
		{"a third of the machine, falling behind", 60, 0.8, SeverityHigh},
	} {
		r := cleanRun()
		r.System.Module = svcModule
		r.System.Process.CPUPercent.Mean = tt.cpu
		r.Summary.TargetRPS = r.Summary.RPS / tt.delivered
		r.System.Hotspots = []result.Hotspot{{Function: "rank", Package: svc + "/search", Own: true, FlatPct: 80, CumPct: 80, RequestPct: 80}}
		fs, _ := ruleHotspot(&evaluation{run: r, cfg: map[string]float64{"hotspot_share": 0.3}})
		if len(fs) != 1 || fs[0].Severity != tt.want || (tt.want == SeverityMedium) != strings.Contains(fs[0].Detail, "limits nothing yet") {
			t.Errorf("%s: %+v", tt.why, fs)
		}
	}
}

// TestPoolWaitPopulation: goroutines of an own function blocked in
// database/sql waiting for a pooled connection are contention for the
// pool; own goroutines idling on their channels are not.
func TestPoolWaitPopulation(t *testing.T) {
	types := [][2]string{{"contentions", "count"}, {"delay", "nanoseconds"}}
	repo := svc + "/store.(*Repo).Reserve"
	for i := range 40 {
		g := &gen{r: rand.New(rand.NewPCG(200, uint64(i)))}
		pool := i%2 == 0
		if pool {
			g.add(g.between(60, 120), []string{"runtime.selectgo", "database/sql.(*DB).conn", "database/sql.(*DB).query", "database/sql.(*DB).QueryContext.func1",
				"database/sql.(*DB).retry", "database/sql.(*DB).QueryContext", repo, svc + "/api.handleReserve"}, mux)
		}
		g.add(g.between(20, 60), []string{"runtime.selectgo", svc + "/jobs.(*Pool).worker", "runtime.goexit"})
		g.add(g.between(1, 5), []string{"runtime.chanrecv1", svc + "/jobs.(*Pool).wait", "runtime.goexit"})
		if i%4 >= 2 { // idle workers' waits dilute the pool's share of the blocking, not its wait
			g.add(g.between(300, 500), []string{"runtime.selectgo", svc + "/jobs.(*Pool).idle", "runtime.goexit"})
		}
		for j := range g.stacks {
			g.stacks[j].values[1] = g.stacks[j].values[0] * 1e9
		}
		r := cleanRun()
		r.System.Module = svcModule
		r.System.Contention = contention(buildProfile(types, g.stacks), "block", profileTop, newOwnCode(svcModule))
		fs, _ := ruleContention(&evaluation{run: r, cfg: map[string]float64{"contention_share": 0.3, "contention_wait_ratio": 0.1, "usl_sigma": 0.05}})
		var got []string
		for _, f := range fs {
			if f.Subject != subjectSerial {
				got = append(got, f.Subject)
			}
		}
		want := []string(nil)
		if pool {
			want = []string{"store.(*Repo).Reserve"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("#%d (pool %v): findings name %q, want %q; contention %+v", i, pool, got, want, r.System.Contention)
		}
	}
}
