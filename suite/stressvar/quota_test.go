package stressvar_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/internal/cgrouptest"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

// quotaCores is the CPU quota of TestStressCPUVariantUnderQuota's
// service: half a core, on a machine of two.
const quotaCores = 0.5

// TestStressCPUVariantUnderQuota steps a CPU-bound service
// (testdata/cpuserver, about 10 ms of CPU a request: a rate that a
// generator slowed by the race detector on a busy machine still sends)
// started inside a cgroup whose CPU quota is half a core. The
// cores it may use are read from the cgroup, not the machine's CPUs; the
// CPU saturates at the quota and never passes it; and the throughput
// where it saturates is what a closed loop of four users gets from the
// same service in the same test — itself half a core's worth, by the
// CPU time the service spent a request. All ratios: no number of the
// machine's speed.
func TestStressCPUVariantUnderQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a CPU-bound service and loads it for about 50 s")
	}
	g := cgrouptest.New(t, "cpu") // before the service: removed after it is killed
	g.CPUQuota(quotaCores)
	g.CPUFirst() // half a core even on a machine that is busy with other work
	svc := startService(t, "./testdata/cpuserver", "cpuserver listening on ", nil, g.Exec())
	if got := g.Read("cgroup.procs"); !strings.Contains("\n"+got+"\n", fmt.Sprintf("\n%d\n", svc.pid)) {
		t.Fatalf("the service (pid %d) is not in its cgroup, which holds %q", svc.pid, got)
	}

	ref, perRequest := closedLoop(t, svc, 4, 3*time.Second)
	quotaRPS := quotaCores / perRequest // what half a core serves at the CPU a request took
	t.Logf("closed loop: %.0f requests/s, %.2f ms of CPU a request: the quota allows %.0f requests/s", ref, 1000*perRequest, quotaRPS)
	if ratio := ref / quotaRPS; ratio < 0.6 || ratio > 1.15 {
		t.Fatalf("the closed loop got %.2f× what half a core allows: the quota does not govern the service", ratio)
	}

	p, err := plan.Parse("quota.yaml", []byte(fmt.Sprintf(`
name: quota
target: { base_url: "%s", timeout: 5s }
scenarios:
  - name: work
    steps: [{ path: "/work" }]
load: { vus: 1, duration: 1s }
system: { process: { pid: %d }, interval: 500ms }
analysis: { disk_mbps: 500 }
tests:
  cool_down: 1s
  stress: { variant: cpu, scenarios: [work], start: %d, factor: 2, max: %d, hold: 3s, warmup: 1s, p99: 1s, bisect: 1 }
`, svc.url, svc.pid, int(ref/2), int(ref*8))))
	if err != nil {
		t.Fatal(err)
	}
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
		t.Logf("%s %s: %.0f requests/s, p99 %.1f ms, %.2f cores, host %.0f%%, %s", num(pt.Load), st.Unit, pt.RPS, pt.P99, pt.CPUCores, pt.HostCPU, pt.Limit)
		// CFS gives the group its quota each 100 ms period: a mean over
		// a step's seconds passes it only by the periods its samples'
		// edges cut and the 10 ms ticks of the process's CPU times.
		if pt.CPUCores > 1.2*quotaCores {
			t.Errorf("%s: %.2f cores under a quota of %.1f", num(pt.Load), pt.CPUCores, quotaCores)
		}
		if pt.RPS > 1.25*ref {
			t.Errorf("%s: %.0f requests/s, over 1.25× the closed loop's %.0f", num(pt.Load), pt.RPS, ref)
		}
	}
	t.Logf("%s", r.Text)
	if l := run.System; l == nil || l.Process == nil || l.Process.Limits == nil || l.Process.Limits.CgroupCPU != quotaCores || l.Process.Limits.CPUSource != "cgroup" {
		t.Errorf("the run's system.process does not record the quota: %+v", l)
	}
	if r.Resource != "cpu" || r.Capacity != quotaCores || r.CapacitySource != "cgroup" {
		t.Fatalf("resource %+v, want %.1f cores from the cgroup", r, quotaCores)
	}
	switch {
	case r.Saturated == "service" && r.Cores >= analyze.CPUSaturation*quotaCores && strings.Contains(r.Text, fmt.Sprintf("saturates %.2g of 0.5 cores (its cgroup's CPU quota)", r.Cores)):
	case r.Saturated == "host" && r.HostCPU >= 100*analyze.CPUSaturation: // a machine busy with other work
	default:
		t.Fatalf("the CPU did not saturate: %+v", r)
	}
	// The knee: the first saturated step gets what the closed loop got,
	// within the step's factor of two below.
	if ratio := r.RPS / ref; ratio < 0.5 || ratio > 1.25 {
		t.Errorf("saturated at %.0f requests/s, %.2f× the closed loop's %.0f", r.RPS, ratio, ref)
	}
	if !hasFinding(run, result.KindCPULimit) {
		t.Errorf("no cpu_limit finding in %v", run.Findings)
	}
}

// closedLoop sends svc's work from users users, each the next request
// as its last one's answer came, for d: the requests per second it got
// and the service's CPU seconds a request (from /proc/PID/stat).
func closedLoop(t *testing.T, svc service, users int, d time.Duration) (rps, cpuPerRequest float64) {
	t.Helper()
	proc, err := procfs.NewProc(svc.pid)
	if err != nil {
		t.Fatal(err)
	}
	cpu := func() float64 {
		st, err := proc.Stat()
		if err != nil {
			t.Fatal(err)
		}
		return st.CPUTime()
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: users}}
	defer client.CloseIdleConnections()
	var done, failed atomic.Int64
	cpu0, start := cpu(), time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range users {
		wg.Go(func() {
			for time.Now().Before(deadline) && done.Load() < 1_000_000 {
				resp, err := client.Get(svc.url + "/work")
				if err != nil {
					failed.Add(1)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed, used := time.Since(start).Seconds(), cpu()-cpu0
	if failed.Load() > 0 || done.Load() == 0 {
		t.Fatalf("closed loop: %d answered, %d failed", done.Load(), failed.Load())
	}
	return float64(done.Load()) / elapsed, used / float64(done.Load())
}
