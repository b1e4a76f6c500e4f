package result

// System is what the watch saw of the system under test during the run.
// Timeline points are aligned with Run.Series by T (seconds since run start).
// The watch fills Process, Timeline, Profiles and Warnings; analysis fills
// Hotspots, Contention, Heap and GC from them.
type System struct {
	Process    *ProcessStats `json:"process,omitempty"`
	IntervalS  float64       `json:"interval_s,omitempty"` // sampling interval
	Timeline   []SystemPoint `json:"timeline,omitempty"`
	Hotspots   []Hotspot     `json:"hotspots,omitempty"`
	Contention []Contention  `json:"contention,omitempty"`
	Heap       *Heap         `json:"heap,omitempty"`
	GC         *GC           `json:"gc,omitempty"`
	Profiles   []Profile     `json:"profiles,omitempty"`
	Database   *Database     `json:"database,omitempty"`
	Warnings   []string      `json:"warnings,omitempty"`
	// Module tells the program's own code from its dependencies;
	// Alloc is the CPU spent allocating and collecting, and who allocates.
	Module *Module        `json:"module,omitempty"`
	Alloc  *AllocPressure `json:"alloc,omitempty"`
	// Goroutines is the trend of the goroutine count over the steady
	// part of the run, and which stacks grew from start to end.
	Goroutines *GoroutineTrend `json:"goroutines,omitempty"`
	// Waits is where the goroutines serving requests were, from the
	// goroutine snapshots taken while the CPU profile ran: computing or
	// waiting, and on what.
	Waits *Waits `json:"waits,omitempty"`
	// RequestCPUPct is the share of the CPU profile's samples taken while
	// a request was being served (under the HTTP or gRPC server's handler
	// call); zero when the profile shows no server it knows.
	RequestCPUPct float64 `json:"request_cpu_pct,omitempty"`
	// CPUProfileCoverage is the CPU time the CPU profile sampled over the
	// CPU time the process used in the same span (from the timeline):
	// near 1 when the profile saw all of it. The kernel checks a thread's
	// CPU timer at its scheduler tick, so a lightly loaded program that
	// works in bursts shorter than a tick is sampled late or not at all,
	// and the profile's shares lean towards its longer-running work. Zero
	// when unknown (no process samples over the profile's span).
	CPUProfileCoverage float64 `json:"cpu_profile_coverage,omitempty"`
	// CPUSamples is how many samples the CPU profile holds: the shares
	// of Hotspots and Alloc are fractions of them, as firm as their
	// number allows (a quarter of 60 samples could be a sixth).
	CPUSamples int `json:"cpu_samples,omitempty"`
}

// Waits is where the goroutines serving requests spent their time, from
// goroutine snapshots (see watch): each snapshot counts the goroutines
// inside a request handler by what they were doing. By Little's law a
// state's average number of goroutines divided by the throughput is the
// time each request spends in it.
type Waits struct {
	Snapshots int     `json:"snapshots"`
	SpanS     float64 `json:"span_s"`
	// InRequest is the average number of goroutines serving a request,
	// Observations their count summed over the snapshots.
	InRequest    float64 `json:"in_request"`
	Observations int64   `json:"observations"`
	// RPS is the throughput over the snapshots' span, when known.
	RPS    float64     `json:"rps,omitempty"`
	States []WaitState `json:"states"`
}

// WaitState is one thing request goroutines were doing: cpu (running or
// runnable), dependency (an outgoing HTTP or gRPC call), network (another
// socket of its own), database (database/sql), disk (file system calls;
// fsync among them), lock, channel (waiting on other goroutines), sleep,
// client (reading the request or writing the response), runtime (stopped
// in the runtime below its own code, from a snapshot in the text form,
// which leaves the runtime's frames out: a channel or select wait, or
// preempted while computing), other. Pct is
// its share of the observations, Goroutines its average count, MSPerReq
// the time per request it stands for (zero without a throughput).
type WaitState struct {
	State      string     `json:"state"`
	Pct        float64    `json:"pct"`
	Goroutines float64    `json:"goroutines"`
	MSPerReq   float64    `json:"ms_per_request,omitempty"`
	Sites      []WaitSite `json:"sites,omitempty"`
}

