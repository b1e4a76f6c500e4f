package watch

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"

	"github.com/stampede-perf/stampede/result"
)

// The limits of the watched process are read, not guessed: the kernel
// says how many CPUs it may run on (its affinity mask), how much CPU time
// its cgroup may use (the CFS quota over its period), how much memory its
// cgroup may hold, how often its use reached that limit and how often
// the OOM killer killed in it. The process
// table and the mount table come through prometheus/procfs; the cgroup
// files are one line or a few key-value lines each and are read here.
// cgroup v2 (the unified hierarchy) and v1 (a hierarchy per controller)
// are both read, wherever their file systems are mounted.

// Where a CPU capacity comes from.
const (
	CPUFromHost       = "host"
	CPUFromAffinity   = "affinity"
	CPUFromCgroup     = "cgroup"
	CPUFromGOMAXPROCS = "gomaxprocs"
)

// maxCgroupDepth bounds the walk from a cgroup to its root.
const maxCgroupDepth = 64

// cgroupDirs are the directories of a process's cgroups: the one of the
// cpu controller and the one of the memory controller (the same in v2),
// with the mount point each walk stops at.
type cgroupDirs struct {
	version         int // 1 or 2; 0 when none was found
	cpu, cpuRoot    string
	memory, memRoot string
	memPath         string // the memory cgroup's path as /proc/PID/cgroup gives it
}

// cgroupsOf finds pid's cgroup directories from /proc/PID/cgroup and the
// mount table.
func cgroupsOf(fsys procfs.FS, pid int) (cgroupDirs, error) {
	var d cgroupDirs
	p, err := fsys.Proc(pid)
	if err != nil {
		return d, err
	}
	groups, err := p.Cgroups()
	if err != nil {
		return d, err
	}
	mounts, err := fsys.GetMounts()
	if err != nil {
		return d, err
	}
	// dir is where the hierarchy mounted as m holds the cgroup at p.
	dir := func(m *procfs.MountInfo, p string) string {
		rel := p
		if m.Root != "/" && m.Root != "" {
			rel = strings.TrimPrefix(p, m.Root)
		}
		return filepath.Join(m.MountPoint, filepath.FromSlash(path.Clean("/"+rel)))
	}
	for _, g := range groups {
		switch {
		case g.HierarchyID == 0 && len(g.Controllers) == 0: // v2
			for _, m := range mounts {
				if m.FSType != "cgroup2" || !controls(m.MountPoint, "cpu", "memory") {
					continue
				}
				x := dir(m, g.Path)
				if d.version == 0 {
					d = cgroupDirs{version: 2, cpu: x, cpuRoot: m.MountPoint, memory: x, memRoot: m.MountPoint, memPath: g.Path}
				}
			}
		default: // v1: one hierarchy per controller (or a few together)
			for _, m := range mounts {
				if m.FSType != "cgroup" {
					continue
				}
				if slices.Contains(g.Controllers, "cpu") && hasOpt(m, "cpu") && d.cpu == "" {
					d.version, d.cpu, d.cpuRoot = 1, dir(m, g.Path), m.MountPoint
				}
				if slices.Contains(g.Controllers, "memory") && hasOpt(m, "memory") && d.memory == "" {
					d.version, d.memory, d.memRoot, d.memPath = 1, dir(m, g.Path), m.MountPoint, g.Path
				}
			}
		}
	}
	return d, nil
}

func hasOpt(m *procfs.MountInfo, name string) bool {
	_, ok := m.SuperOptions[name]
	return ok
}

// controls says whether a cgroup2 mount has any of the controllers
// enabled at its root (a v2 hierarchy beside v1 ones may have none).
func controls(root string, names ...string) bool {
	b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b))
	return slices.ContainsFunc(names, func(n string) bool { return slices.Contains(fields, n) })
}

