package watch

import (
	"fmt"
	"testing"

	"github.com/prometheus/procfs"

	"github.com/stampede-perf/stampede/internal/cgrouptest"
)

// The cgroup reading of both versions on trees of the files the kernel
// writes (cgrouptest.Fake), for the version the machine running the
// tests does not mount with its cpu and memory controllers: the real
// hierarchy is read by limits_test.go and the stress variants' tests.
func TestLimitsOnFakeCgroups(t *testing.T) {
	type files map[string]string
	for _, version := range []int{1, 2} {
		// quota and limit are the files of a CPU quota and a memory limit in
		// this version; events those of OOM kills and limit hits.
		quota := func(cores float64) files {
			if version == 2 {
				return files{"cpu.max": fmt.Sprintf("%d 100000\n", int(cores*100000))}
			}
			return files{"cpu.cfs_quota_us": fmt.Sprintf("%d\n", int(cores*100000)), "cpu.cfs_period_us": "100000\n"}
		}
		limit := func(bytes int64) files {
			if version == 2 {
				return files{"memory.max": fmt.Sprintf("%d\n", bytes)}
			}
			return files{"memory.limit_in_bytes": fmt.Sprintf("%d\n", bytes)}
		}
		events := func(hits, kills int) files {
			if version == 2 {
				return files{"memory.events": fmt.Sprintf("low 0\nhigh 0\nmax %d\noom %d\noom_kill %d\noom_group_kill 0\n", hits, kills, kills)}
			}
			return files{"memory.failcnt": fmt.Sprintf("%d\n", hits), "memory.oom_control": fmt.Sprintf("oom_kill_disable 0\nunder_oom 0\noom_kill %d\n", kills)}
		}
		oomFile := map[int]string{1: "memory.oom_control", 2: "memory.events"}[version]
		hitsFile := map[int]string{1: "memory.failcnt", 2: "memory.events"}[version]
		for _, c := range []struct {
			name           string
			own, parent    files
			cores          float64
			source         string
			cgroupCPU, mem float64
		}{
			{name: "unlimited", cores: 2, source: CPUFromHost},
			{name: "half a core", own: quota(0.5), cores: 0.5, source: CPUFromCgroup, cgroupCPU: 0.5},
			{name: "the parent's quota is less", own: quota(1.5), parent: quota(0.25), cores: 0.25, source: CPUFromCgroup, cgroupCPU: 0.25},
			{name: "a quota over the CPUs", own: quota(3), cores: 2, source: CPUFromHost, cgroupCPU: 3},
			{name: "64 MB", own: limit(64 << 20), cores: 2, source: CPUFromHost, mem: 64},
			{name: "the parent's limit is less", own: limit(64 << 20), parent: limit(32 << 20), cores: 2, source: CPUFromHost, mem: 32},
		} {
			t.Run(fmt.Sprintf("v%d %s", version, c.name), func(t *testing.T) {
				tr := cgrouptest.Fake(t, version)
				for name, v := range c.parent {
					tr.Set(name, v, true)
				}
				for name, v := range c.own {
					tr.Set(name, v, false)
				}
				for name, v := range events(3, 1) {
					tr.Set(name, v, false)
				}
				r, fsys := readFake(t, tr)
				l := r.limits
				if l.HostCPUs != 2 || l.AffinityCPUs != 2 || l.CPUCores != c.cores || l.CPUSource != c.source || l.CgroupCPU != c.cgroupCPU || l.MemoryMB != c.mem {
					t.Errorf("limits %+v: want %g cores from %s (cgroup %g), %g MB", l, c.cores, c.source, c.cgroupCPU, c.mem)
				}
				if want := fmt.Sprintf("v%d:%s", version, cgrouptest.FakePath); l.Cgroup != want || l.OOMSource != oomFile || l.OOMCountStart != 1 || l.LimitHitsSource != hitsFile {
					t.Errorf("limits %+v: want cgroup %s, OOM kills from %s starting at 1, limit hits from %s", l, want, oomFile, hitsFile)
				}
				// Later: five more limit hits and two more OOM kills.
				for name, v := range events(8, 3) {
					tr.Set(name, v, false)
				}
				r.oom()
				if r.limits.OOMKills != 2 || r.limits.LimitHits != 5 {
					t.Errorf("after the counters rose: %d OOM kills, %d limit hits; want 2 and 5", r.limits.OOMKills, r.limits.LimitHits)
				}
				if n, ok := oomKillsSince(fsys, &r.limits); !ok || n != 2 {
					t.Errorf("oomKillsSince = %d, %v; want 2", n, ok)
				}
			})
		}
	}
}

// A v2 hierarchy whose root enables neither cpu nor memory (v1 holds
// them, as on a machine that mounts both) has no limits to read.
func TestLimitsV2WithoutControllers(t *testing.T) {
	tr := cgrouptest.Fake(t, 2)
	tr.Set("cpu.max", "50000 100000\n", false)
	tr.Set("memory.max", "67108864\n", false)
	tr.SetRoot("cgroup.controllers", "hugetlb\n")
	r, _ := readFake(t, tr)
	if l := r.limits; l.Cgroup != "" || l.CgroupCPU != 0 || l.MemoryMB != 0 || l.CPUSource != CPUFromHost || l.OOMSource != "" {
		t.Errorf("limits %+v: want none from a hierarchy without the controllers", l)
	}
}

// Where v1's memory-and-swap limit is no higher than its memory limit,
// the kernel refuses a charge at the former and counts it in neither
// failcnt: the limit hits are unknown, not zero. A memory-and-swap limit
// above the memory limit leaves memory.failcnt counting.
func TestLimitHitsUnderAMemswLimit(t *testing.T) {
	for _, c := range []struct {
		memsw string
		src   string
	}{{"67108864\n", ""}, {"68157440\n", "memory.failcnt"}, {"9223372036854771712\n", "memory.failcnt"}} {
		tr := cgrouptest.Fake(t, 1)
		tr.Set("memory.limit_in_bytes", "67108864\n", false)
		tr.Set("memory.memsw.limit_in_bytes", c.memsw, false)
		tr.Set("memory.failcnt", "4\n", false)
		r, _ := readFake(t, tr)
		if l := r.limits; l.MemoryMB != 64 || l.LimitHitsSource != c.src {
			t.Errorf("memsw limit %q: limits %+v, want 64 MB and limit hits from %q", c.memsw, l, c.src)
		}
	}
}

// readFake reads the limits of the fake tree's process, as the sampler
// does, and returns the reader with the tree's procfs.
func readFake(t *testing.T, tr *cgrouptest.Tree) (*limitsReader, procfs.FS) {
	t.Helper()
	fsys, err := procfs.NewFS(tr.Proc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := readLimits(fsys, cgrouptest.FakePID)
	if err != nil {
		t.Fatal(err)
	}
	return r, fsys
}