// WaitSite is where a state's time is spent: the own function nearest
// above the wait (the function to change), the call that identifies the
// wait (Via: net/http.(*Client).Do, os.(*File).Sync, …) and its share of
// all observations.
type WaitSite struct {
	Function string  `json:"function"`
	Own      bool    `json:"own,omitempty"`
	Via      string  `json:"via,omitempty"`
	Detail   string  `json:"detail,omitempty"` // fsync, connection pool, …
	Pct      float64 `json:"pct"`
}

// ProcessStats summarises the watched process over the run.
type ProcessStats struct {
	PID        int32   `json:"pid"`
	Name       string  `json:"name,omitempty"`
	CPUPercent Stat    `json:"cpu_percent"`
	RSSMB      Span    `json:"rss_mb"`
	Threads    Stat    `json:"threads"`
	FDs        Stat    `json:"fds"`
	Exited     bool    `json:"exited,omitempty"`
	ExitedAtS  float64 `json:"exited_at_s,omitempty"` // when the watch saw it gone
	// Limits are the resources the kernel lets it use, read from /proc
	// and its cgroup when the watch started (nil where /proc has none).
	Limits *ProcessLimits `json:"limits,omitempty"`
}

// ProcessLimits are what the watched process may use, each with where it
// came from, so that a verdict on its CPU or memory is judged against its
// own share of the machine rather than the machine.
type ProcessLimits struct {
	// CPUCores is the cores it may use: the least of the machine's CPUs
	// (HostCPUs), its affinity mask (AffinityCPUs, Cpus_allowed_list of
	// /proc/PID/status), its cgroup's CPU quota (CgroupCPU: cpu.max, or
	// cpu.cfs_quota_us ÷ cpu.cfs_period_us in cgroup v1, the least along
	// the path to the root; 0 when unlimited) and, for a Go program whose
	// metrics the watch scrapes, GOMAXPROCS (go_sched_gomaxprocs_threads).
	// CPUSource names the one that set it: host, affinity, cgroup or
	// gomaxprocs.
	CPUCores     float64 `json:"cpu_cores"`
	CPUSource    string  `json:"cpu_source"`
	HostCPUs     int     `json:"host_cpus"`
	AffinityCPUs int     `json:"affinity_cpus,omitempty"`
	CgroupCPU    float64 `json:"cgroup_cpu_cores,omitempty"`
	GOMAXPROCS   int     `json:"gomaxprocs,omitempty"`
	// Cgroup is the process's cgroup ("v2:/a/b", or "v1:/a/b" of the
	// memory controller's hierarchy); MemoryMB its memory limit (memory.max,
	// or memory.limit_in_bytes in v1, the least along the path to the root;
	// 0 when unlimited).
	Cgroup   string  `json:"cgroup,omitempty"`
	MemoryMB float64 `json:"memory_limit_mb,omitempty"`
	// OOMKills is how many processes of the cgroup the kernel's OOM killer
	// killed while the watch ran (the oom_kill counter of memory.events, or
	// memory.oom_control in v1, at the end or when the process was gone,
	// less at the start); OOMSource names the file read, empty when
	// neither was readable (then an exit is not told from an OOM kill).
	OOMKills  int64  `json:"oom_kills,omitempty"`
	OOMSource string `json:"oom_source,omitempty"`
	// OOMCountStart is the counter itself when the watch started.
	OOMCountStart int64 `json:"oom_kill_count_start,omitempty"`
	// LimitHits is how often the cgroup's memory use reached its limit
	// while the watch ran — each time the kernel had to reclaim or, that
	// failing, kill: the max counter of memory.events, or memory.failcnt
	// in v1, at the end less at the start; LimitHitsSource names the file
	// read, empty when neither was.
	LimitHits       int64  `json:"memory_limit_hits,omitempty"`
	LimitHitsSource string `json:"memory_limit_hits_source,omitempty"`
}

