package watch_test

// These tests watch real processes: the program in testdata/leaky, built
// once by TestMain and started per test on a loopback port. The load is a
// plain loop of requests; what is asserted is what the watch and the
// analysis make of it.

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/internal/racedetect"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/watch"
)

// leakyBin is the built test target.
var leakyBin string

func TestMain(m *testing.M) { os.Exit(buildAndRun(m)) }

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "stampede-watch-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	leakyBin = filepath.Join(dir, "stampede-leaky")
	build := exec.Command(goBin, "build", "-o", leakyBin, "./testdata/leaky")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "cannot build the test target: %v\n", err)
		return 1
	}
	return m.Run()
}

// child is a running test target.
type child struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	pid  int
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	return startCmd(t, exec.Command(leakyBin, args...))
}

// startCmd starts cmd, which runs the test target (through a wrapper that
// execs it, such as taskset), and waits for it to listen.
func startCmd(t *testing.T, cmd *exec.Cmd) *child {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		base, ok := strings.CutPrefix(strings.TrimSpace(s), "listening on ")
		if !ok {
			t.Fatalf("test target said %q", s)
		}
		return &child{cmd: cmd, base: base, pid: cmd.Process.Pid}
	case <-time.After(10 * time.Second):
		t.Fatal("test target did not start")
	}
	return nil
}

// drive sends n requests to /work, conc at a time, and fails the test on
// any error.
func drive(t *testing.T, base string, n, conc int) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, conc)
	errs := make(chan error, 1)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := get(base + "/work"); err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

