package watch_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/cgrouptest"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/watch"
)

// limitsOf watches c for a few samples and returns its process's limits.
func limitsOf(t *testing.T, c *child) *result.ProcessLimits {
	t.Helper()
	spec := &plan.System{Process: &plan.ProcessRef{PID: int32(c.pid)}, Prometheus: &plan.PrometheusSpec{URL: c.base + "/metrics"}}
	sys, _ := manualRun(t, spec, 5, func(int) {}) // a scrape may time out on a busy machine: GOMAXPROCS needs one
	if sys.Process == nil || sys.Process.Limits == nil {
		t.Fatalf("no process limits recorded: %+v (warnings %q)", sys.Process, sys.Warnings)
	}
	return sys.Process.Limits
}

// A child pinned to CPU 0 by taskset may use one core, whatever the
// machine has; a Go child started with GOMAXPROCS=1 runs its Go code on
// one core too, and the watch reads that from its runtime metrics.
func TestLimitsAffinityAndGOMAXPROCS(t *testing.T) {
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		t.Skip("taskset (util-linux) is not installed")
	}
	free := startChild(t, "-runtime-metrics")
	l := limitsOf(t, free)
	if l.HostCPUs < 2 {
		t.Skipf("the machine has %d CPU: nothing to narrow", l.HostCPUs)
	}
	if l.AffinityCPUs != l.HostCPUs || l.CPUCores != float64(l.HostCPUs) || l.CPUSource != watch.CPUFromHost && l.CPUSource != watch.CPUFromCgroup {
		t.Errorf("unpinned child: %+v, want all %d CPUs from the host (or a cgroup quota)", l, l.HostCPUs)
	}

	pinned := startCmd(t, exec.Command(taskset, "-c", "0", leakyBin, "-runtime-metrics"))
	l = limitsOf(t, pinned)
	if l.AffinityCPUs != 1 || l.CPUCores != 1 || l.CPUSource != watch.CPUFromAffinity {
		t.Errorf("child pinned to CPU 0: %+v, want 1 core from its affinity", l)
	}
	if l.GOMAXPROCS != 1 { // the Go runtime sizes GOMAXPROCS from the affinity mask
		t.Errorf("pinned child's GOMAXPROCS = %d, want 1 from its runtime metrics", l.GOMAXPROCS)
	}

	cmd := exec.Command(leakyBin, "-runtime-metrics")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	capped := startCmd(t, cmd)
	l = limitsOf(t, capped)
	if l.GOMAXPROCS != 1 || l.CPUCores != 1 || l.CPUSource != watch.CPUFromGOMAXPROCS {
		t.Errorf("child with GOMAXPROCS=1: %+v, want 1 core from gomaxprocs", l)
	}
}

// A child in a cgroup whose CPU quota is half a core may use half a core.
func TestLimitsCgroupCPUQuota(t *testing.T) {
	g := cgrouptest.New(t, "cpu")
	g.CPUQuota(0.5)
	c := startChild(t)
	g.Join(c.pid)
	t.Cleanup(func() { c.cmd.Process.Kill(); c.cmd.Wait() }) // out of the cgroup before it is removed
	l := limitsOf(t, c)
	if l.CgroupCPU != 0.5 || l.CPUCores != 0.5 || l.CPUSource != watch.CPUFromCgroup {
		t.Errorf("child under a quota of 50 ms per 100 ms: %+v, want 0.5 cores from the cgroup", l)
	}
}