// SettleCPU sets CPUCores and CPUSource to the least of the known CPU
// limits, the machine's CPUs first: a limit equal to a looser one's does
// not take its name.
func (l *ProcessLimits) SettleCPU() {
	l.CPUCores, l.CPUSource = float64(l.HostCPUs), "host"
	for _, c := range []struct {
		v   float64
		src string
	}{{float64(l.AffinityCPUs), "affinity"}, {l.CgroupCPU, "cgroup"}, {float64(l.GOMAXPROCS), "gomaxprocs"}} {
		if c.v > 0 && (l.CPUCores <= 0 || c.v < l.CPUCores) {
			l.CPUCores, l.CPUSource = c.v, c.src
		}
	}
}

// Stat is a mean and a maximum.
type Stat struct {
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
}

// Span is a start, a maximum and an end.
type Span struct {
	Start float64 `json:"start"`
	Max   float64 `json:"max"`
	End   float64 `json:"end"`
}

// SystemPoint is one sample interval of the system under test. Like a
// Window of Run.Series, the point at TS covers [TS, TS + interval): rates
// are over that interval and gauges are read at its end. Process
// CPU percentages count one core as 100; host CPU is a share of all cores.
// MB are 2^20 bytes. Values absent from a source are left zero and listed in
// the System warnings. Metrics holds the scraped Prometheus series keyed by
// series name and labels sorted by name (`http_requests_total{code="200"}`):
// gauges as read, counters and the _sum/_count of histograms and summaries
// as per-second rates.
//
// HeapLiveMB is the heap that survived the last completed GC cycle (the
// objects reachable at its mark phase): the Go runtime's
// /gc/heap/live:bytes, or derived from the heap goal that cycle set. It
// changes only when a cycle completes, so unlike HeapMB it holds no
// garbage. GCCycles counts the cycles the process completed since it
// started, as read at the point; 0 is "not read" (or none yet).
type SystemPoint struct {
	TS          float64            `json:"t_s"`
	CPUPercent  float64            `json:"cpu_percent"`
	CPUUser     float64            `json:"cpu_user_percent"`
	CPUSystem   float64            `json:"cpu_system_percent"`
	RSSMB       float64            `json:"rss_mb"`
	Threads     int32              `json:"threads"`
	FDs         int32              `json:"fds"`
	ReadBPS     float64            `json:"read_bytes_per_s"`
	WriteBPS    float64            `json:"write_bytes_per_s"`
	CtxSwitches float64            `json:"ctx_switches_per_s"`
	HostCPU     float64            `json:"host_cpu_percent"`
	HostMemPct  float64            `json:"host_mem_percent"`
	HostLoad1   float64            `json:"host_load1"`
	HostIOWait  float64            `json:"host_iowait_percent,omitempty"` // share of the host's CPU time idle with disk I/O outstanding
	NetInBPS    float64            `json:"net_in_bytes_per_s"`
	NetOutBPS   float64            `json:"net_out_bytes_per_s"`
	HeapMB      float64            `json:"heap_inuse_mb,omitempty"`
	Goroutines  float64            `json:"goroutines,omitempty"`
	GCPerS      float64            `json:"gc_per_s,omitempty"`
	GCPausePct  float64            `json:"gc_pause_percent,omitempty"`
	HeapLiveMB  float64            `json:"heap_live_mb,omitempty"` // after the last completed GC
	GCCycles    int64              `json:"gc_cycles,omitempty"`    // completed since the process started
	LastGCAtS   float64            `json:"last_gc_at_s,omitempty"` // when the last completed GC cycle ended, in seconds after t_s (negative: before)
	Metrics     map[string]float64 `json:"metrics,omitempty"`      // scraped series
}

