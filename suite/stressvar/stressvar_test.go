// Package stressvar_test holds the end-to-end tests of the cpu and memory
// stress variants (suite/stress_resource.go): real services built and run
// as child processes, stepped until their CPU or memory gives out. They
// are a package of their own so that go test runs them beside the suite
// package's tests instead of after them: together they take over a minute.
package stressvar_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/internal/cgrouptest"
	"github.com/stampede-perf/stampede/internal/devprobe"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

// service is a real service in a child process of the test, on a loopback
// port, watched by its pid.
type service struct {
	url string
	pid int
}

// startService builds pkg, runs it with args and env — through wrap (a
// command that execs it, such as taskset) when given — and waits for the
// line that starts with prefix and ends with its URL; the process is
// stopped when the test ends.
func startService(t *testing.T, pkg, prefix string, env, wrap []string, args ...string) service {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	cmd := exec.Command(bin, args...)
	if len(wrap) > 0 {
		cmd = exec.Command(wrap[0], append(append(wrap[1:len(wrap):len(wrap)], bin), args...)...)
	}
	cmd.Env = append(cmd.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The service and anything it started: throwaway, killed outright.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), prefix); ok {
				found <- strings.Fields(u)[0]
			}
		}
	}()
	select {
	case u := <-found:
		return service{url: u, pid: cmd.Process.Pid}
	case <-time.After(time.Minute):
		t.Fatalf("%s did not say where it listens within a minute", pkg)
	}
	return service{}
}

// TestStressCPUVariant steps the CPU-heavy scenario of a real service —
// the zoo's cpu-own, a brute-force search of 2 ms of CPU a request,
// pinned to CPU 0 by taskset — until its CPU saturates. The plan does not
// say how many cores the service has: the watch reads it from the
// process's affinity mask. The plan's other scenario asks for a path the service does
// not have: were it sent, its errors would break the first step. The
// cores at each step must be the mean of the watch's process CPU over
// the step's judged windows, the limit named where the cores first
// reach 90% of the one core, with a cpu_limit finding.
func TestStressCPUVariant(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the zoo and loads it for about 30 s")
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		t.Skip("taskset (util-linux) is not installed")
	}
	svc := startService(t, "../../internal/zoo/cmd/zoo", "zoo listening on ", nil, []string{taskset, "-c", "0"}, "--service", "cpu-own")
	p, err := plan.Parse("cpu.yaml", []byte(fmt.Sprintf(`
name: cpu
target: { base_url: "%s", timeout: 5s }
scenarios:
  - name: search
    steps: [{ path: "/search?q=queues" }]
  - name: missing
    steps: [{ path: "/no-such-path" }]
load: { vus: 1, duration: 1s }
system: { process: { pid: %d }, interval: 500ms }
analysis: { disk_mbps: 500 }
tests:
  cool_down: 1s
  stress: { variant: cpu, scenarios: [search], start: 100, factor: 2, max: 3200, hold: 3s, warmup: 1s, p99: 1s, bisect: 1 }
`, svc.url, svc.pid)))
	if err != nil {
		t.Fatal(err)
	}
	var points []result.SystemPoint
	run, err := suite.Test(context.Background(), p, suite.Options{Only: []string{"stress"}, OnSystem: func(pt result.SystemPoint) { points = append(points, pt) }})
	if err != nil {
		t.Fatal(err)
	}
	st := run.Stress
	if st == nil || st.Resource == nil || len(st.Curve) < 2 {
		t.Fatalf("stress %+v", st)
	}
	r := st.Resource
	for _, pt := range st.Curve {
		t.Logf("%s %s: %.0f requests/s, p99 %.1f ms, errors %.3f, %.2f cores, host %.0f%%, %s", num(pt.Load), st.Unit, pt.RPS, pt.P99, pt.ErrorRate, pt.CPUCores, pt.HostCPU, pt.Limit)
		if pt.ErrorRate > 0 && pt.OK {
			t.Errorf("%s: errors %.3f on a step that held: the missing scenario was sent", num(pt.Load), pt.ErrorRate)
		}
		// The reference: the mean process CPU of the watch's samples in
		// the step's judged windows, on the test's clock.
		var sum float64
		var n int
		for _, sp := range points {
			if sp.TS >= pt.TS+1-1e-6 && sp.TS < pt.TS+1+3-1e-6 && pt.TS > 0 {
				sum, n = sum+sp.CPUPercent, n+1
			}
		}
		if n > 0 && abs(sum/float64(n)/100-pt.CPUCores) > 0.02 {
			t.Errorf("%s: %.3f cores, the samples' mean is %.3f", num(pt.Load), pt.CPUCores, sum/float64(n)/100)
		}
	}
	t.Logf("%s", r.Text)
	wantSource := "affinity"
	if runtime.NumCPU() == 1 {
		wantSource = "host" // pinned to the one CPU there is
	}
	if r.Resource != "cpu" || r.Capacity != 1 || r.CapacitySource != wantSource {
		t.Errorf("resource %+v, want 1 core from %s", r, wantSource)
	}
	if l := run.System; l == nil || l.Process == nil || l.Process.Limits == nil || l.Process.Limits.AffinityCPUs != 1 {
		t.Errorf("the run's system.process does not record the one CPU of the affinity mask: %+v", l)
	}
	// Overloaded, a one-core service takes its core, or — on a machine
	// busy with other work — the machine's CPU is all taken first.
	switch {
	case r.Saturated == "service" && r.Cores >= analyze.CPUSaturation && strings.Contains(r.Text, fmt.Sprintf("saturates %.2g of 1 cores (%s)", r.Cores, analyze.CapacityWords(wantSource))):
	case r.Saturated == "host" && r.HostCPU >= 100*analyze.CPUSaturation && strings.Contains(r.Text, fmt.Sprintf("the machine's CPU saturates (%.0f%% busy)", r.HostCPU)):
	default:
		t.Fatalf("the CPU did not saturate: %+v", r)
	}
	for _, pt := range st.Curve {
		if pt.Load < r.Load && (pt.CPUCores >= analyze.CPUSaturation || pt.HostCPU >= 100*analyze.CPUSaturation && pt.Efficiency < analyze.HostFlattening) {
			t.Errorf("%s already used %.2f cores (host %.0f%%), before the named %s", num(pt.Load), pt.CPUCores, pt.HostCPU, num(r.Load))
		}
	}
	if !strings.Contains(run.Phases[0].Note, r.Text) {
		t.Errorf("text %q, note %q", r.Text, run.Phases[0].Note)
	}
	if !hasFinding(run, result.KindCPULimit) {
		t.Errorf("no cpu_limit finding in %v", run.Findings)
	}
	// The plan states the disk's ceiling: nothing is measured.
	if c := run.Ceilings; c == nil || c.DiskSource != "plan" || c.DiskMBps != 500 || c.DiskBytes != 0 || run.Analysis["disk_mbps"] != 500 {
		t.Errorf("ceilings %+v, analysis %v", c, run.Analysis)
	}
}

