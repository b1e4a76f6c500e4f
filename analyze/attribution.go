package analyze

import (
	"cmp"
	"slices"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/result"
)

// stackSet is a CPU profile reduced to what attribution needs: each
// sample's functions, leaf first (inlined calls as their own frames),
// interned, and its value. Samples of the watch's own requests (serving
// profiles and metrics; observerFrames) are left out: they are the
// measurement's cost, not the program's.
type stackSet struct {
	names  []string
	own    []bool
	stacks [][]int32
	values []int64
	total  int64
	// serving marks the stacks of a goroutine serving a request (a
	// requestMarkers frame on it).
	serving []bool
}

func readStacks(p *profile.Profile, oc ownCode) *stackSet {
	vi := valueIndex(p, "cpu", "samples")
	cs := &stackSet{}
	ids := map[string]int32{}
	intern := func(name, file string) int32 {
		if id, ok := ids[name]; ok {
			return id
		}
		id := int32(len(cs.names))
		ids[name] = id
		cs.names = append(cs.names, name)
		cs.own = append(cs.own, oc.own(name, file))
		return id
	}
	for _, s := range p.Sample {
		v := s.Value[vi]
		if v == 0 || len(s.Location) == 0 {
			continue
		}
		var st []int32
		serving := false
		for _, loc := range s.Location {
			names := frameNames(loc)
			for i, name := range names {
				serving = serving || slices.Contains(requestMarkers, name)
				file := ""
				if i < len(loc.Line) && loc.Line[i].Function != nil {
					file = loc.Line[i].Function.Filename
				}
				st = append(st, intern(name, file))
			}
		}
		if slices.ContainsFunc(st, func(id int32) bool { return isObserverFrame(cs.names[id]) }) {
			continue // the watch's own requests: profiles, metrics
		}
		cs.stacks = append(cs.stacks, st)
		cs.serving = append(cs.serving, serving)
		cs.values = append(cs.values, v)
		cs.total += v
	}
	return cs
}

// Attribute returns the functions of a CPU profile worth naming, as
// Hotspots does, told apart into the program's own code (see ownCode;
// m is the build information, nil to tell by file names) and the rest.
// Kept are the n own functions with the largest cumulative shares and
// the n largest functions by flat and by cumulative share; own functions
// come first, by cumulative share, the others after, by flat share. Each
// own function carries the heaviest path below it, and the share of the
// samples where other own code runs below it; each other function the
// own functions nearest above it.
func Attribute(p *profile.Profile, m *result.Module, n int) []result.Hotspot {
	if p == nil || n <= 0 {
		return nil
	}
	cs := readStacks(p, newOwnCode(m))
	return cs.hotspots(n)
}

func (cs *stackSet) pct(v int64) float64 { return 100 * float64(v) / float64(cs.total) }

// requestPct is the share of the samples taken while serving a request.
func (cs *stackSet) requestPct() float64 {
	if cs.total == 0 {
		return 0
	}
	var v int64
	for i, s := range cs.serving {
		if s {
			v += cs.values[i]
		}
	}
	return cs.pct(v)
}

