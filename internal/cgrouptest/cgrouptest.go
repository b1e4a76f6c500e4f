// Package cgrouptest makes throwaway cgroups for tests: a directory of
// the hierarchy that has the controller asked for (cgroup v1, one
// hierarchy per controller, or the v2 unified one with the controller
// enabled for its children), limits written into it, a child process
// moved in, and the directory removed when the test ends. Where no such
// hierarchy is writable (not root, no cgroup file system, a container
// that mounts it read-only) the test is skipped, saying why — or fails,
// when STAMPEDE_REQUIRE_CGROUP=1 says the machine has one (CI, as root).
//
// Fake builds the other kind of test's tree: a /proc and a cgroup file
// system in a temporary directory, with the files the kernel writes in
// the formats it writes them, for the version of cgroup this machine
// does not have (a v2 hierarchy whose cpu and memory controllers are
// held by v1 has no cpu.max or memory.max to read).
package cgrouptest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// EnvRequire is the variable that turns New's skips into failures.
const EnvRequire = "STAMPEDE_REQUIRE_CGROUP"

// skip skips t saying why, or fails it when EnvRequire is 1.
func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf(format+" (and %s=1 requires a writable cgroup)", append(args, EnvRequire)...)
	}
	t.Skipf(format, args...)
}

// Group is a cgroup made for a test.
type Group struct {
	t       testing.TB
	Dir     string
	Version int // 1 or 2
}

// New makes a cgroup of controller's hierarchy ("cpu", "memory") and
// removes it when the test ends (after the test's own cleanups that
// were registered later, such as killing the processes in it).
func New(t testing.TB, controller string) *Group {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "making a cgroup needs root")
	}
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		skip(t, "no /proc/self/mounts")
	}
	defer f.Close()
	var root string
	version := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() && root == "" {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 {
			continue
		}
		switch fields[2] {
		case "cgroup":
			if slices.Contains(strings.Split(fields[3], ","), controller) {
				root, version = fields[1], 1
			}
		case "cgroup2":
			b, _ := os.ReadFile(filepath.Join(fields[1], "cgroup.subtree_control"))
			if slices.Contains(strings.Fields(string(b)), controller) {
				root, version = fields[1], 2
			}
		}
	}
	if root == "" {
		skip(t, "no cgroup hierarchy with the %s controller enabled", controller)
	}
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	dir := filepath.Join(root, fmt.Sprintf("stampede-test-%d-%s", os.Getpid(), name))
	if err := os.Mkdir(dir, 0o755); err != nil {
		skip(t, "cannot make a cgroup: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("cannot remove the test cgroup %s: %v", dir, err)
		}
	})
	return &Group{t: t, Dir: dir, Version: version}
}

// Set writes value into the group's file name, skipping the test when
// the kernel refuses it.
func (g *Group) Set(name, value string) {
	g.t.Helper()
	if err := os.WriteFile(filepath.Join(g.Dir, name), []byte(value), 0); err != nil {
		skip(g.t, "cannot set %s: %v", name, err)
	}
}

// Read is the group's file name, trimmed (a test's own reading of a
// counter, to compare with what the code under test read).
func (g *Group) Read(name string) string {
	g.t.Helper()
	b, err := os.ReadFile(filepath.Join(g.Dir, name))
	if err != nil {
		g.t.Fatalf("reading %s: %v", name, err)
	}
	return strings.TrimSpace(string(b))
}

// Counter is the value of key in the group's key-value file name
// (memory.events, memory.oom_control); -1 when it has no such line.
func (g *Group) Counter(name, key string) int64 {
	g.t.Helper()
	for line := range strings.Lines(g.Read(name)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		if k == key {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				g.t.Fatalf("%s: %q: %v", name, line, err)
			}
			return n
		}
	}
	return -1
}

// Exec is a command line prefix that starts a program already in the
// group (sh writes its own pid into cgroup.procs, then execs the program
// named next, with the arguments after it): all the program's threads
// and children are in the group from their start.
func (g *Group) Exec() []string {
	return []string{"/bin/sh", "-c", `echo $$ > "$0" && exec "$@"`, filepath.Join(g.Dir, "cgroup.procs")}
}

// Has says whether the group has the file name (memory.memsw.* exists
// only where swap accounting is on).
func (g *Group) Has(name string) bool {
	_, err := os.Stat(filepath.Join(g.Dir, name))
	return err == nil
}

// CPUQuota limits the group to cores CPUs' worth of time per 100 ms.
func (g *Group) CPUQuota(cores float64) {
	g.t.Helper()
	quota := strconv.Itoa(int(cores * 100000))
	if g.Version == 2 {
		g.Set("cpu.max", quota+" 100000")
		return
	}
	g.Set("cpu.cfs_period_us", "100000")
	g.Set("cpu.cfs_quota_us", quota)
}

// CPUFirst gives the group the most CPU weight there is (cpu.shares
// 262144 in v1, cpu.weight 10000 in v2): on a machine busy with other
// work its processes get the CPU before anything else, up to its quota —
// so that a test sees the quota, not its share of a crowded machine.
// Set a quota with it.
func (g *Group) CPUFirst() {
	g.t.Helper()
	if g.Version == 2 {
		g.Set("cpu.weight", "10000")
		return
	}
	g.Set("cpu.shares", "262144")
}

// MemoryLimit limits the group's memory to bytes, swap included (in v1
// the memory-and-swap limit is a mebibyte over it, so that the kernel
// refuses charges at the memory limit and counts them in
// memory.failcnt: at an equal limit it refuses at memory-and-swap and
// counts them nowhere).
func (g *Group) MemoryLimit(bytes int64) {
	g.t.Helper()
	n := strconv.FormatInt(bytes, 10)
	if g.Version == 2 {
		g.Set("memory.max", n)
		if g.Has("memory.swap.max") {
			g.Set("memory.swap.max", "0")
		}
		return
	}
	g.Set("memory.limit_in_bytes", n)
	if g.Has("memory.memsw.limit_in_bytes") {
		g.Set("memory.memsw.limit_in_bytes", strconv.FormatInt(bytes+1<<20, 10))
	}
}

// Join moves process pid into the group. Kill the process before the
// test ends: a cgroup with a process in it cannot be removed.
func (g *Group) Join(pid int) {
	g.t.Helper()
	g.Set("cgroup.procs", strconv.Itoa(pid))
}