// TestStressMemoryVariant steps the working set of the demo shop's sales
// report (1 KiB a row, built whole in memory) under four users until the
// shop's RSS passes a 200 MB limit: every step that held stayed under it,
// the one named passed it, and a memory_limit finding says so. Bigger
// reports are slower, and slower still on a busy machine: the latency
// and throughput limits are set wide so that memory is what breaks.
func TestStressMemoryVariant(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo shop and loads it for about 30 s")
	}
	svc := startService(t, "../testdata/shopserver", "listening on ", nil, nil)
	p := reportPlan(t, svc, "", "factor: 2, memory_mb: 200, max: 64")
	run, err := suite.Test(context.Background(), p, suite.Options{Only: []string{"stress"}})
	if err != nil {
		t.Fatal(err)
	}
	st := run.Stress
	if st == nil || st.Resource == nil || len(st.Curve) < 2 {
		t.Fatalf("stress %+v", st)
	}
	r := st.Resource
	for _, pt := range st.Curve {
		t.Logf("%s %s: %.1f requests/s, p99 %.1f ms, RSS %.0f MB, GC %.1f%%, %s", num(pt.Load), st.Unit, pt.RPS, pt.P99, pt.RSSMB, pt.GCPct, pt.Limit)
		if pt.RSSMB <= 0 {
			t.Errorf("%s: no RSS recorded", num(pt.Load))
		}
		if pt.OK && pt.RSSMB > 200 {
			t.Errorf("%s held with RSS %.0f MB over the 200 MB limit", num(pt.Load), pt.RSSMB)
		}
		if pt.Limit == analyze.LimitMemory && pt.RSSMB <= 200 {
			t.Errorf("%s broke on memory with RSS %.0f MB", num(pt.Load), pt.RSSMB)
		}
	}
	t.Logf("%s", r.Text)
	if st.Unit != "× rows" || !r.Reached || r.Cause != analyze.MemoryRSS || r.RSSMB <= 200 || st.Limit != analyze.LimitMemory || st.BreakingPoint != r.Load {
		t.Fatalf("limit %s at %v, resource %+v", st.Limit, st.BreakingPoint, r)
	}
	if want := fmt.Sprintf("rows = %d", 2048*int(r.Load)); !strings.Contains(r.Text, want) || !strings.Contains(r.Text, "200 MB memory limit") {
		t.Errorf("text %q does not say %q and the limit", r.Text, want)
	}
	if !hasFinding(run, result.KindMemoryLimit) {
		t.Errorf("no memory_limit finding in %v", run.Findings)
	}
	// The plan does not state the disk's ceiling: it was measured, within
	// the probe's bounds, and the findings were judged with it.
	c := run.Ceilings
	if c == nil || c.DiskSource != "measured" || c.DiskBytes <= 0 || c.DiskBytes > devprobe.MaxBytes || c.DiskSeconds <= 0 {
		t.Fatalf("ceilings %+v", c)
	}
	t.Logf("disk: %.1f MB/s (%d bytes in %.3f s in %s)", c.DiskMBps, c.DiskBytes, c.DiskSeconds, c.DiskDir)
	if want := float64(c.DiskBytes) / c.DiskSeconds / 1e6; abs(c.DiskMBps-want) > 0.01*want || run.Analysis["disk_mbps"] != c.DiskMBps {
		t.Errorf("disk %.3f MB/s, bytes/seconds %.3f, analysis %v", c.DiskMBps, want, run.Analysis)
	}
}