func (cs *stackSet) hotspots(n int) []result.Hotspot {
	if cs.total == 0 {
		return nil
	}
	k := len(cs.names)
	flat := make([]int64, k)
	cum := make([]int64, k)
	ownBelow := make([]int64, k)
	inReq := make([]int64, k)
	seen := make([]int, k) // the sample index+1 that last counted the function
	seenBelow := make([]int, k)
	type edge struct{ caller, callee int32 }
	calls := map[edge]int64{}
	seenEdge := map[edge]bool{}
	for si, st := range cs.stacks {
		v := cs.values[si]
		flat[st[0]] += v
		clear(seenEdge)
		// ownDeeper counts the distinct own functions seen so far (below
		// the frame being looked at); first is the first of them.
		ownDeeper, first := 0, int32(-1)
		for i, f := range st {
			if seen[f] != si+1 {
				seen[f] = si + 1
				cum[f] += v
				if cs.serving[si] {
					inReq[f] += v
				}
			}
			if seenBelow[f] != si+1 && (ownDeeper > 1 || (ownDeeper == 1 && first != f)) {
				seenBelow[f] = si + 1
				ownBelow[f] += v
			}
			if cs.own[f] && !slices.Contains(st[:i], f) {
				if ownDeeper == 0 {
					first = f
				}
				ownDeeper++
			}
			if i > 0 {
				e := edge{caller: f, callee: st[i-1]}
				if e.caller != e.callee && !seenEdge[e] {
					seenEdge[e] = true
					calls[e] += v
				}
			}
		}
	}
	topCallee := make([]int32, k)
	topValue := make([]int64, k)
	for i := range topCallee {
		topCallee[i] = -1
	}
	for e, v := range calls {
		t := topCallee[e.caller]
		if v > topValue[e.caller] || (v == topValue[e.caller] && (t < 0 || cs.names[e.callee] < cs.names[t])) {
			topValue[e.caller], topCallee[e.caller] = v, e.callee
		}
	}

	keep := map[int32]bool{}
	all := make([]int32, k)
	for i := range all {
		all[i] = int32(i)
	}
	heaviest := func(by []int64, only func(int32) bool) {
		ids := slices.Clone(all)
		ids = slices.DeleteFunc(ids, func(i int32) bool { return by[i] == 0 || (only != nil && !only(i)) })
		slices.SortFunc(ids, func(a, b int32) int {
			if c := cmp.Compare(by[b], by[a]); c != 0 {
				return c
			}
			return strings.Compare(cs.names[a], cs.names[b])
		})
		for _, i := range ids[:min(n, len(ids))] {
			keep[i] = true
		}
	}
	heaviest(flat, nil)
	heaviest(cum, nil)
	heaviest(cum, func(i int32) bool { return cs.own[i] })

	out := make([]result.Hotspot, 0, len(keep))
	for f := range keep {
		pkg, fn := splitFuncName(cs.names[f])
		h := result.Hotspot{
			Function:    fn,
			Package:     pkg,
			FlatPct:     cs.pct(flat[f]),
			CumPct:      cs.pct(cum[f]),
			Own:         cs.own[f],
			OwnBelowPct: cs.pct(ownBelow[f]),
			RequestPct:  cs.pct(inReq[f]),
		}
		if t := topCallee[f]; t >= 0 {
			h.TopCallee, h.TopCalleePct = cs.names[t], cs.pct(topValue[f])
		}
		if h.Own {
			h.Path = cs.pathBelow(f, cum[f])
		} else {
			h.Callers = cs.ownCallers(func(id int32) bool { return id == f }, 3)
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b result.Hotspot) int {
		if a.Own != b.Own {
			if a.Own {
				return -1
			}
			return 1
		}
		if a.Own {
			if c := cmp.Compare(b.CumPct, a.CumPct); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(b.FlatPct, a.FlatPct); c != 0 {
			return c
		}
		if c := cmp.Compare(b.CumPct, a.CumPct); c != 0 {
			return c
		}
		return cmp.Compare(a.Package+"."+a.Function, b.Package+"."+b.Function)
	})
	return out
}

// Limits of a path below a function.
const (
	pathSteps  = 6    // functions shown
	pathNarrow = 0.5  // a step must keep this share of the one before
	pathFirst  = 0.1  // the first step must keep this share of the function's time
	pathLeast  = 0.01 // nor fall below this share of all samples
)

// pathBelow follows the heaviest callee from function f down, as long as
// one callee keeps most of the time (pathNarrow), and shortens the path
// to the functions that tell where the time goes: the direct callee,
// each function where the path enters another package (the API called),
// the allocator, and the last.
func (cs *stackSet) pathBelow(f int32, fcum int64) []result.CallShare {
	type sub struct {
		frames []int32 // below f, callee of f first
		v      int64
	}
	var subs []sub
	for si, st := range cs.stacks {
		i := slices.Index(st, f) // the innermost call of f
		if i <= 0 {
			continue
		}
		below := slices.Clone(st[:i])
		slices.Reverse(below)
		subs = append(subs, sub{below, cs.values[si]})
	}
	var path []int32
	var weights []int64
	prev := fcum
	for depth := 0; depth < 64; depth++ {
		w := map[int32]int64{}
		for _, s := range subs {
			if len(s.frames) > depth {
				w[s.frames[depth]] += s.v
			}
		}
		best, bv := int32(-1), int64(0)
		for id, v := range w {
			if v > bv || (v == bv && best >= 0 && cs.names[id] < cs.names[best]) {
				best, bv = id, v
			}
		}
		least := int64(float64(prev) * pathNarrow)
		if depth == 0 {
			least = int64(float64(fcum) * pathFirst)
		}
		if best < 0 || bv < least || float64(bv) < pathLeast*float64(cs.total) {
			break
		}
		path = append(path, best)
		weights = append(weights, bv)
		prev = bv
		subs = slices.DeleteFunc(subs, func(s sub) bool { return len(s.frames) <= depth || s.frames[depth] != best })
	}
	var out []result.CallShare
	for i, id := range path {
		pkg, _ := splitFuncName(cs.names[id])
		keep := i == 0 || i == len(path)-1 || cs.names[id] == mallocgc
		if !keep {
			prevPkg, _ := splitFuncName(cs.names[path[i-1]])
			keep = pkg != prevPkg
		}
		if keep {
			out = append(out, result.CallShare{Function: cs.names[id], Pct: cs.pct(weights[i]), Own: cs.own[id]})
		}
	}
	if len(out) > pathSteps { // the first steps and the end
		out = append(out[:pathSteps-1], out[len(out)-1])
	}
	return out
}

// ownCallers sums, over the samples where a function that is(id) runs,
// the own function nearest above its innermost such frame, and returns
// the top ones, heaviest first. Samples with no own function above go
// nowhere.
func (cs *stackSet) ownCallers(is func(int32) bool, top int) []result.CallShare {
	by := map[int32]int64{}
	for si, st := range cs.stacks {
		i := slices.IndexFunc(st, is)
		if i < 0 {
			continue
		}
		for _, f := range st[i+1:] {
			if cs.own[f] && !isPlumbingName(cs.names[f]) {
				by[f] += cs.values[si]
				break
			}
		}
	}
	ids := make([]int32, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int32) int {
		if c := cmp.Compare(by[b], by[a]); c != 0 {
			return c
		}
		return strings.Compare(cs.names[a], cs.names[b])
	})
	var out []result.CallShare
	for _, id := range ids[:min(top, len(ids))] {
		out = append(out, result.CallShare{Function: cs.names[id], Pct: cs.pct(by[id]), Own: true})
	}
	return out
}

