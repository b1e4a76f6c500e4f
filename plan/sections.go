package plan

import "time"

// System is the `system:` block: what to watch of the system under test.
type System struct {
	Process    *ProcessRef     `yaml:"process" json:"process,omitempty"`
	Prometheus *PrometheusSpec `yaml:"prometheus" json:"prometheus,omitempty"` // a URL or {url, metrics}
	Pprof      string          `yaml:"pprof" json:"pprof,omitempty"`           // base URL of /debug/pprof
	Interval   Duration        `yaml:"interval" json:"interval,omitempty"`     // default 1s
	Postgres   string          `yaml:"postgres" json:"postgres,omitempty"`     // DSN or ${ENV}
	CPUProfile Duration        `yaml:"cpu_profile" json:"cpu_profile,omitempty"`
	// Disk is a directory on the device that holds the service's files
	// (its data, its logs): the disk's ceiling is probed there. Relative
	// to the plan file; default the watched process's working directory.
	Disk string `yaml:"disk" json:"disk,omitempty"`
}

// ProcessRef names the process to watch: by pid, name or pid file.
type ProcessRef struct {
	PID     int32  `yaml:"pid" json:"pid,omitempty"`
	Name    string `yaml:"name" json:"name,omitempty"`
	PIDFile string `yaml:"pid_file" json:"pid_file,omitempty"`
}

// PrometheusSpec is an endpoint to scrape and the series to keep.
type PrometheusSpec struct {
	URL     string   `yaml:"url" json:"url"`
	Metrics []string `yaml:"metrics" json:"metrics,omitempty"`
}

// Tests is the `tests:` block: the protocol's phases.
type Tests struct {
	Profile     string           `yaml:"profile" json:"profile,omitempty"` // standard|quick
	CoolDown    Duration         `yaml:"cool_down" json:"cool_down,omitempty"`
	Warmup      *PhaseSpec       `yaml:"warmup" json:"warmup,omitempty"`
	Baseline    *BaselineSpec    `yaml:"baseline" json:"baseline,omitempty"`
	Load        []*PhaseSpec     `yaml:"load" json:"load,omitempty"`
	Stress      *StressSpec      `yaml:"stress" json:"stress,omitempty"`
	Recovery    *RecoverySpec    `yaml:"recovery" json:"recovery,omitempty"`
	Soak        *PhaseSpec       `yaml:"soak" json:"soak,omitempty"`
	Scalability *ScalabilitySpec `yaml:"scalability" json:"scalability,omitempty"`
	Pool        *PoolSpec        `yaml:"pool" json:"pool,omitempty"`
}

// PhaseSpec is one load phase of the protocol.
type PhaseSpec struct {
	Name     string   `yaml:"name" json:"name,omitempty"`
	Users    int      `yaml:"users" json:"users,omitempty"`
	Rate     float64  `yaml:"rate" json:"rate,omitempty"`
	Duration Duration `yaml:"duration" json:"duration,omitempty"`
	RampUp   Duration `yaml:"ramp_up" json:"ramp_up,omitempty"`
	Skip     bool     `yaml:"skip" json:"skip,omitempty"`
	// Network is the phase's own network conditions, instead of the
	// plan's load.network (see Network).
	Network *Network `yaml:"network" json:"network,omitempty"`
}

// BaselineSpec is the baseline phase: a list of user levels.
type BaselineSpec struct {
	Levels   []int    `yaml:"levels" json:"levels,omitempty"` // default 1, 10, 50
	Duration Duration `yaml:"duration" json:"duration,omitempty"`
	// RampUp is each level's own ramp-up, in the order of Levels, before
	// its Duration is held; a level past the list's end takes its last
	// entry. Pause is the rest between one level and the next.
	RampUp []Duration `yaml:"ramp_up" json:"ramp_up,omitempty"`
	Pause  Duration   `yaml:"pause" json:"pause,omitempty"`
	Skip   bool       `yaml:"skip" json:"skip,omitempty"`
}

// LevelRampUp is the ramp-up of the i-th level (0 without any).
func (b *BaselineSpec) LevelRampUp(i int) Duration {
	switch n := len(b.RampUp); {
	case n == 0:
		return 0
	case i < n:
		return b.RampUp[i]
	default:
		return b.RampUp[n-1]
	}
}

