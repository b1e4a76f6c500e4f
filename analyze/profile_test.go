package analyze

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/result"
)

// stack is one sample: frames from the leaf, "a+b" for a location where a
// was inlined into b, and its values.
type stack struct {
	frames []string
	values []int64
}

func buildProfile(types [][2]string, stacks []stack) *profile.Profile {
	p := &profile.Profile{}
	for _, t := range types {
		p.SampleType = append(p.SampleType, &profile.ValueType{Type: t[0], Unit: t[1]})
	}
	funcs := map[string]*profile.Function{}
	locs := map[string]*profile.Location{}
	for _, s := range stacks {
		var sample profile.Sample
		for _, frame := range s.frames {
			loc, ok := locs[frame]
			if !ok {
				loc = &profile.Location{ID: uint64(len(locs) + 1), Address: uint64(0x1000 + len(locs))}
				for _, name := range strings.Split(frame, "+") {
					f, ok := funcs[name]
					if !ok {
						f = &profile.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name}
						funcs[name] = f
						p.Function = append(p.Function, f)
					}
					loc.Line = append(loc.Line, profile.Line{Function: f})
				}
				locs[frame] = loc
				p.Location = append(p.Location, loc)
			}
			sample.Location = append(sample.Location, loc)
		}
		sample.Value = s.values
		p.Sample = append(p.Sample, &sample)
	}
	return p
}

var cpuTypes = [][2]string{{"samples", "count"}, {"cpu", "nanoseconds"}}

func cpuStacks() []stack {
	return []stack{
		{[]string{"main.fib", "main.fib", "main.fib", "main.main", "runtime.main"}, []int64{1, 10}},
		{[]string{"runtime.mallocgc", "main.fib", "main.main", "runtime.main"}, []int64{1, 5}},
		{[]string{"main.hot+main.main", "runtime.main"}, []int64{1, 25}},
	}
}

// refCum is the obviously right cumulative count: a function's share is
// the sum of the samples whose stack names it anywhere.
func refCum(stacks []stack, name string) (flat, cum int64) {
	for _, s := range stacks {
		var names []string
		for _, f := range s.frames {
			names = append(names, strings.Split(f, "+")...)
		}
		if names[0] == name {
			flat += s.values[1]
		}
		if slices.Contains(names, name) {
			cum += s.values[1]
		}
	}
	return flat, cum
}

func TestHotspots(t *testing.T) {
	stacks := cpuStacks()
	got := Hotspots(buildProfile(cpuTypes, stacks), 10)
	// Own code (package main) first by cumulative share, then the rest
	// by flat share.
	want := []result.Hotspot{
		{Function: "main", Package: "main", FlatPct: 0, CumPct: 100, TopCallee: "main.hot", TopCalleePct: 62.5,
			Own: true, OwnBelowPct: 100, Path: []result.CallShare{{Function: "main.hot", Pct: 62.5, Own: true}}},
		{Function: "hot", Package: "main", FlatPct: 62.5, CumPct: 62.5, Own: true},
		// recursion counted once: 15 of 40, not 35; fib calling itself is
		// not its top callee, nor other own code below it
		{Function: "fib", Package: "main", FlatPct: 25, CumPct: 37.5, TopCallee: "runtime.mallocgc", TopCalleePct: 12.5,
			Own: true, Path: []result.CallShare{{Function: "runtime.mallocgc", Pct: 12.5}}},
		{Function: "mallocgc", Package: "runtime", FlatPct: 12.5, CumPct: 12.5, Callers: []result.CallShare{{Function: "main.fib", Pct: 12.5, Own: true}}},
		{Function: "main", Package: "runtime", FlatPct: 0, CumPct: 100, TopCallee: "main.main", TopCalleePct: 100, OwnBelowPct: 100},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Hotspots =\n%+v\nwant\n%+v", got, want)
	}
	for _, h := range got {
		flat, cum := refCum(stacks, h.Package+"."+h.Function)
		if h.FlatPct != 100*float64(flat)/40 || h.CumPct != 100*float64(cum)/40 {
			t.Errorf("%s.%s: flat %v cum %v; reference %v %v", h.Package, h.Function, h.FlatPct, h.CumPct, flat, cum)
		}
	}

	// n = 1: the top function by flat share, the top by cumulative share
	// (a tie at 100 %, broken by name) and the top own function.
	top := Hotspots(buildProfile(cpuTypes, stacks), 1)
	if len(top) != 2 || top[0].Package+"."+top[0].Function != "main.main" || top[1].Function != "hot" {
		t.Errorf("Hotspots(n=1) = %+v", top)
	}
	if Hotspots(nil, 5) != nil || Hotspots(buildProfile(cpuTypes, nil), 5) != nil {
		t.Error("an empty profile should have no hotspots")
	}
}