func isPlumbingName(name string) bool {
	pkg, fn := splitFuncName(name)
	return isPlumbing(pkg, fn)
}

// The allocator, and the runtime's garbage-collection work: what a
// program that allocates less spends less CPU on.
const mallocgc = "runtime.mallocgc"

// idleMarkWorker is the collector's mark worker in its idle mode: run
// only on a processor that has no goroutine to run.
const idleMarkWorker = "runtime.gcDrainMarkWorkerIdle"

func isGCWork(name string) bool {
	switch name {
	case "runtime.gcBgMarkWorker", "runtime.gcDrain", "runtime.gcDrainN", "runtime.gcDrainMarkWorkerIdle",
		"runtime.gcDrainMarkWorkerDedicated", "runtime.gcDrainMarkWorkerFractional",
		"runtime.scanobject", "runtime.scanblock", "runtime.scanstack", "runtime.markroot", "runtime.greyobject",
		"runtime.gcAssistAlloc", "runtime.gcAssistAlloc1", "runtime.gcMarkDone", "runtime.gcMarkTermination",
		"runtime.gcStart", "runtime.bgsweep", "runtime.sweepone", "runtime.bgscavenge", "runtime.wbBufFlush",
		"runtime.wbBufFlush1", "runtime.gcFlushBgCredit":
		return true
	}
	return strings.HasPrefix(name, "runtime.(*gcWork).") || strings.HasPrefix(name, "runtime.(*sweepLocked).") ||
		strings.HasPrefix(name, "runtime.(*gcControllerState).")
}

