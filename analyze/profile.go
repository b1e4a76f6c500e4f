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
// of CPU time, as Attribute does with own code told from the rest by
// the profile's file names alone. A function is counted once per sample
// in its cumulative share, however often it recurs in the stack.
// Inlined calls count as their own functions, as `go tool pprof` shows
// them.
func Hotspots(cpuProfile *profile.Profile, n int) []result.Hotspot {
	return Attribute(cpuProfile, nil, n)
}

// Contention returns the n functions of a mutex or block profile (kind
// "mutex" or "block") with the largest shares of the delay, own code
// told from the rest by file names; see contention.
func Contention(p *profile.Profile, kind string, n int) []result.Contention {
	return contention(p, kind, n, ownCode{})
}

// contention gives each sample's delay to the code that held the lock
// (mutex) or waited (block): the nearest own function of its stack,
// walking up from the lock through the runtime, sync and any library
// that took the lock for it (Via is the function it called). A stack
// with no own function goes to its first frame outside the lock
// primitives: the library or runtime code that took the lock.
func contention(p *profile.Profile, kind string, n int, oc ownCode) []result.Contention {
	if p == nil || n <= 0 {
		return nil
	}
	vi := valueIndex(p, "delay")
	delay := map[string]int64{}
	own := map[string]bool{}
	via := map[[2]string]int64{}
	var total int64
	for _, s := range p.Sample {
		v := s.Value[vi]
		if v <= 0 || len(s.Location) == 0 {
			continue
		}
		total += v
		fn, callee, isOwn := lockHolder(s.Location, oc)
		delay[fn] += v
		own[fn] = isOwn
		if callee != "" {
			via[[2]string{fn, callee}] += v
		}
	}
	if total == 0 {
		return nil
	}
	var out []result.Contention
	for _, name := range heaviestKeys(delay, n) {
		c := result.Contention{
			Function: name,
			Kind:     kind,
			DelayPct: 100 * float64(delay[name]) / float64(total),
			DelayS:   float64(delay[name]) / 1e9, // the delay sample type is in nanoseconds
			Own:      own[name],
		}
		var best int64
		for k, v := range via {
			if k[0] == name && (v > best || (v == best && k[1] < c.Via)) {
				c.Via, best = k[1], v
			}
		}
		out = append(out, c)
	}
	return out
}

// lockHolder is the function a lock's delay belongs to (see contention),
// the function it called on the way to the lock ("" when it is the
// leaf) and whether it is own code.
func lockHolder(stack []*profile.Location, oc ownCode) (fn, callee string, own bool) {
	frames, files := stackFrames(stack)
	below := func(i int) string {
		if i == 0 {
			return ""
		}
		return frames[i-1]
	}
	for i, name := range frames {
		if oc.own(name, files[i]) && !isPlumbingName(name) {
			return name, below(i), true
		}
	}
	for i, name := range frames {
		if !isLockPrimitive(name) {
			return name, below(i), false
		}
	}
	return frames[0], "", false
}

// isLockPrimitive reports the functions that take, release or wait for
// a lock: the sync package and the runtime's own locks and queues.
func isLockPrimitive(name string) bool {
	pkg, fn := splitFuncName(name)
	switch pkg {
	case "sync", "sync/atomic", "internal/sync":
		return true
	case "runtime":
		fn = strings.TrimSuffix(fn, "2")
		switch fn {
		case "lock", "unlock", "lockWithRank", "unlockWithRank", "semacquire1", "semrelease1", "semacquire", "semrelease",
			"(*lockTimer).end", "(*mLockProfile).recordUnlock", "(*mLockProfile).store", "mutexevent", "blockevent", "saveblockevent",
			"notesleep", "notewakeup", "futexsleep", "futexwakeup", "futex", "goparkunlock", "gopark", "park_m", "mcall":
			return true
		}
		return strings.HasPrefix(fn, "sync_runtime_") || strings.HasPrefix(fn, "(*lockTimer)") || strings.HasPrefix(fn, "(*mLockProfile)")
	}
	return false
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
// CPU profile, Contention from the mutex and block profiles, Waits from
// the goroutine snapshots (SetWaitRates adds the time per request), Heap from the
// timeline after steadyFrom (seconds since run start), measured against
// the requests of the run's windows (series, on the same clock; nil when
// there are none), and the heap profiles' growth, GC from the timeline
// after steadyFrom. A profile that cannot be read becomes a warning in
// sys.Warnings. It replaces what an earlier call filled.
func Analyze(sys *result.System, steadyFrom float64, series []result.Window) {
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
	cpu := read("cpu")
	if sys.Module == nil || strings.HasPrefix(sys.Module.Source, "file names") {
		sys.Module = moduleOf(sys, cpu)
	}
	if sys.Module == nil && cpu != nil {
		sys.Module = &result.Module{Source: "file names"}
	}
	oc := newOwnCode(sys.Module)
	sys.Hotspots, sys.Alloc, sys.RequestCPUPct, sys.CPUProfileCoverage, sys.CPUSamples = nil, nil, 0, 0, 0
	if cpu != nil {
		sys.CPUSamples = sampleCount(cpu)
		st := readStacks(cpu, oc)
		sys.Hotspots = st.hotspots(profileTop)
		sys.Alloc = st.allocCPU()
		sys.RequestCPUPct = st.requestPct()
		for _, p := range sys.Profiles {
			if p.Kind == "cpu" {
				sys.CPUProfileCoverage = round2(profileCoverage(cpu, sys.Timeline, sys.IntervalS, p.TS, p.DurationS))
			}
		}
	}
	sys.Goroutines = goroutineTrend(sys.Timeline, steadyFrom, read("goroutines_start"), read("goroutines_end"), oc)
	sys.Waits = nil
	for _, p := range sys.Profiles {
		if p.Kind == "goroutines" {
			sys.Waits = requestWaits(read("goroutines"), p.Snapshots, p.DurationS, oc)
		}
	}
	heapStart, heapEnd := read("heap_start"), read("heap_end")
	if sites, mb := allocSites(heapStart, heapEnd, oc, profileTop); len(sites) > 0 {
		if sys.Alloc == nil {
			sys.Alloc = &result.AllocPressure{}
		}
		sys.Alloc.Sites, sys.Alloc.AllocMB = sites, mb
	}
	sys.Contention = nil
	for _, kind := range []string{"mutex", "block"} {
		sys.Contention = append(sys.Contention, contention(read(kind), kind, profileTop, oc)...)
	}
	sys.Heap = HeapTrend(sys.Timeline, steadyFrom, series)
	if top := TopGrowth(heapStart, heapEnd, profileTop); len(top) > 0 {
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

// stackFrames is a stack's function names, leaf first (inlined calls as
// frames of their own), with each one's source file ("" when unknown).
func stackFrames(stack []*profile.Location) (frames, files []string) {
	for _, loc := range stack {
		for i, name := range frameNames(loc) {
			file := ""
			if i < len(loc.Line) && loc.Line[i].Function != nil {
				file = loc.Line[i].Function.Filename
			}
			frames, files = append(frames, name), append(files, file)
		}
	}
	return frames, files
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