// Hotspot is one function of a CPU profile. Function is the name within its
// package ("(*Server).handle", "hotLoop"); Package is the import path.
type Hotspot struct {
	Function string  `json:"function"`
	Package  string  `json:"package,omitempty"`
	FlatPct  float64 `json:"flat_pct"`
	CumPct   float64 `json:"cum_pct"`
	// TopCallee is the function's largest direct callee and TopCalleePct
	// the share of all samples spent in it below this function: they tell
	// a wrapper (one callee takes nearly all) and a dispatcher (none
	// takes much, little time in itself) from a real hotspot.
	TopCallee    string  `json:"top_callee,omitempty"`
	TopCalleePct float64 `json:"top_callee_pct,omitempty"`
	// Own is set for the program's own code (see Module). OwnBelowPct is
	// the share of all samples in which another own function runs below
	// this one: a function whose time is mostly there only passes it on.
	Own         bool    `json:"own"`
	OwnBelowPct float64 `json:"own_below_pct,omitempty"`
	// RequestPct is the share of all samples in which the function runs
	// while serving a request (see System.RequestCPUPct): a function with
	// much CPU but little of it in requests runs in the background.
	RequestPct float64 `json:"request_pct,omitempty"`
	// Path is where an own function's time goes: the heaviest call path
	// below it, callee first, shortened to the functions that matter
	// (each package entered, the allocator, the end). Callers are the own
	// functions nearest above a function that is not own code, heaviest
	// first. Shares are of all samples.
	Path    []CallShare `json:"path,omitempty"`
	Callers []CallShare `json:"own_callers,omitempty"`
}

// CallShare is a function (full symbol name) and a share of a profile.
type CallShare struct {
	Function string  `json:"function"`
	Pct      float64 `json:"pct"`
	Own      bool    `json:"own,omitempty"`
}

// Module is what the system under test is built from, read from the Go
// build information of its executable. Path is the main module ("" when
// unknown), Deps the dependency modules' paths. Source says where that
// came from: "buildinfo <file>", or "file names" when no executable
// could be read and own code was told from the profile's source file
// names (a dependency's files are in the module cache, "…@v1.2.3/…", or
// under vendor/).
type Module struct {
	Path      string   `json:"path,omitempty"`
	GoVersion string   `json:"go_version,omitempty"`
	Deps      []string `json:"deps,omitempty"`
	Source    string   `json:"source"`
}

// AllocPressure is allocation-driven CPU from the CPU profile and the
// allocation sites from the heap profiles. CPUPct is the share of CPU
// samples in allocation (runtime.mallocgc and below) or garbage
// collection work (mark workers, assists, sweeping, scavenging);
// MallocPct and GCWorkPct are its two parts (a sample in both counts in
// both). CPUCallers are the own functions nearest above the allocator
// in the CPU profile. Sites are the functions that allocated the most
// bytes between the start and end heap profiles (alloc_space), the
// nearest own frame of each allocation, else its first frame outside
// the runtime; AllocMB is their total.
type AllocPressure struct {
	CPUPct    float64 `json:"cpu_pct"`
	MallocPct float64 `json:"malloc_pct"`
	GCWorkPct float64 `json:"gc_work_pct"`
	// IdleMarkPct is the collector's marking on processors that had
	// nothing else to run (runtime.gcDrainMarkWorkerIdle): it fills idle
	// time, takes CPU from no request, and is left out of CPUPct and
	// GCWorkPct.
	IdleMarkPct float64     `json:"idle_mark_pct,omitempty"`
	CPUCallers  []CallShare `json:"cpu_callers,omitempty"`
	Sites       []AllocSite `json:"sites,omitempty"`
	AllocMB     float64     `json:"alloc_mb,omitempty"`
}

// AllocSite is one function and the bytes allocated under it.
type AllocSite struct {
	Function string  `json:"function"`
	Own      bool    `json:"own,omitempty"`
	MB       float64 `json:"mb"`
	Pct      float64 `json:"pct"`
}