// StressSpec is the stress-to-breaking-point phase.
type StressSpec struct {
	Variant   string   `yaml:"variant" json:"variant,omitempty"` // rate|users|payload|database|cpu|memory|network
	Start     float64  `yaml:"start" json:"start,omitempty"`
	Step      float64  `yaml:"step" json:"step,omitempty"`
	Factor    float64  `yaml:"factor" json:"factor,omitempty"` // multiply instead of add
	Max       float64  `yaml:"max" json:"max,omitempty"`
	Hold      Duration `yaml:"hold" json:"hold,omitempty"`
	Warmup    Duration `yaml:"warmup" json:"warmup,omitempty"`
	P99       Duration `yaml:"p99" json:"p99,omitempty"`
	ErrorRate float64  `yaml:"error_rate" json:"error_rate,omitempty"`
	// Bisect is the most bisection probes between the last level that
	// held and the first that broke.
	Bisect int `yaml:"bisect" json:"bisect,omitempty"`
	// Precision ends the bisection once the bracket is this narrow
	// relative to its top ((first bad − last good) ≤ precision × first
	// bad). Default 0.05; 0 runs all the bisect probes.
	Precision float64 `yaml:"precision" json:"precision,omitempty"`
	// Budget bounds the time the bisection may take (its probes and the
	// waits for the target to drain before each); the search stops with
	// the bracket it has when the budget runs out.
	Budget Duration `yaml:"budget" json:"budget,omitempty"`
	// Closed measures the closed-model capacity too: users doubling from
	// one until throughput stops rising (by less than 5%) or ClosedUsers.
	Closed      bool `yaml:"closed" json:"closed,omitempty"`
	ClosedUsers int  `yaml:"closed_users" json:"closed_users,omitempty"` // default DefaultClosedUsers
	// Efficiency is the throughput limit: a step whose efficiency
	// (achieved ÷ offered) falls below this share of the first step's
	// has stopped adding throughput. Default 0.5. The rate and cpu
	// variants' steps also break when they complete less than 95% of the
	// rate sent (analyze.DeliveredShare).
	Efficiency float64 `yaml:"efficiency" json:"efficiency,omitempty"`
	// MaxVUs bounds the iterations in flight in a step of the rate and
	// cpu variants (0: the default, see the suite's stress phase): past
	// it, arrivals wait in the generator, late and measured from their
	// intended start, and the step completes less than it was sent.
	MaxVUs int `yaml:"max_vus" json:"max_vus,omitempty"`
	// Users or Rate is the constant load of the payload and database
	// variants, whose steps change the request size or the pool instead.
	Users int     `yaml:"users" json:"users,omitempty"`
	Rate  float64 `yaml:"rate" json:"rate,omitempty"`
	// Scenarios are the CPU-heavy scenarios the cpu variant steps (all
	// when empty); Cores the cores the service may use (0: the
	// machine's). See VariantCPU.
	Scenarios []string `yaml:"scenarios" json:"scenarios,omitempty"`
	Cores     float64  `yaml:"cores" json:"cores,omitempty"`
	// Variable is the plan variable the memory variant steps (default
	// payload); MemoryMB the RSS that breaks a step (0: none), GCPercent
	// the share of time in GC that does (default DefaultGCPercent). See
	// VariantMemory.
	Variable  string  `yaml:"variable" json:"variable,omitempty"`
	MemoryMB  float64 `yaml:"memory_mb" json:"memory_mb,omitempty"`
	GCPercent float64 `yaml:"gc_percent" json:"gc_percent,omitempty"`
	Skip      bool    `yaml:"skip" json:"skip,omitempty"`
	// Network is what the network variant steps (see NetworkSteps).
	Network *NetworkSteps `yaml:"network" json:"network,omitempty"`
}

// RecoverySpec is the recovery measurement after stress.
type RecoverySpec struct {
	Limit     Duration `yaml:"limit" json:"limit,omitempty"`
	Tolerance float64  `yaml:"tolerance" json:"tolerance,omitempty"` // default 0.10
	Windows   int      `yaml:"windows" json:"windows,omitempty"`     // default 3
	Skip      bool     `yaml:"skip" json:"skip,omitempty"`
}

// ScalabilitySpec is the scalability phase.
type ScalabilitySpec struct {
	Apply     string              `yaml:"apply" json:"apply,omitempty"` // command template
	Revert    string              `yaml:"revert" json:"revert,omitempty"`
	Stabilize Duration            `yaml:"stabilize" json:"stabilize,omitempty"`
	Duration  Duration            `yaml:"duration" json:"duration,omitempty"`
	Configs   []map[string]string `yaml:"configs" json:"configs,omitempty"`
	// UsersPerUnit scales the load per configuration (users = N × this).
	UsersPerUnit int     `yaml:"users_per_unit" json:"users_per_unit,omitempty"`
	RatePerUnit  float64 `yaml:"rate_per_unit" json:"rate_per_unit,omitempty"`
	Unit         string  `yaml:"unit" json:"unit,omitempty"` // the config key that is N
	Skip         bool    `yaml:"skip" json:"skip,omitempty"`
	// Instances scales local processes behind a load balancer stampede
	// runs, instead of an apply command.
	Instances *InstancesSpec `yaml:"instances" json:"instances,omitempty"`
}

