package result

// ResourceLimit is the resource a cpu or memory stress variant stepped
// towards and where it gave out.
type ResourceLimit struct {
	Resource string `json:"resource"` // cpu or memory
	// Reached says the resource gave out within the ramp: the CPU
	// saturated, or the memory limit, GC thrash or an OOM kill broke a
	// step. Load is the first level where it did (in Stress.Unit) and RPS
	// the throughput there; when not reached, they are the breaking
	// point's (or the last step's).
	Reached bool    `json:"reached"`
	Load    float64 `json:"load"`
	RPS     float64 `json:"rps"`
	// CPU: the cores the service used at Load and the cores it has
	// (CapacitySource: "plan" for tests.stress.cores, else where the watch
	// read it — "affinity", "cgroup", "gomaxprocs" or "host" for the
	// machine's, see ProcessLimits), the machine's CPU there, and whose CPU saturated:
	// "service" (its cores) or "host" (the machine's, shared with other
	// work, before the service had its cores).
	Cores          float64 `json:"cores,omitempty"`
	Capacity       float64 `json:"capacity,omitempty"`
	CapacitySource string  `json:"capacity_source,omitempty"`
	HostCPU        float64 `json:"host_cpu_percent,omitempty"`
	Saturated      string  `json:"saturated,omitempty"`
	// Memory: what broke (rss, gc, killed), the peak RSS and GC share at
	// Load, and the limits in force.
	Cause   string  `json:"cause,omitempty"`
	RSSMB   float64 `json:"rss_mb,omitempty"`
	GCPct   float64 `json:"gc_percent,omitempty"`
	LimitMB float64 `json:"limit_mb,omitempty"`
	GCLimit float64 `json:"gc_limit_percent,omitempty"`
	// CgroupMB is the service's cgroup memory limit; OOMKills the OOM
	// kills its cgroup counted, read from OOMSource (memory.events or
	// memory.oom_control; empty when unreadable).
	// CgroupHeadroomMB is the distance from RSSMB up to CgroupMB (0 when
	// either is unknown); LimitHits how often the cgroup's use reached its
	// limit during the last step, from LimitHitsSource (memory.events or
	// memory.failcnt).
	CgroupMB         float64 `json:"cgroup_memory_limit_mb,omitempty"`
	CgroupHeadroomMB float64 `json:"cgroup_headroom_mb,omitempty"`
	OOMKills         int64   `json:"oom_kills,omitempty"`
	OOMSource        string  `json:"oom_source,omitempty"`
	LimitHits        int64   `json:"cgroup_limit_hits,omitempty"`
	LimitHitsSource  string  `json:"cgroup_limit_hits_source,omitempty"`
	Variable         string  `json:"variable,omitempty"`  // the stepped variable
	Value            string  `json:"value,omitempty"`     // its value at Load (up to 64 bytes)
	Breaks           float64 `json:"breaks_at,omitempty"` // the breaking point, where a latency, error or throughput limit broke
	BreakWhat        string  `json:"breaks_limit,omitempty"`
	// Text names the limit in one sentence: "the service saturates 1.9 of
	// 2 cores at 410 requests/s; latency breaks at 430".
	Text string `json:"text"`
}