// cpuQuota is the least CPU quota, in cores, of dir and its ancestors up
// to root: 0 when none is set.
func cpuQuota(version int, dir, root string) float64 {
	least := 0.0
	for range maxCgroupDepth {
		if q := oneQuota(version, dir); q > 0 && (least == 0 || q < least) {
			least = q
		}
		if dir == root || len(dir) <= len(root) {
			break
		}
		dir = filepath.Dir(dir)
	}
	return least
}

// oneQuota is one cgroup's CPU quota in cores (0: none or unreadable).
func oneQuota(version int, dir string) float64 {
	if version == 2 {
		// cpu.max: "$MAX $PERIOD", $MAX "max" when unlimited.
		f := strings.Fields(readLine(filepath.Join(dir, "cpu.max")))
		if len(f) != 2 || f[0] == "max" {
			return 0
		}
		quota, err1 := strconv.ParseFloat(f[0], 64)
		period, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil || quota <= 0 || period <= 0 {
			return 0
		}
		return quota / period
	}
	quota, err1 := strconv.ParseFloat(readLine(filepath.Join(dir, "cpu.cfs_quota_us")), 64)
	period, err2 := strconv.ParseFloat(readLine(filepath.Join(dir, "cpu.cfs_period_us")), 64)
	if err1 != nil || err2 != nil || quota <= 0 || period <= 0 { // -1: unlimited
		return 0
	}
	return quota / period
}

// memoryLimit is the least memory limit, in bytes, of dir and its
// ancestors up to root: 0 when none is set.
func memoryLimit(version int, dir, root string) float64 {
	least := 0.0
	for range maxCgroupDepth {
		if v := oneMemoryLimit(version, dir); v > 0 && (least == 0 || v < least) {
			least = v
		}
		if dir == root || len(dir) <= len(root) {
			break
		}
		dir = filepath.Dir(dir)
	}
	return least
}

// oneMemoryLimit is one cgroup's memory limit in bytes (0: none).
func oneMemoryLimit(version int, dir string) float64 {
	if version == 1 {
		return bytesLimit(filepath.Join(dir, "memory.limit_in_bytes"))
	}
	return bytesLimit(filepath.Join(dir, "memory.max"))
}

// bytesLimit is the limit in bytes in the file name (0: none).
func bytesLimit(name string) float64 {
	v, err := strconv.ParseFloat(readLine(name), 64)  // "max" fails: none
	if err != nil || v <= 0 || v >= math.MaxInt64/2 { // v1 writes "no limit" as the largest page-aligned int64
		return 0
	}
	return v
}

// oomKills reads a cgroup's count of OOM kills and the file it is in:
// memory.events in v2, memory.oom_control in v1 (both "oom_kill N").
func oomKills(version int, dir string) (int64, string, error) {
	name := "memory.events"
	if version == 1 {
		name = "memory.oom_control"
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == "oom_kill" {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, name, err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, "", err
	}
	return 0, "", fmt.Errorf("%s has no oom_kill line (a kernel before 4.13)", name)
}

// limitHits reads how often a cgroup's memory use reached its limit and
// the file it is in: the max counter of memory.events in v2,
// memory.failcnt in v1. Where v1 accounts swap, the kernel charges the
// memory-and-swap counter first, and a charge it refuses there is not
// counted in memory.failcnt — nor, on the kernels tried (6.18), in
// memory.memsw.failcnt: with a memory-and-swap limit no higher than the
// memory limit (docker's --memory-swap equal to --memory) the hits are
// not counted anywhere, and are reported unreadable.
func limitHits(version int, dir string) (int64, string, error) {
	if version == 1 {
		if sw := bytesLimit(filepath.Join(dir, "memory.memsw.limit_in_bytes")); sw > 0 && sw <= oneMemoryLimit(1, dir) {
			return 0, "", fmt.Errorf("the memory-and-swap limit is the memory limit: memory.failcnt does not count")
		}
		n, err := strconv.ParseInt(readLine(filepath.Join(dir, "memory.failcnt")), 10, 64)
		return n, "memory.failcnt", err
	}
	b, err := os.ReadFile(filepath.Join(dir, "memory.events"))
	if err != nil {
		return 0, "", err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "max "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, "memory.events", err
		}
	}
	return 0, "", fmt.Errorf("memory.events has no max line")
}