// InstancesSpec is horizontal scaling on this machine: for each count,
// Command runs that many times, each with {{ port }} set to a free
// loopback port (and {{ index }} to 0, 1, …), behind a load balancer
// listening on the plan's target address, its configuration generated
// and reloaded between counts.
type InstancesSpec struct {
	Command  string   `yaml:"command" json:"command"`
	Count    []int    `yaml:"count" json:"count"`
	Balancer string   `yaml:"balancer" json:"balancer,omitempty"` // nginx (default) or haproxy
	Ready    Duration `yaml:"ready" json:"ready,omitempty"`       // how long an instance may take to listen (default 10s)
}

// MaxInstances bounds tests.scalability.instances.count.
const MaxInstances = 64

// InstancesUnit is the configuration key, and unit, of instance scaling.
const InstancesUnit = "instances"

// PoolSpec is the connection-pool scalability phase: the same load run
// once per pool size of one database, only the pool changing.
type PoolSpec struct {
	// DB names the database whose pool changes; it may be left out when
	// the plan declares only one.
	DB string `yaml:"db" json:"db,omitempty"`
	// Sizes are the pool sizes to try, increasing.
	Sizes    []int    `yaml:"sizes" json:"sizes,omitempty"`
	Duration Duration `yaml:"duration" json:"duration,omitempty"` // per size
	// Users (closed model) or Rate (open model) is the load every size
	// meets.
	Users int     `yaml:"users" json:"users,omitempty"`
	Rate  float64 `yaml:"rate" json:"rate,omitempty"`
	Skip  bool    `yaml:"skip" json:"skip,omitempty"`
}

// Database is one database declared under `databases:`.
type Database struct {
	Driver  string   `yaml:"driver" json:"driver,omitempty"` // postgres (default), mysql, sqlite
	DSN     string   `yaml:"dsn" json:"-"`                   // usually ${ENV_VAR}; never printed
	Pool    int      `yaml:"pool" json:"pool,omitempty"`
	MinPool int      `yaml:"min_pool" json:"min_pool,omitempty"`
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// AcquireTimeout bounds the wait for a free pool connection (default:
	// the statement timeout); running out of it is a pool_exhausted error.
	AcquireTimeout Duration `yaml:"acquire_timeout" json:"acquire_timeout,omitempty"`
}

// SQLStep is a database step.
type SQLStep struct {
	DB       string   `yaml:"db" json:"db"`
	Query    string   `yaml:"query" json:"query,omitempty"`
	Args     []string `yaml:"args" json:"args,omitempty"`
	Prepared *bool    `yaml:"prepared" json:"prepared,omitempty"`
	Tx       []string `yaml:"tx" json:"tx,omitempty"` // statements run in one transaction
	Begin    bool     `yaml:"begin" json:"begin,omitempty"`
	Commit   bool     `yaml:"commit" json:"commit,omitempty"`
	Rollback bool     `yaml:"rollback" json:"rollback,omitempty"`
	// Vars are drawn once when the step starts (templates such as
	// "{{ random_int(1, 100000) }}"), so that several statements of a tx
	// share one value; later steps see them too.
	Vars map[string]string `yaml:"vars" json:"vars,omitempty"`
	// Isolation is the isolation level of the transaction the step opens
	// (tx or begin): read committed, repeatable read or serializable.
	Isolation string `yaml:"isolation" json:"isolation,omitempty"`
}

// BenchmarkSuite is one entry under `benchmarks:`.
type BenchmarkSuite struct {
	Name    string   `yaml:"name" json:"name"`
	Level   string   `yaml:"level" json:"level,omitempty"` // micro|component|system
	Command string   `yaml:"command" json:"command,omitempty"`
	Go      string   `yaml:"go" json:"go,omitempty"` // package pattern
	Bench   string   `yaml:"bench" json:"bench,omitempty"`
	Warmup  int      `yaml:"warmup" json:"warmup,omitempty"`
	Runs    int      `yaml:"runs" json:"runs,omitempty"`
	MinTime Duration `yaml:"min_time" json:"min_time,omitempty"`
	Prepare string   `yaml:"prepare" json:"prepare,omitempty"`
}

// Distributed is the `distributed:` block: what a coordinator does when
// an agent of a test spread over several processes (run --agents) goes
// silent.
type Distributed struct {
	// OnAgentLoss: continue (default: the rest go on, the lost agent's
	// windows so far are kept) or abort (every agent is stopped).
	OnAgentLoss string `yaml:"on_agent_loss" json:"on_agent_loss,omitempty"`
	// Heartbeat is how long an agent or the coordinator may stay silent
	// before the other side counts it lost (default 5s).
	Heartbeat Duration `yaml:"heartbeat" json:"heartbeat,omitempty"`
}

// Agent-loss policies of Distributed.OnAgentLoss.
const (
	OnLossContinue = "continue"
	OnLossAbort    = "abort"
)

// Bounds of Distributed.Heartbeat.
const (
	DefaultHeartbeat = Duration(5 * time.Second)
	MinHeartbeat     = Duration(time.Second)
	MaxHeartbeat     = Duration(5 * time.Minute)
)