// TestStressMemoryVariantOOMKill runs the memory variant on the demo
// shop, started in a cgroup whose memory limit (64 MB) is under what its
// bigger reports need, with no RSS limit in the plan: the kernel's OOM
// killer ends the shop, and the outcome says so from the cgroup's
// oom_kill counter — not inferred from the process being gone — and
// names the cgroup's limit, the distance from the RSS up to it and how
// often the cgroup reached it (memory.failcnt, or memory.events' max),
// each checked against the test's own reading of the cgroup's files.
func TestStressMemoryVariantOOMKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo shop and loads it until it is killed")
	}
	const limitMB = 64
	g := cgrouptest.New(t, "memory")
	g.MemoryLimit(limitMB << 20)
	run := memoryStress(t, g, "factor: 2, max: 256")
	r := run.Stress.Resource
	wantSrc := map[int]string{1: "memory.oom_control", 2: "memory.events"}[g.Version]
	if !r.Reached || r.Cause != analyze.MemoryKilled || r.OOMKills < 1 || r.OOMSource != wantSrc || r.CgroupMB != limitMB || r.RSSMB <= 0 {
		t.Fatalf("resource %+v: want an OOM kill counted in %s under the %d MB limit", r, wantSrc, limitMB)
	}
	// The reference: the cgroup's own counters, read now that the test is
	// over (they count from the cgroup's making: every kill and every hit
	// of its limit is one of the run's).
	if kills := g.Counter(wantSrc, "oom_kill"); r.OOMKills > kills {
		t.Errorf("%d OOM kills named, the cgroup counted %d", r.OOMKills, kills)
	}
	hits := limitHits(t, g)
	if r.LimitHitsSource == "" || r.LimitHits < 1 || r.LimitHits > hits {
		t.Errorf("limit hits %d from %q: want at least one, at most the cgroup's %d", r.LimitHits, r.LimitHitsSource, hits)
	}
	// RSS may pass the limit: it counts the shop's binary, whose pages
	// were charged to the cgroup of the build that wrote them.
	if r.CgroupHeadroomMB != math.Round((limitMB-r.RSSMB)*1e4)/1e4 {
		t.Errorf("headroom %.4f MB, want %d − %.4f", r.CgroupHeadroomMB, limitMB, r.RSSMB)
	}
	if !strings.Contains(r.Text, "OOM killer killed the service") || !strings.Contains(r.Text, fmt.Sprintf("its cgroup's memory limit: %d MB, ", limitMB)) {
		t.Errorf("text %q", r.Text)
	}
	if l := run.System; l == nil || l.Process == nil || l.Process.Limits == nil || l.Process.Limits.MemoryMB != limitMB {
		t.Errorf("system.process does not record the cgroup's limit: %+v", l)
	}
	if len(run.Phases) < 2 || run.Phases[1].Name != "recovery" || !run.Phases[1].Skipped {
		t.Errorf("phases %+v: want recovery skipped, the process being gone", run.Phases)
	}
	found := false
	for _, f := range run.Findings {
		found = found || f.Kind == result.KindMemoryLimit && f.Severity == analyze.SeverityHigh && strings.Contains(f.Title, fmt.Sprintf("memory limit: %d MB", limitMB))
	}
	if !found {
		t.Errorf("no high memory_limit finding naming the cgroup's limit in %v", run.Findings)
	}
}