// A child that outgrows its cgroup's memory limit is killed by the
// kernel's OOM killer: the watch sees it gone and the cgroup's oom_kill
// counter rise, and its parent sees SIGKILL.
func TestOOMKillSeen(t *testing.T) {
	g := cgrouptest.New(t, "memory")
	const limit = 48 << 20
	g.MemoryLimit(limit)
	c := startChild(t, "-leak", strconv.Itoa(4<<20)) // 4 MiB kept by every request
	g.Join(c.pid)
	t.Cleanup(func() { c.cmd.Process.Kill(); c.cmd.Wait() })
	spec := &plan.System{Process: &plan.ProcessRef{PID: int32(c.pid)}}
	dead := false
	sys, _ := manualRun(t, spec, 4, func(i int) {
		if i != 2 {
			return
		}
		for range 4 * limit / (4 << 20) { // four times the limit at most
			if err := get(c.base + "/work"); err != nil {
				dead = true
				break
			}
		}
	})
	if !dead {
		t.Fatalf("the child held %d MiB under a %d MiB limit", 4*limit>>20, limit>>20)
	}
	err := c.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child's exit: %v", err)
	}
	if ws := exit.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child's exit status %v, want killed by SIGKILL", ws)
	}
	l := sys.Process.Limits
	if l == nil || !sys.Process.Exited {
		t.Fatalf("process %+v: want it exited, with limits", sys.Process)
	}
	wantSrc := map[int]string{1: "memory.oom_control", 2: "memory.events"}[g.Version]
	if l.OOMKills < 1 || l.OOMSource != wantSrc || l.MemoryMB != limit>>20 {
		t.Errorf("limits %+v: want at least one OOM kill from %s and a %d MB limit", l, wantSrc, limit>>20)
	}
	// The kernel reached the limit, reclaimed and, that failing, killed.
	wantHits := map[int]string{1: "memory.failcnt", 2: "memory.events"}[g.Version]
	if l.LimitHits < 1 || l.LimitHitsSource != wantHits {
		t.Errorf("limits %+v: want the limit's hits counted from %s", l, wantHits)
	}
	// Read again later from the recorded limits alone, as a step that
	// finds the process gone does.
	if n, ok := watch.OOMKillsSince(l); !ok || n != l.OOMKills {
		t.Errorf("OOMKillsSince = %d, %v; want %d from %s", n, ok, l.OOMKills, l.Cgroup)
	}
}

// A child whose address space is capped (RLIMIT_AS, through prlimit)
// fails its own allocation and exits: it is gone, and its cgroup counted
// no OOM kill, so the two are told apart.
func TestOwnAllocationFailureIsNoOOMKill(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) is not installed")
	}
	cmd := exec.Command(prlimit, "--as="+strconv.Itoa(1<<30), leakyBin, "-leak", strconv.Itoa(16<<20))
	var stderr strings.Builder // read after Wait
	cmd.Stderr = &stderr
	c := startCmd(t, cmd)
	spec := &plan.System{Process: &plan.ProcessRef{PID: int32(c.pid)}}
	dead := false
	sys, _ := manualRun(t, spec, 4, func(i int) {
		if i != 2 {
			return
		}
		for range 2 * (1 << 30) / (16 << 20) {
			if err := get(c.base + "/work"); err != nil {
				dead = true
				break
			}
		}
	})
	if !dead {
		t.Fatal("the child outgrew its 1 GiB address space and lived")
	}
	err = c.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child's exit: %v", err)
	}
	if ws := exit.Sys().(syscall.WaitStatus); ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		t.Errorf("child's exit status %v: killed, not its own failure", ws)
	}
	if first, _, _ := strings.Cut(stderr.String(), "\n"); !strings.Contains(first, "out of memory") {
		t.Errorf("child's own failure said %q, want the Go runtime's out of memory", first)
	}
	l := sys.Process.Limits
	if l == nil || !sys.Process.Exited {
		t.Fatalf("process %+v: want it exited, with limits", sys.Process)
	}
	if l.OOMSource == "" {
		t.Skip("the cgroup's OOM counter is unreadable here: nothing to tell apart")
	}
	if l.OOMKills != 0 {
		t.Errorf("limits %+v: want no OOM kill counted", l)
	}
}

// A process that dies after the last sample is seen gone when the watch
// stops: the next watch of it would find nothing to watch.
func TestGoneAfterTheLastSample(t *testing.T) {
	c := startChild(t)
	clk := &clock{now: t0}
	ctx := context.Background()
	w, err := watch.Start(ctx, &plan.System{Process: &plan.ProcessRef{PID: int32(c.pid)}}, watch.Options{Start: t0, Now: clk.Now, Manual: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	clk.set(t0.Add(time.Second))
	w.SampleAt(ctx, t0.Add(time.Second))
	c.cmd.Process.Kill()
	c.cmd.Wait()
	clk.set(t0.Add(1500 * time.Millisecond))
	sys := w.Stop(ctx)
	if p := sys.Process; p == nil || !p.Exited || p.ExitedAtS != 1.5 {
		t.Errorf("process %+v: want it seen gone at 1.5 s, when the watch stopped", p)
	}
}