// readLine is a file's first line, trimmed; empty when unreadable.
func readLine(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// limitsReader reads a process's limits once and its OOM kills again
// later.
type limitsReader struct {
	dirs      cgroupDirs
	oomStart  int64
	hitsStart int64
	limits    result.ProcessLimits
}

// readLimits reads what pid may use. What cannot be read is left out:
// a process without a cgroup file system still has its affinity and the
// machine's CPUs.
func readLimits(fsys procfs.FS, pid int) (*limitsReader, error) {
	r := &limitsReader{}
	l := &r.limits
	if cpus, err := fsys.CPUInfo(); err == nil {
		l.HostCPUs = len(cpus)
	}
	p, err := fsys.Proc(pid)
	if err != nil {
		return nil, err
	}
	if st, err := p.NewStatus(); err == nil {
		l.AffinityCPUs = len(st.CpusAllowedList)
	}
	if d, err := cgroupsOf(fsys, pid); err == nil && d.version > 0 {
		r.dirs = d
		if d.cpu != "" {
			l.CgroupCPU = round3(cpuQuota(d.version, d.cpu, d.cpuRoot))
		}
		if d.memory != "" {
			l.Cgroup = fmt.Sprintf("v%d:%s", d.version, d.memPath)
			l.MemoryMB = round3(memoryLimit(d.version, d.memory, d.memRoot) / mb)
			if n, src, err := oomKills(d.version, d.memory); err == nil {
				r.oomStart, l.OOMSource, l.OOMCountStart = n, src, n
			}
			if n, src, err := limitHits(d.version, d.memory); err == nil {
				r.hitsStart, l.LimitHitsSource = n, src
			}
		}
	}
	l.SettleCPU()
	return r, nil
}

// OOMKillsSince is how many OOM kills the cgroup of l (a watch's reading
// of a process, which may be gone now) counted since that watch started;
// false when it cannot be read.
func OOMKillsSince(l *result.ProcessLimits) (int64, bool) {
	fsys, err := procfs.NewFS(procfs.DefaultMountPoint)
	if err != nil {
		return 0, false
	}
	return oomKillsSince(fsys, l)
}

// oomKillsSince is OOMKillsSince with the mount table of fsys.
func oomKillsSince(fsys procfs.FS, l *result.ProcessLimits) (int64, bool) {
	if l == nil || l.OOMSource == "" || l.Cgroup == "" {
		return 0, false
	}
	v, p, ok := strings.Cut(l.Cgroup, ":")
	version := map[string]int{"v1": 1, "v2": 2}[v]
	if !ok || version == 0 {
		return 0, false
	}
	mounts, err := fsys.GetMounts()
	if err != nil {
		return 0, false
	}
	for _, m := range mounts {
		if version == 1 && (m.FSType != "cgroup" || !hasOpt(m, "memory")) || version == 2 && m.FSType != "cgroup2" {
			continue
		}
		rel := p
		if m.Root != "/" && m.Root != "" {
			rel = strings.TrimPrefix(p, m.Root)
		}
		n, _, err := oomKills(version, filepath.Join(m.MountPoint, filepath.FromSlash(path.Clean("/"+rel))))
		if err == nil && n >= l.OOMCountStart {
			return n - l.OOMCountStart, true
		}
	}
	return 0, false
}

// oom updates the counts of OOM kills and of limit hits since the start.
func (r *limitsReader) oom() {
	if r == nil {
		return
	}
	if r.limits.OOMSource != "" {
		if n, _, err := oomKills(r.dirs.version, r.dirs.memory); err == nil && n >= r.oomStart {
			r.limits.OOMKills = n - r.oomStart
		}
	}
	if r.limits.LimitHitsSource != "" {
		if n, _, err := limitHits(r.dirs.version, r.dirs.memory); err == nil && n >= r.hitsStart {
			r.limits.LimitHits = n - r.hitsStart
		}
	}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
