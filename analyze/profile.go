package analyze

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/result"
)

// profileTop is how many functions Analyze keeps of each profile.
const profileTop = 10

// Hotspots returns the functions of a CPU profile with the largest shares
// of CPU time: the n largest by flat share (time in the function itself)
// and the n largest by cumulative share (time in it and what it called),
// together, ordered by flat share then cumulative share. A function is
// counted once per sample in its cumulative share, however often it
// recurs in the stack. Inlined calls count as their own functions, as
// `go tool pprof` shows them.
func Hotspots(cpuProfile *profile.Profile, n int) []result.Hotspot {
	if cpuProfile == nil || n <= 0 {
		return nil
	}
	vi := valueIndex(cpuProfile, "cpu", "samples")
	flat := map[string]int64{}
	cum := map[string]int64{}
	seen := map[string]bool{}
	type edge struct{ caller, callee string }
	calls := map[edge]int64{}
	seenEdge := map[edge]bool{}
	var frames []string
	var total int64
	for _, s := range cpuProfile.Sample {
		v := s.Value[vi]
		if v == 0 || len(s.Location) == 0 {
			continue
		}
		total += v
		flat[frameNames(s.Location[0])[0]] += v
		clear(seen)
		clear(seenEdge)
		frames = frames[:0]
		for _, loc := range s.Location {
			for _, name := range frameNames(loc) {
				frames = append(frames, name) // leaf first
				if !seen[name] {
					seen[name] = true
					cum[name] += v
				}
			}
		}
		for i := 1; i < len(frames); i++ {
			e := edge{caller: frames[i], callee: frames[i-1]}
			if e.caller != e.callee && !seenEdge[e] { // recursion counts once
				seenEdge[e] = true
				calls[e] += v
			}
		}
	}
	topCallee := map[string]string{}
	topValue := map[string]int64{}
	for e, v := range calls {
		if v > topValue[e.caller] || (v == topValue[e.caller] && e.callee < topCallee[e.caller]) {
			topValue[e.caller], topCallee[e.caller] = v, e.callee
		}
	}
	if total == 0 {
		return nil
	}
	keep := map[string]bool{}
	for _, name := range heaviestKeys(flat, n) {
		keep[name] = true
	}
	for _, name := range heaviestKeys(cum, n) {
		keep[name] = true
	}
	out := make([]result.Hotspot, 0, len(keep))
	for name := range keep {
		pkg, fn := splitFuncName(name)
		out = append(out, result.Hotspot{
			Function:     fn,
			Package:      pkg,
			FlatPct:      100 * float64(flat[name]) / float64(total),
			CumPct:       100 * float64(cum[name]) / float64(total),
			TopCallee:    topCallee[name],
			TopCalleePct: 100 * float64(topValue[name]) / float64(total),
		})
	}
	slices.SortFunc(out, func(a, b result.Hotspot) int {
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

// Contention returns the n functions of a mutex or block profile (kind
// "mutex" or "block") with the largest shares of the delay. Each sample's
// delay goes to the first function of its stack outside the runtime and
// the sync packages: the code that waited (block) or held the lock
// (mutex), not the lock's own machinery.
func Contention(p *profile.Profile, kind string, n int) []result.Contention {
	if p == nil || n <= 0 {
		return nil
	}
	vi := valueIndex(p, "delay")
	delay := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		v := s.Value[vi]
		if v <= 0 || len(s.Location) == 0 {
			continue
		}
		total += v
		delay[firstFrameOutside(s.Location, isLockMachinery)] += v
	}
	if total == 0 {
		return nil
	}
	var out []result.Contention
	for _, name := range heaviestKeys(delay, n) {
		out = append(out, result.Contention{
			Function: name,
			Kind:     kind,
			DelayPct: 100 * float64(delay[name]) / float64(total),
			DelayS:   float64(delay[name]) / 1e9, // the delay sample type is in nanoseconds
		})
	}
	return out
}

// TopGrowth returns the n allocation sites whose in-use heap grew most
// from start to end (both heap profiles, best taken after a GC). A site is
// the first function of an allocation's stack outside the runtime. A nil
// start counts as an empty heap. Sites that shrank are left out.
func TopGrowth(start, end *profile.Profile, n int) []result.HeapGrowth {
	if end == nil || n <= 0 {
		return nil
	}
	diff := map[string]int64{}
	add := func(p *profile.Profile, sign int64) {
		vi := valueIndex(p, "inuse_space")
		for _, s := range p.Sample {
			if len(s.Location) > 0 {
				diff[firstFrameOutside(s.Location, isRuntimePkg)] += sign * s.Value[vi]
			}
		}
	}
	add(end, 1)
	if start != nil {
		add(start, -1)
	}
	for name, d := range diff {
		if d <= 0 {
			delete(diff, name)
		}
	}
	var out []result.HeapGrowth
	for _, name := range heaviestKeys(diff, n) {
		out = append(out, result.HeapGrowth{Function: name, MB: float64(diff[name]) / (1 << 20)})
	}
	return out
}

// Analyze fills the analysis parts of a watched system: Hotspots from the
// CPU profile, Contention from the mutex and block profiles, Heap from the
// timeline after steadyFrom (seconds since run start) and the heap
// profiles' growth, GC from the timeline after steadyFrom. A profile that
// cannot be read becomes a warning in sys.Warnings. It replaces what an
// earlier call filled.
func Analyze(sys *result.System, steadyFrom float64) {
	if sys == nil {
		return
	}
	read := func(kind string) *profile.Profile {
		var path string
		for _, p := range sys.Profiles {
			if p.Kind == kind {
				path = p.Path
			}
		}
		if path == "" {
			return nil
		}
		p, err := readProfileFile(path)
		if err != nil {
			sys.Warnings = append(sys.Warnings, fmt.Sprintf("%s profile not analysed: %v", kind, err))
			return nil
		}
		return p
	}
	sys.Hotspots = Hotspots(read("cpu"), profileTop)
	sys.Contention = nil
	for _, kind := range []string{"mutex", "block"} {
		sys.Contention = append(sys.Contention, Contention(read(kind), kind, profileTop)...)
	}
	sys.Heap = HeapTrend(sys.Timeline, steadyFrom)
	if top := TopGrowth(read("heap_start"), read("heap_end"), profileTop); len(top) > 0 {
		if sys.Heap == nil {
			sys.Heap = &result.Heap{}
		}
		sys.Heap.TopGrowth = top
	}
	var steady []result.SystemPoint
	for _, p := range sys.Timeline {
		if p.TS >= steadyFrom {
			steady = append(steady, p)
		}
	}
	sys.GC = GC(steady)
}

func readProfileFile(path string) (*profile.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("cannot parse %s: %w", path, err)
	}
	return p, nil
}

// valueIndex is the index of the first sample type named in types, else
// of the profile's default sample type, else the last.
func valueIndex(p *profile.Profile, types ...string) int {
	for _, t := range types {
		for i, st := range p.SampleType {
			if st.Type == t {
				return i
			}
		}
	}
	for i, st := range p.SampleType {
		if st.Type == p.DefaultSampleType {
			return i
		}
	}
	return max(0, len(p.SampleType)-1)
}

// frameNames are the functions of one location, innermost inlined call
// first, never empty.
func frameNames(loc *profile.Location) []string {
	if len(loc.Line) == 0 {
		return []string{fmt.Sprintf("0x%x", loc.Address)}
	}
	names := make([]string, len(loc.Line))
	for i, l := range loc.Line {
		if l.Function != nil {
			names[i] = l.Function.Name
		} else {
			names[i] = fmt.Sprintf("0x%x", loc.Address)
		}
	}
	return names
}

// firstFrameOutside is the first function from the leaf that skip does not
// reject; the leaf when it rejects them all.
func firstFrameOutside(stack []*profile.Location, skip func(pkg string) bool) string {
	leaf := ""
	for _, loc := range stack {
		for _, name := range frameNames(loc) {
			if leaf == "" {
				leaf = name
			}
			if pkg, _ := splitFuncName(name); !skip(pkg) {
				return name
			}
		}
	}
	return leaf
}

func isRuntimePkg(pkg string) bool {
	return pkg == "runtime" || strings.HasPrefix(pkg, "runtime/") || strings.HasPrefix(pkg, "internal/")
}

func isLockMachinery(pkg string) bool {
	return isRuntimePkg(pkg) || pkg == "sync" || pkg == "sync/atomic"
}

// splitFuncName splits a Go symbol name into its package path and the name
// within the package: "github.com/a/b.(*T).M" gives "github.com/a/b" and
// "(*T).M". The package ends at the first dot after the last slash (dots in
// the last path element are escaped as %2e in symbol names); the slash is
// looked for before any type parameter list, whose types may hold slashes
// of their own. Names that are not Go symbols give an empty package.
func splitFuncName(name string) (pkg, fn string) {
	head := name
	if i := strings.IndexByte(head, '['); i >= 0 {
		head = head[:i]
	}
	slash := strings.LastIndexByte(head, '/')
	dot := strings.IndexByte(head[slash+1:], '.')
	if dot < 0 {
		return "", name
	}
	dot += slash + 1
	return strings.ReplaceAll(name[:dot], "%2e", "."), name[dot+1:]
}

// heaviestKeys returns the n keys of m with the largest values, largest first,
// ties broken by key so that the result is stable.
func heaviestKeys(m map[string]int64, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return keys[:min(n, len(keys))]
}