// Contention is one function of a mutex or block profile.
type Contention struct {
	Function string  `json:"function"`
	Kind     string  `json:"kind"` // "mutex" or "block"
	DelayPct float64 `json:"delay_pct"`
	DelayS   float64 `json:"delay_s"`
	// Own is set when Function is the program's own code: the first own
	// frame up the stack from the lock. Via is the frame the lock was
	// reached through (sync.(*Mutex).Unlock, a library's function) when
	// it is not Function itself. A delay with no own frame in its stack
	// keeps the first frame outside the lock machinery.
	Own bool   `json:"own,omitempty"`
	Via string `json:"via,omitempty"`
}

// Heap is the heap-growth analysis over the steady part of the load.
// Growth is a Theil–Sen slope; [GrowthCILow, GrowthCIHigh] is its interval
// at the Confidence level (0.99 = 99 %); PValue is the two-sided
// Mann–Kendall p-value of a monotonic trend, corrected for the
// autocorrelation of the timeline. TopGrowth comes from the heap profiles.
//
// Verdict is one of HeapLeakSuspected, HeapNoLeak and HeapInconclusive,
// and VerdictReason says why in a sentence (for an inconclusive verdict,
// what would decide it). LeakSuspected is true exactly when Verdict is
// HeapLeakSuspected; Runs written before Verdict existed have only
// LeakSuspected. GCCycles counts the GC cycles completed within the
// window (0 for RSS, or when the target reports none); the growth of
// each half of the window is Half1MBPerMin and Half2MBPerMin.
type Heap struct {
	StartMB        float64 `json:"start_mb"`
	EndMB          float64 `json:"end_mb"`
	GrowthMBPerMin float64 `json:"growth_mb_per_min"`
	GrowthCILow    float64 `json:"growth_ci_low"`
	GrowthCIHigh   float64 `json:"growth_ci_high"`
	Confidence     float64 `json:"confidence"`
	PValue         float64 `json:"p_value"`
	Points         int     `json:"points"`           // timeline points in the window
	WindowS        float64 `json:"window_s"`         // span of those points
	Source         string  `json:"source,omitempty"` // a HeapSource* constant
	LeakSuspected  bool    `json:"leak_suspected"`
	Verdict        string  `json:"verdict,omitempty"`
	VerdictReason  string  `json:"verdict_reason,omitempty"`
	GCCycles       int     `json:"gc_cycles"`
	Half1MBPerMin  float64 `json:"first_half_mb_per_min"`
	Half2MBPerMin  float64 `json:"second_half_mb_per_min"`
	// GrowthKBPerRequest is the growth per request completed, when the
	// run's windows gave the requests (the rates above are then measured
	// against the requests done, at the window's mean request rate).
	GrowthKBPerRequest float64      `json:"growth_kb_per_request,omitempty"`
	TopGrowth          []HeapGrowth `json:"top_growth,omitempty"`
}

// Heap verdicts.
const (
	HeapLeakSuspected = "leak_suspected"
	HeapNoLeak        = "no_leak"
	HeapInconclusive  = "inconclusive"
)

// Heap sources: the series the growth was measured on, strongest first.
const (
	// HeapSourceLive is the runtime's live heap after each GC
	// (go_gc_heap_live_bytes).
	HeapSourceLive = "heap_live"
	// HeapSourceGoal is the live heap derived from the heap goal each GC
	// sets (go_memstats_next_gc_bytes over 1 + GOGC/100).
	HeapSourceGoal = "heap_goal"
	// HeapSourceInuse is heap in use: live objects and the garbage not
	// yet collected.
	HeapSourceInuse = "heap_inuse"
	// HeapSourceRSS is the process's resident memory.
	HeapSourceRSS = "rss"
)

// HeapGrowth is one allocation site that grew between the heap profiles.
type HeapGrowth struct {
	Function string  `json:"function"`
	MB       float64 `json:"mb"`
}

// GC is garbage-collector pressure, when the metrics exist.
type GC struct {
	CyclesPerS float64 `json:"cycles_per_s"`
	PausePct   float64 `json:"pause_pct"`
}

