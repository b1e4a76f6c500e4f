package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

const (
	mb = 1 << 20
	// userHZ is the unit of the CPU times in /proc/<pid>/stat: the kernel
	// reports them in USER_HZ, which is 100 on every Linux ABI.
	userHZ = 100
)

// processSampler reads one process from /proc.
type processSampler struct {
	fs    procfs.FS
	pid   int
	name  string
	start uint64 // start time in ticks since boot: tells a reused pid apart
	ts    func(time.Time) float64

	prev    procCounters
	prevAt  time.Time
	primed  bool
	exited  bool
	exitTS  float64
	noIO    bool // /proc/<pid>/io was unreadable once; not tried again
	noFDs   bool
	summary processSummary
	limits  *limitsReader // nil when /proc did not say
}

// procCounters are the cumulative counters rates are taken from.
type procCounters struct {
	user, system float64 // CPU seconds
	read, write  uint64  // bytes from and to storage
	switches     uint64  // voluntary and involuntary context switches
}

// processSummary accumulates ProcessStats over the points with process data,
// so that the summary costs no memory per point.
type processSummary struct {
	n                     int
	cpuSum, cpuMax        float64
	rssStart, rssMax, rss float64
	thrSum, thrMax        float64
	fdSum, fdMax          float64
}

var _ sampler = (*processSampler)(nil)

// newProcessSampler finds the process ref names: by pid, else by pid file,
// else by name (the lowest pid whose command name or executable base name
// matches; several matches are a warning).
func newProcessSampler(fsys procfs.FS, ref *plan.ProcessRef, ts func(time.Time) float64, warn *warnings) (*processSampler, error) {
	pid, err := findPID(fsys, ref, warn)
	if err != nil {
		return nil, err
	}
	p, err := fsys.Proc(pid)
	if err != nil {
		return nil, fmt.Errorf("%w: pid %d", ErrNoProcess, pid)
	}
	st, err := p.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: pid %d: %v", ErrNoProcess, pid, err)
	}
	if gone(st) {
		return nil, fmt.Errorf("%w: pid %d has exited", ErrNoProcess, pid)
	}
	s := &processSampler{fs: fsys, pid: pid, name: st.Comm, start: st.Starttime, ts: ts}
	if l, err := readLimits(fsys, pid); err == nil {
		s.limits = l
		if l.limits.OOMSource == "" {
			warn.add("process-oom", fmt.Sprintf("process %d: its cgroup's OOM kill counter is unreadable: an exit will not be told from an OOM kill", pid))
		}
	}
	return s, nil
}

// findPID is the pid ref names: by pid, else by pid file, else by name
// (the lowest pid whose command name or executable base name matches;
// several matches are a warning).
func findPID(fsys procfs.FS, ref *plan.ProcessRef, warn *warnings) (int, error) {
	pid := int(ref.PID)
	switch {
	case pid > 0:
	case ref.PIDFile != "":
		b, err := os.ReadFile(ref.PIDFile)
		if err != nil {
			return 0, fmt.Errorf("cannot read pid file: %w", err)
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			return 0, fmt.Errorf("pid file %s holds %q, not a process id", ref.PIDFile, strings.TrimSpace(string(b)))
		}
	case ref.Name != "":
		pids, err := findByName(fsys, ref.Name)
		if err != nil {
			return 0, err
		}
		if len(pids) == 0 {
			return 0, fmt.Errorf("%w named %q", ErrNoProcess, ref.Name)
		}
		if len(pids) > 1 {
			warn.add("process-name", fmt.Sprintf("process name %q matches %d processes (%s); watching %d, the oldest pid", ref.Name, len(pids), joinPIDs(pids, 5), pids[0]))
		}
		pid = pids[0]
	default:
		return 0, errors.New("process: give a pid, a pid_file or a name")
	}
	return pid, nil
}

// ProcessDir is the working directory of the process ref names, as the
// watch would find it (by pid, pid file or name): where a service keeps
// the files it names relatively, on the device its disk I/O most likely
// goes to.
func ProcessDir(ref *plan.ProcessRef) (string, error) {
	fsys, err := procfs.NewFS(procfs.DefaultMountPoint)
	if err != nil {
		return "", err
	}
	pid, err := findPID(fsys, ref, &warnings{logf: func(string, ...any) {}})
	if err != nil {
		return "", err
	}
	p, err := fsys.Proc(pid)
	if err != nil {
		return "", fmt.Errorf("%w: pid %d", ErrNoProcess, pid)
	}
	return p.Cwd()
}

