package suite

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/internal/devprobe"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// TestRunProbesTheServiceDisk: a single load (stampede run) whose plan
// watches a process measures the disk's ceiling where that process works
// (its /proc/PID/cwd), or in system.disk when the plan names it, once per
// device for the runs sharing a cache; the run records where and is
// judged with it. A plan that watches no process probes nothing.
func TestRunProbesTheServiceDisk(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	cwd := t.TempDir()
	svc := exec.Command("sleep", "60") // the watched service, working in cwd
	svc.Dir = cwd
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { svc.Process.Kill(); svc.Wait() }()

	parse := func(system string) *plan.Plan {
		t.Helper()
		file := filepath.Join(t.TempDir(), "disk.yaml")
		p, err := plan.Parse(file, []byte(fmt.Sprintf(`
name: disk
target: { base_url: "%s" }
scenarios: [{ name: s, steps: [{ path: "/" }] }]
load: { vus: 1, duration: 1s }
system: %s
`, srv.URL, system)))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(p *plan.Plan, disks *devprobe.Cache) *result.Run {
		t.Helper()
		r, err := RunLoad(context.Background(), p, LoadOptions{ProbeDisk: true, Disks: disks})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	var disks devprobe.Cache
	r := run(parse(fmt.Sprintf("{ process: { pid: %d }, interval: 500ms }", svc.Process.Pid)), &disks)
	c := r.Ceilings
	if c == nil || c.DiskSource != "measured" || c.DiskDir != cwd || c.DiskDirFrom != "process cwd" ||
		c.DiskBytes <= 0 || c.DiskBytes > devprobe.MaxBytes || c.DiskSeconds <= 0 || c.DiskSeconds > 2*devprobe.MaxTime.Seconds() {
		t.Fatalf("ceilings %+v, want a bounded probe in the process's cwd %s", c, cwd)
	}
	if want := float64(c.DiskBytes) / c.DiskSeconds / 1e6; math.Abs(c.DiskMBps-want) > 0.01*want || r.Analysis["disk_mbps"] != c.DiskMBps {
		t.Errorf("disk %.3f MB/s, bytes/seconds %.3f, analysis %v", c.DiskMBps, want, r.Analysis)
	}
	if left, _ := os.ReadDir(cwd); len(left) != 0 {
		t.Errorf("the probe left %v in the service's directory", left)
	}

	// system.disk on the same device: the cached probe, not a second one.
	p := parse(fmt.Sprintf("{ process: { pid: %d }, disk: %q }", svc.Process.Pid, cwd))
	if p.System.Disk != cwd {
		t.Fatalf("system.disk %q", p.System.Disk)
	}
	again := run(p, &disks).Ceilings
	if again == nil || again.DiskDirFrom != "system.disk" || again.DiskMBps != c.DiskMBps || again.DiskBytes != c.DiskBytes {
		t.Errorf("second run on the device: %+v, want the first probe's %+v", again, c)
	}

	// A directory that is not there: a warning naming what to set, no
	// ceiling, the run still made.
	missing := parse(fmt.Sprintf("{ process: { pid: %d }, disk: %q }", svc.Process.Pid, filepath.Join(cwd, "missing")))
	r = run(missing, &disks)
	if r.Ceilings != nil || r.Analysis["disk_mbps"] != 0 || len(r.Warnings) == 0 || !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "system: { disk: DIR }") }) {
		t.Errorf("missing dir: ceilings %+v, warnings %q", r.Ceilings, r.Warnings)
	}

	// Without a process the disk I/O is not sampled: nothing probed.
	if r := run(parse(fmt.Sprintf("{ prometheus: %q }", srv.URL+"/metrics")), nil); r.Ceilings != nil {
		t.Errorf("no process watched, yet ceilings %+v", r.Ceilings)
	}
}