// Profile is a profile file saved next to the run, in the gzipped protobuf
// format `go tool pprof` reads. TS is when it was taken (for a CPU profile,
// when it started; DurationS is how long it ran).
type Profile struct {
	Kind      string  `json:"kind"` // cpu, heap_start, heap_end, mutex, block, goroutines
	Path      string  `json:"path"`
	TS        float64 `json:"t_s"`
	DurationS float64 `json:"duration_s,omitempty"`
	// Snapshots is how many goroutine profiles a "goroutines" profile
	// sums: its values divided by it are the average number of goroutines
	// in each stack over its span.
	Snapshots int `json:"snapshots,omitempty"`
}

// Database is what the database watch saw (PostgreSQL). CacheHitRatio,
// Deadlocks and SlowStatements cover the watch's span only (differences
// of the server's cumulative statistics), for the database the watch
// connected to; connections count every client of the server.
type Database struct {
	MaxConnections int             `json:"max_connections,omitempty"`
	CacheHitRatio  float64         `json:"cache_hit_ratio"`
	Timeline       []DatabasePoint `json:"timeline,omitempty"`
	SlowStatements []SlowStatement `json:"slow_statements,omitempty"`
	Notes          []string        `json:"notes,omitempty"`
	// PeakConnections is the most client connections seen at once.
	PeakConnections int `json:"peak_connections,omitempty"`
	// Deadlocks counts deadlocks the server detected during the watch.
	Deadlocks int64   `json:"deadlocks"`
	IntervalS float64 `json:"interval_s,omitempty"` // sampling interval
}

// DatabasePoint is one sample of the database: the point at TS covers
// (TS − interval, TS] like a SystemPoint, its rates are over that
// interval and its counts are at its end. PoolUsagePct is the client
// connections as a share of max_connections.
type DatabasePoint struct {
	TS            float64        `json:"t_s"`
	Connections   map[string]int `json:"connections"` // by state
	LocksWaiting  int            `json:"locks_waiting"`
	PoolUsagePct  float64        `json:"pool_usage_pct"`
	CommitsPerS   float64        `json:"commits_per_s"`
	RollbacksPerS float64        `json:"rollbacks_per_s"`
}

// SlowStatement is one statement from pg_stat_statements (normalized:
// constants are $1, $2 …). SharePct is its part of the execution time of
// every statement of the database during the watch.
type SlowStatement struct {
	Query    string  `json:"query"`
	Calls    int64   `json:"calls"`
	TotalMS  float64 `json:"total_ms"`
	MeanMS   float64 `json:"mean_ms"`
	SharePct float64 `json:"share_pct"`
	Rows     int64   `json:"rows"`
}

// GoroutineTrend is the goroutine count over the steady part of the run
// (the timeline's points from the peak on): its first and last values,
// the Theil–Sen slope and the Mann–Kendall p-value, and the stacks with
// the most more goroutines at the end than at the start (goroutine
// profiles taken when the watch started and stopped; the goroutines
// serving requests or holding a client connection left out: they follow
// the load).
type GoroutineTrend struct {
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
	PerMin  float64 `json:"per_min"`
	PValue  float64 `json:"p_value"`
	Points  int     `json:"points"`
	FromS   float64 `json:"from_s"` // when the span starts, seconds since run start
	WindowS float64 `json:"window_s"`
	// Profiled says the start and end profiles were compared: an empty
	// TopGrowth then means nothing grew outside requests and connections.
	Profiled  bool              `json:"profiled,omitempty"`
	TopGrowth []GoroutineGrowth `json:"top_growth,omitempty"`
}

// GoroutineGrowth is a place where goroutines accumulated: the own
// function nearest the top of their stack, the call they wait in (the
// leaf shown), and how many more there were at the end.
type GoroutineGrowth struct {
	Function string `json:"function"`
	Own      bool   `json:"own,omitempty"`
	Via      string `json:"via,omitempty"`
	Added    int64  `json:"added"`
}