func findByName(fsys procfs.FS, name string) ([]int, error) {
	procs, err := fsys.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("cannot list processes: %w", err)
	}
	self := os.Getpid()
	var pids []int
	for _, p := range procs {
		if p.PID == self {
			continue
		}
		if comm, err := p.Comm(); err == nil && comm == name {
			pids = append(pids, p.PID)
			continue
		}
		if exe, err := p.Executable(); err == nil && filepath.Base(exe) == name {
			pids = append(pids, p.PID)
			continue
		}
		if args, err := p.CmdLine(); err == nil && len(args) > 0 && filepath.Base(args[0]) == name {
			pids = append(pids, p.PID)
		}
	}
	sort.Ints(pids)
	return pids, nil
}

func joinPIDs(pids []int, limit int) string {
	var parts []string
	for i, p := range pids {
		if i == limit {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, strconv.Itoa(p))
	}
	return strings.Join(parts, ", ")
}

// gone reports a process that has exited but is not yet reaped.
func gone(st procfs.ProcStat) bool { return st.State == "Z" || st.State == "X" }

func isGone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

func (s *processSampler) sample(_ context.Context, now time.Time, pt *result.SystemPoint) error {
	if s.exited {
		return nil
	}
	p, err := s.fs.Proc(s.pid)
	var st procfs.ProcStat
	if err == nil {
		st, err = p.Stat()
	}
	if err != nil && !isGone(err) {
		return warnf("process-stat", "process %d: cannot read its stat at %.1f s: %v", s.pid, s.ts(now), err)
	}
	if err != nil || gone(st) || st.Starttime != s.start {
		s.exited = true
		s.exitTS = s.ts(now)
		s.limits.oom() // now, before a supervisor's restart can move the cgroup
		return warnf("process-exit", "process %d exited at %.1f s; later points have no process data", s.pid, s.exitTS)
	}
	c := procCounters{user: float64(st.UTime) / userHZ, system: float64(st.STime) / userHZ}
	var warn error
	c.switches = s.prev.switches // unless read below: a failed read is no switch
	if status, err := p.NewStatus(); err == nil {
		c.switches = status.TotalCtxtSwitches()
	}
	c.read, c.write = s.prev.read, s.prev.write
	if !s.noIO {
		if io, err := p.IO(); err == nil {
			c.read, c.write = io.ReadBytes, io.WriteBytes
		} else if !isGone(err) {
			s.noIO = true
			warn = warnf("process-io", "process %d: cannot read its I/O counters (%v); read and write rates left out", s.pid, err)
		}
	}
	fds := 0
	if !s.noFDs {
		if n, err := p.FileDescriptorsLen(); err == nil {
			fds = n
		} else if !isGone(err) {
			s.noFDs = true
			warn = errors.Join(warn, warnf("process-fds", "process %d: cannot count its open files (%v); fds left out", s.pid, err))
		}
	}

	pt.RSSMB = float64(st.ResidentMemory()) / mb
	pt.Threads = int32(st.NumThreads)
	pt.FDs = int32(fds)
	if s.primed {
		if dt := now.Sub(s.prevAt).Seconds(); dt > 0 {
			pt.CPUUser = 100 * (c.user - s.prev.user) / dt
			pt.CPUSystem = 100 * (c.system - s.prev.system) / dt
			pt.CPUPercent = pt.CPUUser + pt.CPUSystem
			pt.ReadBPS = rate(c.read, s.prev.read, dt)
			pt.WriteBPS = rate(c.write, s.prev.write, dt)
			pt.CtxSwitches = rate(c.switches, s.prev.switches, dt)
		}
		s.summary.add(pt)
	}
	s.prev, s.prevAt, s.primed = c, now, true
	return warn
}

// rate is the per-second increase of a counter; a counter that went back
// (an interface that disappeared, a file that became unreadable) gives 0.
func rate(cur, prev uint64, dt float64) float64 {
	if cur < prev {
		return 0
	}
	return float64(cur-prev) / dt
}

func (m *processSummary) add(pt *result.SystemPoint) {
	m.n++
	if m.n == 1 {
		m.rssStart = pt.RSSMB
	}
	m.rss = pt.RSSMB
	m.rssMax = max(m.rssMax, pt.RSSMB)
	m.cpuSum += pt.CPUPercent
	m.cpuMax = max(m.cpuMax, pt.CPUPercent)
	m.thrSum += float64(pt.Threads)
	m.thrMax = max(m.thrMax, float64(pt.Threads))
	m.fdSum += float64(pt.FDs)
	m.fdMax = max(m.fdMax, float64(pt.FDs))
}

// checkGone marks the process exited when it is gone at now: the end of
// the watch, which may come after the last sample.
func (s *processSampler) checkGone(now time.Time) {
	if s.exited {
		return
	}
	p, err := s.fs.Proc(s.pid)
	var st procfs.ProcStat
	if err == nil {
		st, err = p.Stat()
	}
	if (err != nil && isGone(err)) || (err == nil && (gone(st) || st.Starttime != s.start)) {
		s.exited, s.exitTS = true, s.ts(now)
		s.limits.oom()
	}
}