// allocCPU is the share of CPU samples in allocation and in garbage
// collection work, and the own functions nearest above the allocator.
// Marking by idle-mode workers is counted apart: it is what the
// collector does with processors nothing else wanted.
func (cs *stackSet) allocCPU() *result.AllocPressure {
	if cs.total == 0 {
		return nil
	}
	var malloc, gcWork, either, idle int64
	for si, st := range cs.stacks {
		m, g, i := false, false, false
		for _, f := range st {
			name := cs.names[f]
			m = m || name == mallocgc
			g = g || isGCWork(name)
			i = i || name == idleMarkWorker
		}
		v := cs.values[si]
		if i {
			// Marking on a processor with nothing else to do: the
			// collector fills idle time and delays no request.
			idle += v
			continue
		}
		if m {
			malloc += v
		}
		if g {
			gcWork += v
		}
		if m || g {
			either += v
		}
	}
	a := &result.AllocPressure{CPUPct: cs.pct(either), MallocPct: cs.pct(malloc), GCWorkPct: cs.pct(gcWork), IdleMarkPct: cs.pct(idle)}
	a.CPUCallers = cs.ownCallers(func(id int32) bool { return cs.names[id] == mallocgc }, 3)
	return a
}

// allocSites returns the top functions by bytes allocated between two
// heap profiles (alloc_space; a nil start counts as nothing allocated
// yet): each allocation goes to the nearest own frame of its stack, else
// to its first frame outside the runtime.
func allocSites(start, end *profile.Profile, oc ownCode, top int) ([]result.AllocSite, float64) {
	if end == nil {
		return nil, 0
	}
	by := map[string]int64{}
	own := map[string]bool{}
	add := func(p *profile.Profile, sign int64) {
		vi := -1
		for i, st := range p.SampleType {
			if st.Type == "alloc_space" {
				vi = i
			}
		}
		if vi < 0 {
			return
		}
		for _, s := range p.Sample {
			if len(s.Location) == 0 || s.Value[vi] == 0 {
				continue
			}
			site, isOwn := allocSite(s.Location, oc)
			by[site] += sign * s.Value[vi]
			own[site] = isOwn
		}
	}
	add(end, 1)
	if start != nil {
		add(start, -1)
	}
	var total int64
	for k, v := range by {
		if v <= 0 {
			delete(by, k)
			continue
		}
		total += v
	}
	if total == 0 {
		return nil, 0
	}
	var out []result.AllocSite
	for _, name := range heaviestKeys(by, top) {
		out = append(out, result.AllocSite{Function: name, Own: own[name], MB: float64(by[name]) / (1 << 20), Pct: 100 * float64(by[name]) / float64(total)})
	}
	return out, float64(total) / (1 << 20)
}

// allocSite is the nearest own frame of an allocation's stack, else its
// first frame outside the runtime.
func allocSite(stack []*profile.Location, oc ownCode) (string, bool) {
	for _, loc := range stack {
		for i, name := range frameNames(loc) {
			file := ""
			if i < len(loc.Line) && loc.Line[i].Function != nil {
				file = loc.Line[i].Function.Filename
			}
			if oc.own(name, file) && !isPlumbingName(name) {
				return name, true
			}
		}
	}
	return firstFrameOutside(stack, isRuntimePkg), false
}