// TestStressMemoryVariantCgroupHeadroom runs the memory variant on the
// demo shop in a 64 MB cgroup with a plan's RSS limit of 50 MB under it:
// the step that passes 50 MB breaks on its RSS before the kernel has to
// kill, and the outcome names the cgroup's limit and how far under it
// the RSS stayed.
func TestStressMemoryVariantCgroupHeadroom(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo shop and loads it for about 30 s")
	}
	const limitMB, rssMB = 64, 50
	g := cgrouptest.New(t, "memory")
	g.MemoryLimit(limitMB << 20)
	run := memoryStress(t, g, fmt.Sprintf("factor: 1.5, memory_mb: %d, max: 64", rssMB))
	r := run.Stress.Resource
	if !r.Reached || r.Cause != analyze.MemoryRSS || r.RSSMB <= rssMB || r.CgroupMB != limitMB {
		t.Fatalf("resource %+v: want the %d MB RSS limit passed under the cgroup's %d MB", r, rssMB, limitMB)
	}
	if r.CgroupHeadroomMB != math.Round((limitMB-r.RSSMB)*1e4)/1e4 {
		t.Errorf("headroom %.4f MB, want %d − %.4f", r.CgroupHeadroomMB, limitMB, r.RSSMB)
	}
	want := fmt.Sprintf("its cgroup's memory limit: %d MB, %.0f MB (%.0f%%) above that RSS", limitMB, r.CgroupHeadroomMB, 100*r.CgroupHeadroomMB/limitMB)
	if r.CgroupHeadroomMB < 0 { // RSS counted the binary's pages, charged elsewhere
		want = fmt.Sprintf("its cgroup's memory limit: %d MB, that RSS %.0f MB over it", limitMB, -r.CgroupHeadroomMB)
	}
	if !strings.Contains(r.Text, fmt.Sprintf("passes its %d MB memory limit", rssMB)) || !strings.Contains(r.Text, want) {
		t.Errorf("text %q, want it to say %q", r.Text, want)
	}
	if hits := limitHits(t, g); r.LimitHits > hits {
		t.Errorf("%d limit hits named, the cgroup counted %d", r.LimitHits, hits)
	}
	found := false
	for _, f := range run.Findings {
		if f.Kind != result.KindMemoryLimit {
			continue
		}
		for _, e := range f.Evidence {
			found = found || e.Metric == "cgroup_headroom_mb" && e.Value == r.CgroupHeadroomMB
		}
	}
	if !found {
		t.Errorf("no memory_limit finding with the headroom in %v", run.Findings)
	}
}

// limitHits is how often g's memory use reached its limit, as the
// kernel counts it.
func limitHits(t *testing.T, g *cgrouptest.Group) int64 {
	t.Helper()
	if g.Version == 1 {
		n, err := strconv.ParseInt(g.Read("memory.failcnt"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return g.Counter("memory.events", "max")
}

// reportPlan is the memory variant's plan on the demo shop's sales report
// (1 KiB a row), with more plan lines and more stress settings.
// memoryStress runs the memory variant's stress phase (stress, the
// plan's stress options) against the demo shop started in cgroup g, and
// returns the run, whose stress result has what it found of the
// service's memory.
func memoryStress(t *testing.T, g *cgrouptest.Group, stress string) *result.Run {
	t.Helper()
	svc := startService(t, "../testdata/shopserver", "listening on ", nil, g.Exec())
	p := reportPlan(t, svc, "analysis: { disk_mbps: 500 }", stress)
	run, err := suite.Test(context.Background(), p, suite.Options{Only: []string{"stress"}})
	if err != nil {
		t.Fatal(err)
	}
	st := run.Stress
	if st == nil || st.Resource == nil {
		t.Fatalf("stress %+v", st)
	}
	for _, pt := range st.Curve {
		t.Logf("%s %s: %.1f requests/s, RSS %.0f MB, %s", num(pt.Load), st.Unit, pt.RPS, pt.RSSMB, pt.Limit)
	}
	t.Logf("%s", st.Resource.Text)
	return run
}

func reportPlan(t *testing.T, svc service, more, stress string) *plan.Plan {
	t.Helper()
	p, err := plan.Parse("memory.yaml", []byte(fmt.Sprintf(`
name: memory
target: { base_url: "%s", timeout: 10s }
variables: { rows: "2048" }
scenarios:
  - name: report
    steps: [{ path: "/api/reports/sales?rows={{ rows }}" }]
load: { vus: 1, duration: 1s }
system: { process: { pid: %d }, interval: 500ms }
%s
tests:
  cool_down: 1s
  stress: { variant: memory, variable: rows, users: 4, start: 1, hold: 3s, warmup: 1s, p99: 10s, efficiency: 0.05, bisect: 1, %s }
`, svc.url, svc.pid, more, stress)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func hasFinding(run *result.Run, kind result.FindingKind) bool {
	for _, f := range run.Findings {
		if f.Kind == kind {
			return true
		}
	}
	return false
}

func abs(v float64) float64 { return max(v, -v) }

// num prints a step's load for the log.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