func (s *processSampler) stats() *result.ProcessStats {
	ps := &result.ProcessStats{PID: int32(s.pid), Name: s.name, Exited: s.exited, ExitedAtS: s.exitTS}
	if s.limits != nil {
		if !s.exited {
			s.limits.oom()
		}
		l := s.limits.limits
		ps.Limits = &l
	}
	if m := s.summary; m.n > 0 {
		n := float64(m.n)
		ps.CPUPercent = result.Stat{Mean: m.cpuSum / n, Max: m.cpuMax}
		ps.RSSMB = result.Span{Start: m.rssStart, Max: m.rssMax, End: m.rss}
		ps.Threads = result.Stat{Mean: m.thrSum / n, Max: m.thrMax}
		ps.FDs = result.Stat{Mean: m.fdSum / n, Max: m.fdMax}
	}
	return ps
}

// hostSampler reads the machine stampede runs on from /proc.
type hostSampler struct {
	fs procfs.FS

	prevCPU   procfs.CPUStat
	cpuPrimed bool
	prevIn    uint64
	prevOut   uint64
	prevNetAt time.Time
	netPrimed bool
}

var _ sampler = (*hostSampler)(nil)

func (h *hostSampler) sample(_ context.Context, now time.Time, pt *result.SystemPoint) error {
	var errs []error
	st, statErr := h.fs.Stat()
	if statErr != nil {
		errs = append(errs, statErr)
	}
	if mem, err := h.fs.Meminfo(); err == nil && mem.MemTotal != nil && mem.MemAvailable != nil && *mem.MemTotal > 0 {
		pt.HostMemPct = 100 * float64(*mem.MemTotal-*mem.MemAvailable) / float64(*mem.MemTotal)
	} else if err != nil {
		errs = append(errs, err)
	}
	if load, err := h.fs.LoadAvg(); err == nil {
		pt.HostLoad1 = load.Load1
	} else {
		errs = append(errs, err)
	}
	var in, out uint64
	dev, netErr := h.fs.NetDev()
	if netErr != nil {
		errs = append(errs, netErr)
	}
	for name, line := range dev {
		if name != "lo" {
			in += line.RxBytes
			out += line.TxBytes
		}
	}
	// A source that could not be read keeps its last reading, so that its
	// next rate is over the longer interval rather than from zero.
	if statErr == nil {
		if h.cpuPrimed {
			pt.HostCPU = busyPercent(h.prevCPU, st.CPUTotal)
			pt.HostIOWait = iowaitPercent(h.prevCPU, st.CPUTotal)
		}
		h.prevCPU, h.cpuPrimed = st.CPUTotal, true
	}
	if netErr == nil {
		if dt := now.Sub(h.prevNetAt).Seconds(); h.netPrimed && dt > 0 {
			pt.NetInBPS = rate(in, h.prevIn, dt)
			pt.NetOutBPS = rate(out, h.prevOut, dt)
		}
		h.prevIn, h.prevOut, h.prevNetAt, h.netPrimed = in, out, now, true
	}
	if len(errs) > 0 {
		return warnf("host", "host: cannot read %v", errors.Join(errs...))
	}
	return nil
}

// cpuTotal is all the CPU time of a reading. Guest time is already
// counted in user and nice.
func cpuTotal(c procfs.CPUStat) float64 {
	return c.User + c.Nice + c.System + c.Idle + c.Iowait + c.IRQ + c.SoftIRQ + c.Steal
}

// iowaitPercent is the share of CPU time between two readings spent idle
// while disk I/O was outstanding, over all cores: the host waiting for
// its disks.
func iowaitPercent(a, b procfs.CPUStat) float64 {
	dt := cpuTotal(b) - cpuTotal(a)
	if dt <= 0 {
		return 0
	}
	return 100 * max(0, b.Iowait-a.Iowait) / dt
}

// busyPercent is the share of CPU time between two readings that was
// neither idle nor waiting for I/O, over all cores.
func busyPercent(a, b procfs.CPUStat) float64 {
	total := func(c procfs.CPUStat) float64 {
		// Guest time is already counted in user and nice.
		return c.User + c.Nice + c.System + c.Idle + c.Iowait + c.IRQ + c.SoftIRQ + c.Steal
	}
	dt := total(b) - total(a)
	if dt <= 0 {
		return 0
	}
	idle := (b.Idle + b.Iowait) - (a.Idle + a.Iowait)
	return 100 * (dt - idle) / dt
}
