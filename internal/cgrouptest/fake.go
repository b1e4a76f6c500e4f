package cgrouptest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FakePID is the pid of the process of a Fake tree.
const FakePID = 4242

// FakePath is the cgroup of the process of a Fake tree, as
// /proc/PID/cgroup names it.
const FakePath = "/stampede.slice/svc.service"

// Tree is a fake /proc and cgroup file system: one process, FakePID, in
// the cgroup FakePath of every hierarchy, on a machine of two CPUs.
type Tree struct {
	t       testing.TB
	Version int
	// Proc is the directory to read as /proc (procfs.NewFS(Proc)).
	Proc string
	// Mounts are the hierarchies' mount points: the one of v2, or v1's
	// "cpu,cpuacct" then "memory".
	Mounts []string
}

// The files the kernel writes in a new cgroup, as it writes them, in
// the cgroup of the process and in its parent; Set overrides them.
var (
	v2Files = map[string]string{
		"cpu.max":       "max 100000\n",
		"memory.max":    "max\n",
		"memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
	}
	v1CPUFiles = map[string]string{
		"cpu.cfs_quota_us":  "-1\n",
		"cpu.cfs_period_us": "100000\n",
	}
	v1MemoryFiles = map[string]string{
		"memory.limit_in_bytes": "9223372036854771712\n", // "no limit": the largest page-aligned int64
		"memory.failcnt":        "0\n",
		"memory.oom_control":    "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
	}
)

// Fake builds a Tree of cgroup version (1 or 2) in a temporary
// directory.
func Fake(t testing.TB, version int) *Tree {
	t.Helper()
	root := t.TempDir()
	tr := &Tree{t: t, Version: version, Proc: filepath.Join(root, "proc")}
	pid := fmt.Sprint(FakePID)
	var cgroup, mountinfo strings.Builder
	// mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS OPTIONAL - FSTYPE SOURCE SUPEROPTIONS
	switch version {
	case 2:
		m := filepath.Join(root, "sys/fs/cgroup")
		tr.Mounts = []string{m}
		fmt.Fprintf(&mountinfo, "35 24 0:30 / %s rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n", m)
		cgroup.WriteString("0::" + FakePath + "\n")
		tr.write(filepath.Join(m, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n")
		tr.write(filepath.Join(m, "cgroup.subtree_control"), "cpu memory pids\n")
		for _, d := range []string{filepath.Dir(FakePath), FakePath} {
			for name, v := range v2Files {
				tr.write(filepath.Join(m, d, name), v)
			}
		}
	case 1:
		cpu, mem := filepath.Join(root, "sys/fs/cgroup/cpu,cpuacct"), filepath.Join(root, "sys/fs/cgroup/memory")
		tr.Mounts = []string{cpu, mem}
		fmt.Fprintf(&mountinfo, "31 25 0:27 / %s rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct\n", cpu)
		fmt.Fprintf(&mountinfo, "33 25 0:29 / %s rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory\n", mem)
		fmt.Fprintf(&cgroup, "12:pids:%s\n5:memory:%s\n3:cpu,cpuacct:%s\n1:name=systemd:%s\n", FakePath, FakePath, FakePath, FakePath)
		for _, d := range []string{filepath.Dir(FakePath), FakePath} {
			for name, v := range v1CPUFiles {
				tr.write(filepath.Join(cpu, d, name), v)
			}
			for name, v := range v1MemoryFiles {
				tr.write(filepath.Join(mem, d, name), v)
			}
		}
	default:
		t.Fatalf("cgroup version %d: 1 or 2", version)
	}
	fmt.Fprintf(&mountinfo, "24 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n")
	for _, dir := range []string{pid, "self"} {
		tr.write(filepath.Join(tr.Proc, dir, "mountinfo"), mountinfo.String())
		tr.write(filepath.Join(tr.Proc, dir, "cgroup"), cgroup.String())
	}
	tr.write(filepath.Join(tr.Proc, pid, "status"), "Name:\tsvc\nState:\tS (sleeping)\nPid:\t"+pid+"\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n")
	tr.write(filepath.Join(tr.Proc, "cpuinfo"), "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu cores\t: 2\n\nprocessor\t: 1\nvendor_id\t: GenuineIntel\ncpu cores\t: 2\n\n")
	return tr
}

// Set writes value into the file name of the process's cgroup (the one
// of the hierarchy that has it, in v1), or of its parent when parent.
func (tr *Tree) Set(name, value string, parent bool) {
	tr.t.Helper()
	d := FakePath
	if parent {
		d = filepath.Dir(FakePath)
	}
	m := tr.Mounts[0]
	if tr.Version == 1 && strings.HasPrefix(name, "memory.") {
		m = tr.Mounts[1]
	}
	tr.write(filepath.Join(m, d, name), value)
}

func (tr *Tree) write(name, value string) {
	tr.t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(value), 0o644); err != nil {
		tr.t.Fatal(err)
	}
}

// SetRoot writes value into the file name at the root of the (first)
// hierarchy.
func (tr *Tree) SetRoot(name, value string) {
	tr.t.Helper()
	tr.write(filepath.Join(tr.Mounts[0], name), value)
}