func TestSplitFuncName(t *testing.T) {
	tests := []struct{ name, pkg, fn string }{
		{"main.main", "main", "main"},
		{"main.main.func1", "main", "main.func1"},
		{"github.com/a/b.(*T).M", "github.com/a/b", "(*T).M"},
		{"github.com/a/b.F[...]", "github.com/a/b", "F[...]"},
		{"github.com/x/y.G[go.shape.struct { F github.com/z/w.T }]", "github.com/x/y", "G[go.shape.struct { F github.com/z/w.T }]"},
		{"gopkg.in/yaml%2ev3.(*parser).parse", "gopkg.in/yaml.v3", "(*parser).parse"},
		{"net/http.(*conn).serve", "net/http", "(*conn).serve"},
		{"0x4f2a10", "", "0x4f2a10"},
	}
	for _, tt := range tests {
		if pkg, fn := splitFuncName(tt.name); pkg != tt.pkg || fn != tt.fn {
			t.Errorf("splitFuncName(%q) = %q, %q; want %q, %q", tt.name, pkg, fn, tt.pkg, tt.fn)
		}
	}
}

func contentionProfile() *profile.Profile {
	return buildProfile([][2]string{{"contentions", "count"}, {"delay", "nanoseconds"}}, []stack{
		{[]string{"sync.(*Mutex).Unlock", "main.(*store).put", "main.handler"}, []int64{30, 3e9}},
		{[]string{"runtime.chanrecv1", "main.worker", "runtime.goexit"}, []int64{10, 1e9}},
		{[]string{"sync.(*Mutex).Lock", "main.(*store).put"}, []int64{1, 0}},
	})
}

func TestContention(t *testing.T) {
	got := Contention(contentionProfile(), "mutex", 10)
	want := []result.Contention{
		{Function: "main.(*store).put", Kind: "mutex", DelayPct: 75, DelayS: 3, Own: true, Via: "sync.(*Mutex).Unlock"},
		{Function: "main.worker", Kind: "mutex", DelayPct: 25, DelayS: 1, Own: true, Via: "runtime.chanrecv1"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Contention = %+v, want %+v", got, want)
	}
}

func heapProfile(sites map[string]int64) *profile.Profile {
	var stacks []stack
	names := make([]string, 0, len(sites))
	for name := range sites {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		stacks = append(stacks, stack{strings.Split(name, ","), []int64{1, sites[name], 1, sites[name]}})
	}
	return buildProfile([][2]string{{"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}}, stacks)
}

func TestTopGrowth(t *testing.T) {
	const mib = 1 << 20
	start := heapProfile(map[string]int64{"main.leak,main.handler": 1 * mib, "main.cache,main.main": 4 * mib})
	end := heapProfile(map[string]int64{
		"main.leak,main.handler":                   9 * mib,
		"main.cache,main.main":                     3 * mib, // shrank: not growth
		"runtime.malg,runtime.newproc1,main.spawn": 2 * mib, // the runtime allocated for main.spawn
	})
	got := TopGrowth(start, end, 10)
	want := []result.HeapGrowth{{Function: "main.leak", MB: 8}, {Function: "main.spawn", MB: 2}}
	if !slices.Equal(got, want) {
		t.Errorf("TopGrowth = %+v, want %+v", got, want)
	}
	if got := TopGrowth(start, end, 1); len(got) != 1 || got[0].Function != "main.leak" {
		t.Errorf("TopGrowth(n=1) = %+v", got)
	}
}

func writeProfile(t *testing.T, dir, name string, p *profile.Profile) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAnalyze(t *testing.T) {
	dir := t.TempDir()
	const mib = 1 << 20
	sys := &result.System{
		Profiles: []result.Profile{
			{Kind: "heap_start", Path: writeProfile(t, dir, "heap-start.pb.gz", heapProfile(map[string]int64{"main.leak": mib}))},
			{Kind: "cpu", Path: writeProfile(t, dir, "cpu.pb.gz", buildProfile(cpuTypes, cpuStacks()))},
			{Kind: "mutex", Path: writeProfile(t, dir, "mutex.pb.gz", contentionProfile())},
			{Kind: "block", Path: filepath.Join(dir, "missing.pb.gz")},
			{Kind: "heap_end", Path: writeProfile(t, dir, "heap-end.pb.gz", heapProfile(map[string]int64{"main.leak": 5 * mib}))},
		},
		Timeline: timeline(90, false, func(t float64) float64 { return 10 + 6*t/60 }),
	}
	for i := range sys.Timeline {
		sys.Timeline[i].GCPerS = 1
		sys.Timeline[i].GCPausePct = 0.25
	}
	Analyze(sys, 15, nil)
	if len(sys.Hotspots) != 5 || sys.Hotspots[1].Function != "hot" || !sys.Hotspots[1].Own {
		t.Errorf("hotspots = %+v", sys.Hotspots)
	}
	if len(sys.Contention) != 2 || sys.Contention[0].Kind != "mutex" {
		t.Errorf("contention = %+v", sys.Contention)
	}
	if h := sys.Heap; h == nil || !h.LeakSuspected || h.Points != 75 || len(h.TopGrowth) != 1 || h.TopGrowth[0].MB != 4 {
		t.Errorf("heap = %+v", sys.Heap)
	}
	if sys.GC == nil || sys.GC.CyclesPerS != 1 || sys.GC.PausePct != 0.25 {
		t.Errorf("gc = %+v", sys.GC)
	}
	if len(sys.Warnings) != 1 || !strings.Contains(sys.Warnings[0], "block profile not analysed") {
		t.Errorf("warnings = %q, want one about the missing block profile", sys.Warnings)
	}
}