func get(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// clock is the injected clock of the manual tests: each sample is one
// second of run time, however long the load between samples really took.
type clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// manualRun watches what spec names for ticks samples one second of run
// time apart on an injected clock, calling load(i) before sample i.
func manualRun(t *testing.T, spec *plan.System, ticks int, load func(i int)) (*result.System, string) {
	t.Helper()
	dir := t.TempDir()
	clk := &clock{now: t0}
	ctx := context.Background()
	w, err := watch.Start(ctx, spec, watch.Options{Start: t0, Now: clk.Now, Dir: dir, Manual: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= ticks; i++ {
		load(i)
		at := t0.Add(time.Duration(i) * time.Second)
		clk.set(at)
		w.SampleAt(ctx, at)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return w.Stop(stopCtx), dir
}

func fullSpec(c *child, metrics ...string) *plan.System {
	return &plan.System{
		Process:    &plan.ProcessRef{PID: int32(c.pid)},
		Prometheus: &plan.PrometheusSpec{URL: c.base + "/metrics", Metrics: metrics},
		Pprof:      c.base + "/debug/pprof",
	}
}

func profilesOf(sys *result.System) map[string]string {
	m := map[string]string{}
	for _, p := range sys.Profiles {
		m[p.Kind] = p.Path
	}
	return m
}

// TestLeakVerdicts runs the target as a leaking service (64 KiB retained
// and 512 KiB of garbage per request), as stateless ones (garbage only:
// much, so that the collector runs every second or two, or little, so
// that it never completes a cycle within the run), and as a cache that
// fills 8 MB in its first seconds and then stops, twice each, under the
// same load: 20 requests per second for 40 s of run time. Each exposes
// client_golang's default Go series, or those and the opt-in live heap.
// The leak must be suspected every time, with the planted function at
// the top of the heap growth; the others never, and the target that
// completes no cycle is inconclusive for that reason.
func TestLeakVerdicts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the target sixteen times, about 15 s; skipped with -short")
	}
	racedetect.Skip(t, "sixteen runs of a real target: run once, without the detector's slowdown")
	type variant struct {
		name    string
		args    []string
		verdict string // "" when anything but leak_suspected will do
		reason  string
	}
	var variants []variant
	for _, rm := range []bool{false, true} {
		extra := []string{}
		if rm {
			extra = []string{"-runtime-metrics"}
		}
		variants = append(variants,
			variant{"leak", append([]string{"-leak", "65536", "-garbage", "524288"}, extra...), result.HeapLeakSuspected, ""},
			variant{"stateless", append([]string{"-garbage", "524288"}, extra...), "", ""},
			variant{"stateless, no GC cycle", append([]string{"-garbage", "1024"}, extra...), result.HeapInconclusive, "too few completed GC cycles"},
			variant{"cache", append([]string{"-cache", "8388608", "-garbage", "524288"}, extra...), "", ""},
		)
	}
	for rep := range 2 {
		for _, v := range variants {
			t.Run(fmt.Sprintf("%s %v/%d", v.name, v.args, rep), func(t *testing.T) {
				c := startChild(t, v.args...)
				sys, _ := manualRun(t, fullSpec(c, "leaky_requests_total"), 40, func(int) { drive(t, c.base, 20, 4) })
				analyze.Analyze(sys, 5, nil)

				if len(sys.Timeline) != 40 {
					t.Fatalf("%d points, want 40", len(sys.Timeline))
				}
				for i, p := range sys.Timeline {
					// Exactly 20 requests between two samples one second apart.
					if got := p.Metrics[`leaky_requests_total{code="200"}`]; got != 20 || p.TS != float64(i) {
						t.Errorf("point %d at %v s: request rate %v, want 20/s", i, p.TS, got)
					}
					if p.HeapMB <= 0 || p.Goroutines <= 0 || p.RSSMB <= 0 || p.Threads <= 0 || p.FDs <= 0 || p.GCCycles <= 0 {
						t.Errorf("point %d lacks data: %+v", i, p)
					}
				}
				h := sys.Heap
				if h == nil {
					t.Fatal("no heap analysis")
				}
				t.Logf("heap %s: %s (%s); %.1f → %.1f MB, %.2f MB/min [%.2f, %.2f], p %.2g, %d cycles, halves %.2f, %.2f; top growth %+v",
					h.Source, h.Verdict, h.VerdictReason, h.StartMB, h.EndMB, h.GrowthMBPerMin, h.GrowthCILow, h.GrowthCIHigh, h.PValue, h.GCCycles,
					h.Half1MBPerMin, h.Half2MBPerMin, h.TopGrowth)
				switch {
				case v.verdict != "" && h.Verdict != v.verdict:
					t.Errorf("verdict %s (%s), want %s", h.Verdict, h.VerdictReason, v.verdict)
				case v.verdict == "" && h.Verdict == result.HeapLeakSuspected:
					t.Errorf("leak suspected in a target without a leak: %s", h.VerdictReason)
				case !strings.Contains(h.VerdictReason, v.reason):
					t.Errorf("reason %q, want it to say %q", h.VerdictReason, v.reason)
				}
				if h.LeakSuspected != (h.Verdict == result.HeapLeakSuspected) {
					t.Errorf("leak_suspected %v with verdict %s", h.LeakSuspected, h.Verdict)
				}
				if h.Verdict == result.HeapLeakSuspected && h.Source != result.HeapSourceLive && h.Source != result.HeapSourceGoal {
					t.Errorf("a leak suspected from %s, not from the live heap", h.Source)
				}
				profiles := profilesOf(sys)
				if profiles["heap_start"] == "" || profiles["heap_end"] == "" || profiles["mutex"] != "" || profiles["block"] != "" {
					t.Errorf("profiles = %v: want both heaps, and no mutex or block profile (not enabled)", profiles)
				}
				if v.name == "leak" {
					// 40 × 20 × 64 KiB = 50 MB retained, 75 MB/min.
					if h.GrowthMBPerMin < 50 || h.GrowthMBPerMin > 100 {
						t.Errorf("growth %v MB/min, want about 75", h.GrowthMBPerMin)
					}
					// The profile samples about one 64 KiB allocation in
					// eight: its estimate of the 50 MB is good to ±10%.
					if len(h.TopGrowth) == 0 || h.TopGrowth[0].Function != "main.(*server).retainLeak" || h.TopGrowth[0].MB < 30 {
						t.Errorf("top growth %+v, want main.(*server).retainLeak with about 50 MB", h.TopGrowth)
					}
				} else if v.name != "cache" && len(h.TopGrowth) > 0 && h.TopGrowth[0].MB > 5 {
					t.Errorf("target without a leak grew %+v", h.TopGrowth)
				}
				if len(sys.Warnings) != 0 {
					t.Errorf("warnings: %q", sys.Warnings)
				}
			})
		}
	}
}

// TestHotspotAtPeak runs on the real clock: samples every 250 ms, the CPU
// profile taken at the peak for 2 s, load from a loop of requests that
// keeps about one core of the target busy (leaving the other to the
// samples and to whoever else shares the machine).
func TestHotspotAtPeak(t *testing.T) {
	c := startChild(t, "-hot", "2000000")
	spec := &plan.System{
		Process:    &plan.ProcessRef{PID: int32(c.pid)},
		Pprof:      c.base,
		Interval:   plan.Duration(250 * time.Millisecond),
		CPUProfile: plan.Duration(5 * time.Second), // cut to what is left of the run
	}
	start := time.Now()
	const runFor = 3 * time.Second
	w, err := watch.Start(context.Background(), spec, watch.Options{Start: start, Duration: runFor, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(start.Add(time.Second))) // the peak comes 1 s in
	w.MarkPeak()
	for time.Since(start) < runFor {
		if err := get(c.base + "/work"); err != nil {
			t.Fatal(err)
		}
	}
	sys := w.Stop(context.Background())
	analyze.Analyze(sys, 0, nil)

	var cpu *result.Profile
	for i := range sys.Profiles {
		if sys.Profiles[i].Kind == "cpu" {
			cpu = &sys.Profiles[i]
		}
	}
	if cpu == nil || cpu.DurationS != 2 || cpu.TS < 0.9 || cpu.TS > 1.5 {
		t.Fatalf("cpu profile %+v, want one of 2 s (the 2 s left of the run) from about 1 s", cpu)
	}
	if _, err := readProfile(cpu.Path); err != nil {
		t.Fatal(err)
	}
	// Goroutine snapshots beside the CPU profile: every 100 ms of its 2 s
	// (some may be missed on a busy machine), and the request loop's
	// handler seen computing most of the time.
	var snaps *result.Profile
	for i := range sys.Profiles {
		if sys.Profiles[i].Kind == "goroutines" {
			snaps = &sys.Profiles[i]
		}
	}
	if snaps == nil || snaps.Snapshots < 5 || snaps.Snapshots > 20 {
		t.Fatalf("goroutine snapshots %+v, want 5 to 20 over the CPU profile's 2 s", snaps)
	}
	// (A snapshot preempts a computing goroutine in the runtime, where
	// the text form cannot tell it from one waiting on a channel.)
	if w := sys.Waits; w == nil || w.Observations == 0 || (w.States[0].State != analyze.WaitCPU && w.States[0].State != analyze.WaitRuntime) ||
		w.States[0].Pct < 50 || w.States[0].Sites[0].Function != "main.hotspotBurnCPU" {
		t.Errorf("waits %+v, want the handler mostly computing in main.hotspotBurnCPU", sys.Waits)
	}
	// Hotspots list own code first by cumulative share; by flat share the
	// planted function is the top one.
	if len(sys.Hotspots) == 0 {
		t.Fatal("no hotspots")
	}
	if top := slices.MaxFunc(sys.Hotspots, func(a, b result.Hotspot) int { return cmp.Compare(a.FlatPct, b.FlatPct) }); top.Package != "main" || top.Function != "hotspotBurnCPU" || !top.Own {
		t.Fatalf("top flat hotspot %+v, want main.hotspotBurnCPU (own)", top)
	}
	// By cumulative share the planted function is at least the second of
	// the program's own code: the handler that calls it, main.(*server).work,
	// contains all of its time and a little more. The frames of the runtime
	// and of net/http above the handler hold even more and are not the
	// program's code, so they are left out of this ranking.
	own := slices.DeleteFunc(slices.Clone(sys.Hotspots), func(h result.Hotspot) bool {
		return h.Package == "runtime" || strings.HasPrefix(h.Package, "net") || strings.HasPrefix(h.Package, "internal/")
	})
	slices.SortFunc(own, func(a, b result.Hotspot) int { return int(b.CumPct*1000) - int(a.CumPct*1000) })
	rank := slices.IndexFunc(own, func(h result.Hotspot) bool { return h.Function == "hotspotBurnCPU" })
	if rank < 0 || rank > 2 {
		t.Errorf("main.hotspotBurnCPU ranks %d by cumulative share among %+v", rank+1, own)
	}
	t.Logf("hotspots: %+v", sys.Hotspots[:min(4, len(sys.Hotspots))])

	// Points on the 250 ms grid from the run's start, with the process
	// busy. A sample that overran (the target is busy, the machine shared)
	// delays the next one, so only most points are asked to be on the grid.
	n := len(sys.Timeline)
	if n < 6 || n > 13 || sys.Timeline[0].TS > 0.1 {
		t.Errorf("%d points in 3 s at 250 ms, the first at %v s", n, sys.Timeline[0].TS)
	}
	var maxCPU float64
	onGrid, counted := 0, 0
	for i, p := range sys.Timeline {
		if i > 0 && (p.TS <= sys.Timeline[i-1].TS || p.TS > 3.2) {
			t.Errorf("point %d at %v s after %v s", i, p.TS, sys.Timeline[i-1].TS)
		}
		if i > 0 && math.Abs(p.TS-0.25*math.Round(p.TS/0.25)) < 0.05 {
			onGrid++
		}
		if p.Goroutines > 0 {
			counted++
		}
		maxCPU = max(maxCPU, p.CPUPercent)
	}
	if onGrid < (n-1)/2 || counted < n/2 {
		t.Errorf("%d of %d points on the 250 ms grid, %d with a goroutine count from pprof: %+v", onGrid, n-1, counted, sys.Timeline)
	}
	if maxCPU < 20 || sys.Process == nil || sys.Process.CPUPercent.Mean <= 0 {
		t.Errorf("CPU max %v %%, process %+v: the loaded target looked idle", maxCPU, sys.Process)
	}
}

func readProfile(path string) (*profile.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return profile.Parse(f)
}

// TestTargetDiesMidRun kills the target after 5 of 10 samples and leaves
// it unreaped (a zombie) until the end: the watch must say so once, keep
// going, and return a valid section.
func TestTargetDiesMidRun(t *testing.T) {
	c := startChild(t)
	sys, _ := manualRun(t, fullSpec(c), 10, func(i int) {
		if i == 6 {
			if err := c.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // let the kernel finish the exit
			return
		}
		if i < 6 {
			drive(t, c.base, 5, 2)
		}
	})
	want := fmt.Sprintf("process %d exited at 6.0 s; later points have no process data", c.pid)
	if !slices.Contains(sys.Warnings, want) {
		t.Errorf("warnings %q lack %q", sys.Warnings, want)
	}
	var scrape, heapEnd bool
	for _, w := range sys.Warnings {
		scrape = scrape || (strings.Contains(w, "prometheus: scrape of") && strings.Contains(w, "and 4 more times, the last at 10.0 s"))
		heapEnd = heapEnd || strings.Contains(w, "heap_end profile not saved")
	}
	if !scrape || !heapEnd {
		t.Errorf("warnings %q: want one counted scrape failure and the missing end heap", sys.Warnings)
	}
	if sys.Process == nil || !sys.Process.Exited || sys.Process.ExitedAtS != 6 || sys.Process.RSSMB.Max <= 0 {
		t.Errorf("process = %+v", sys.Process)
	}
	if len(sys.Timeline) != 10 {
		t.Fatalf("%d points, want 10: sampling must go on", len(sys.Timeline))
	}
	for i, p := range sys.Timeline {
		alive := i < 5 // the point at 5 s covers [5, 6): the exit was seen at 6 s
		if (p.RSSMB > 0) != alive || (p.Metrics != nil) != alive {
			t.Errorf("point %d (%v s): rss %v, %d metrics; alive %v", i, p.TS, p.RSSMB, len(p.Metrics), alive)
		}
		if p.HostMemPct <= 0 {
			t.Errorf("point %d: the host is still watched", i)
		}
	}
	analyze.Analyze(sys, 0, nil)
	if _, err := json.Marshal(sys); err != nil {
		t.Errorf("the section is not valid JSON: %v", err)
	}
}

// TestContentionProfiles checks that the mutex and block profiles of a
// target that enables them are saved and point at the contended function.
func TestContentionProfiles(t *testing.T) {
	c := startChild(t, "-contend")
	sys, _ := manualRun(t, &plan.System{Pprof: c.base}, 2, func(int) { drive(t, c.base, 100, 8) })
	profiles := profilesOf(sys)
	if profiles["mutex"] == "" || profiles["block"] == "" {
		t.Fatalf("profiles = %v, want mutex and block", profiles)
	}
	analyze.Analyze(sys, 0, nil)
	top := map[string]string{}
	for _, c := range sys.Contention {
		if top[c.Kind] == "" {
			top[c.Kind] = c.Function
		}
	}
	if top["mutex"] != "main.(*server).holdContended" || top["block"] != "main.(*server).holdContended" {
		t.Errorf("contention %+v, want main.(*server).holdContended on top of both", sys.Contention)
	}
}

func TestProcessByNameAndPIDFile(t *testing.T) {
	a, b := startChild(t), startChild(t)
	ctx := context.Background()

	w, err := watch.Start(ctx, &plan.System{Process: &plan.ProcessRef{Name: "stampede-leaky"}}, watch.Options{Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	sys := w.Stop(ctx)
	first := min(a.pid, b.pid)
	want := fmt.Sprintf("process name %q matches 2 processes (%d, %d); watching %d, the oldest pid", "stampede-leaky", first, max(a.pid, b.pid), first)
	if sys.Process == nil || int(sys.Process.PID) != first || !slices.Contains(sys.Warnings, want) {
		t.Errorf("process %+v, warnings %q; want pid %d and %q", sys.Process, sys.Warnings, first, want)
	}

	pidFile := filepath.Join(t.TempDir(), "target.pid")
	if err := os.WriteFile(pidFile, []byte(fmt.Sprintf("%d\n", b.pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err = watch.Start(ctx, &plan.System{Process: &plan.ProcessRef{PIDFile: pidFile}}, watch.Options{Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	if sys := w.Stop(ctx); int(sys.Process.PID) != b.pid || sys.Process.Name != "stampede-leaky" {
		t.Errorf("pid file: process %+v, want pid %d", sys.Process, b.pid)
	}
}

// TestConcurrentUse drives every method at once on the real clock; run
// with -race it checks the concurrency contract. Stop's short deadline
// cuts the CPU profile short.
func TestConcurrentUse(t *testing.T) {
	c := startChild(t)
	spec := fullSpec(c)
	spec.Interval = plan.Duration(20 * time.Millisecond)
	spec.CPUProfile = plan.Duration(5 * time.Second)
	ctx := context.Background()
	w, err := watch.Start(ctx, spec, watch.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				switch (i + j) % 3 {
				case 0:
					w.SampleAt(ctx, time.Now())
				case 1:
					w.MarkPeak()
				case 2:
					w.ProfileCPUAt(time.Duration(j) * time.Millisecond)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	stopCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	var sys1, sys2 *result.System
	var swg sync.WaitGroup
	swg.Add(2)
	go func() { defer swg.Done(); sys1 = w.Stop(stopCtx) }()
	go func() { defer swg.Done(); sys2 = w.Stop(stopCtx) }()
	swg.Wait()
	wg.Wait()
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("Stop took %v", took)
	}
	if sys1 != sys2 || sys1 == nil {
		t.Fatal("two Stops returned different sections")
	}
	if !slices.Contains(sys1.Warnings, "cpu profile cut short: the watch was stopped before it finished") {
		t.Errorf("warnings %q", sys1.Warnings)
	}
	if len(sys1.Timeline) < 3 {
		t.Errorf("%d points", len(sys1.Timeline))
	}
	for i := 1; i < len(sys1.Timeline); i++ {
		if sys1.Timeline[i].TS <= sys1.Timeline[i-1].TS {
			t.Errorf("points out of order at %d: %v after %v", i, sys1.Timeline[i].TS, sys1.Timeline[i-1].TS)
		}
	}
}
