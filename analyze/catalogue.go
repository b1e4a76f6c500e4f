package analyze

import (
	"fmt"

	"github.com/stampede-perf/stampede/result"
)

// The advice catalogue: what each kind of finding calls for, as data.
// An entry holds, for one result.FindingKind, the actions (a title that
// may name the finding's subject with one %s, the effort, the impact,
// the plan bucket and the techniques, cheapest first), the expected gain
// (typed hooks that each read one number of the finding's evidence), the
// protocol phase that verifies the change on a test run and the risk of
// making it. Why it is raised is the same for every entry: the
// finding's own evidence, quoted by because. Recommend reads the table;
// a kind without an entry gets no advice, and a test holds that every
// kind has one.
//
// The table is Go rather than an embedded document: the kinds and the
// hooks are checked by the compiler, the techniques share the rules'
// snippets (addPprof, addProcess), and nothing is decoded at run time,
// so there is no error path to carry.

// advice is one recommendation a kind of finding calls for. Titles may
// hold one %s, the finding's subject.
type advice struct {
	title      string
	effort     string
	impact     string            // "" is the finding's severity
	plan       result.PlanBucket // "" is chosen from effort and priority
	techniques []string
}

// entry is what one kind of finding calls for.
type entry struct {
	actions []advice
	// subjects holds, for findings about one of these subjects, the
	// actions given in place of actions.
	subjects map[string][]advice
	// gains say what fixing the finding may gain: the first that finds
	// its number and speaks is the estimate (none: no estimate).
	gains []gain
	// phase is the protocol phase that verifies a change on a test run
	// ("" is load; scalability becomes pool for a pool's scaling).
	phase string
	// risk is what the change may break ("" follows its effort).
	risk string
}

// gain is a typed hook that fills an expected gain from one number of a
// finding's evidence.
type gain struct {
	metric string // the evidence's metric; "" needs no number
	suffix bool   // metric ends the evidence's metric rather than naming it
	// say words the gain from the number and the finding's subject; ""
	// leaves it to the next gain.
	say func(v float64, subject string) string
}

func (e entry) actionsFor(subject string) []advice {
	if a, ok := e.subjects[subject]; ok {
		return a
	}
	return e.actions
}

// estimate says what fixing f may gain, in its own numbers.
func (e entry) estimate(f *result.Finding) string {
	for _, g := range e.gains {
		v, ok := 0.0, true
		if g.metric != "" {
			v, ok = value(f, g.metric, g.suffix)
		}
		if !ok {
			continue
		}
		if s := g.say(v, f.Subject); s != "" {
			return s
		}
	}
	return ""
}

// The gains, by the evidence they read.
var (
	gainCPUShare = gain{metric: "cum_pct", say: func(v float64, subject string) string {
		// Halving the function's work cuts the service time by half its
		// share; queueing (M/M/1: R = S/(1−ρ)) only magnifies that under
		// load, so this is the least gain on a busy target.
		return fmt.Sprintf("up to %.0f%% of the CPU time under load, if %s's work is avoided; p95 −%.0f%% or more if it is halved (service time −%.0f%%, more under queueing)", v, subject, v/2, v/2)
	}}
	gainWaiters = gain{metric: "_wait_per_s", suffix: true, say: func(v float64, _ string) string {
		return fmt.Sprintf("about %s goroutines that wait on average could be serving requests", num(v))
	}}
	gainSerialShare = gain{metric: "usl_sigma", say: func(v float64, _ string) string {
		return fmt.Sprintf("the speed-up limit of %s× rises as the serial share falls", num(1/v))
	}}
	gainGrowth = gain{metric: "growth_mb_per_min", say: func(v float64, _ string) string {
		return fmt.Sprintf("%s MB/min less growth (%s MB per hour of uptime)", num(v), num(60*v))
	}}
	gainErrors = gain{metric: "error_rate", say: func(v float64, _ string) string {
		return fmt.Sprintf("%s of requests stop failing", percent(v))
	}}
	gainRate = gain{metric: "delivered_ratio", say: func(v float64, _ string) string {
		return fmt.Sprintf("the missing %s of the target rate", percent(1-v))
	}}
	gainMeanResponse = gain{metric: "latency_mean", say: func(v float64, _ string) string {
		return fmt.Sprintf("%s ms mean response to bring down", num(v))
	}}
	gainMeanCall = gain{metric: "mean_ms", say: func(v float64, _ string) string {
		return fmt.Sprintf("%s ms per call to bring down", num(v))
	}}
	gainGoroutines = gain{metric: "growth_per_min", say: func(v float64, _ string) string {
		return fmt.Sprintf("%s goroutines a minute fewer (and the memory their stacks and what they hold take)", num(v))
	}}
	gainWait = gain{metric: "wait_ms_per_request", say: func(v float64, _ string) string {
		return fmt.Sprintf("up to %s ms per request", num(v))
	}}
	gainGCPause = gain{metric: "gc_pause_pct", say: func(v float64, _ string) string {
		return fmt.Sprintf("up to %s%% of the time back from GC pauses", num(v))
	}}
	gainBaseline = gain{say: func(float64, string) string { return "back to the baseline's numbers" }}
	gainHeadroom = gain{metric: "knee_load", say: func(v float64, _ string) string {
		return fmt.Sprintf("more headroom above today's knee at %s", num(v))
	}}
	gainPoolWait = gain{metric: "pool_wait_mean", say: func(v float64, _ string) string {
		return fmt.Sprintf("up to %s ms per request spent waiting for a pooled connection", num(v))
	}}
	gainConnections = gain{metric: "connection_share", say: func(v float64, _ string) string {
		return fmt.Sprintf("headroom for peaks: %s%% of the connection slots are in use today", num(v))
	}}
	gainLockWaits = gain{metric: "lock_wait_samples", say: func(v float64, _ string) string {
		return fmt.Sprintf("lock waits in %s%% of the database samples gone", num(v))
	}}
	gainCacheMisses = gain{metric: "cache_hit_ratio", say: func(v float64, _ string) string {
		return fmt.Sprintf("%s%% of block reads served from memory instead of storage", num(100-v))
	}}
	gainDeadlocks    = conflicts("deadlocks", "deadlocks")
	gainSerialFails  = conflicts("serialization_failures", "serialization failures")
	gainLockTimeouts = conflicts("lock_timeouts", "lock timeouts")
)

// conflicts is the gain of transactions that stop failing on each
// other, read from the count of one way of failing (none: the next).
func conflicts(metric, what string) gain {
	return gain{metric: metric, say: func(v float64, _ string) string {
		if v <= 0 {
			return ""
		}
		return fmt.Sprintf("%s %s fewer, each a transaction the application retried", num(v), what)
	}}
}

// catalogue is the advice for each kind of finding.
var catalogue = map[result.FindingKind]entry{
	result.KindGeneratorSaturated: {
		actions: []advice{{
			title: "Give the load generator more room, then run again", effort: LevelLow, impact: LevelHigh, plan: result.PlanHighPriority,
			techniques: []string{
				"run stampede on a machine of its own, not beside the system under test",
				"spread the load over processes or machines with --segment k/n and merge the parts",
				"give it more cores (GOMAXPROCS) or lower the per-request work (fewer checks and extractions)",
			},
		}},
		risk: LevelLow,
	},
	result.KindRegression: {
		actions: []advice{{
			title: "Find the change that made %s worse", effort: LevelMedium, impact: LevelHigh, plan: result.PlanHighPriority,
			techniques: []string{
				"diff the commits between the baseline run and this one (their git commits are in the runs)",
				"compare CPU and heap profiles of both runs (go tool pprof -diff_base)",
				"bisect: run the plan on commits between the two",
			},
		}},
		gains: []gain{gainBaseline},
	},
	result.KindCPUHotspot: {
		actions: []advice{
			{
				title: "Cache or precompute what %s computes", effort: LevelLow, impact: LevelHigh,
				techniques: []string{
					"cache its result per input (with a bound and an expiry) when the same inputs repeat",
					"precompute it when the data changes rather than on every request",
					"call it less often: once per request, not once per item",
				},
			},
			{
				title: "Make %s cheaper", effort: LevelMedium, impact: LevelHigh,
				techniques: []string{
					"look at its lines in the profile (go tool pprof -list) for the costly ones",
					"reduce allocations in it: reuse buffers, preallocate slices, avoid conversions",
					"use a cheaper algorithm or data structure for what it does",
				},
			},
		},
		gains: []gain{gainCPUShare},
		phase: "stress",
	},
	result.KindLockContention: {
		actions: []advice{
			{
				title: "Shorten the critical section in %s", effort: LevelLow, impact: LevelHigh,
				techniques: []string{
					"move slow work (I/O, logging, encoding, sleeping) out of the locked region",
					"copy what is needed under the lock, then work on the copy",
					"use sync.RWMutex when most holders only read",
				},
			},
			{
				title: "Remove the single lock behind %s", effort: LevelMedium, impact: LevelHigh,
				techniques: []string{
					"shard the lock: one per key range, user or CPU",
					"use atomics or per-goroutine state merged later instead of a shared counter",
					"hand the work to one owner goroutine through a buffered channel, batched",
				},
			},
		},
		subjects: map[string][]advice{subjectSerial: []advice{{
			title: "Find the part of the work that runs one at a time", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"profile locks while the load runs (" + addPprof + " with runtime.SetMutexProfileFraction on)",
				"look for single-threaded stages: one connection, one worker, one global lock, one leader",
				"shorten or shard what you find, then run the scalability phase again",
			},
		}}},
		gains: []gain{gainWaiters, gainSerialShare},
		phase: "stress",
		risk:  LevelMedium,
	},
	result.KindCoherency: {
		actions: []advice{{
			title: "Reduce the state every worker must agree on", effort: LevelHigh, impact: LevelHigh,
			techniques: []string{
				"partition the data so that workers share less",
				"avoid global counters and caches invalidated on every write",
				"run no more workers than the fitted peak concurrency until the cost is gone",
			},
		}},
		phase: "scalability",
		risk:  LevelHigh,
	},
	result.KindScalingEfficiency: {
		actions: []advice{{
			title: "Find what stops %s from scaling", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"run no more units than the configuration before the fall until the cause is gone",
				"look for the resource the units share: a database, a lock, a cache, the network",
				"watch the shared resource (system: postgres, process) at both configurations and compare",
			},
		}},
		phase: "scalability",
	},
	result.KindGoroutineLeak: {
		actions: []advice{{
			title: "End the goroutines %s starts", effort: LevelLow, impact: LevelHigh,
			techniques: []string{
				"give every goroutine a way out: a context it watches, a channel that is closed, a timeout",
				"unsubscribe and close channels when the client goes away (request context done)",
				"count them in a test: runtime.NumGoroutine before and after, or go.uber.org/goleak",
			},
		}},
		gains: []gain{gainGoroutines},
		phase: "soak",
		risk:  LevelMedium,
	},
	result.KindSlowDependency: {
		actions: []advice{{
			title: "Shorten the wait on what %s calls", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"measure the dependency on its own (a stampede plan against it) and fix it there",
				"bound each call with a timeout and cache what it returns",
				"make independent calls in parallel; batch many small ones into one",
				"share one client and raise its connection pool (MaxIdleConnsPerHost) to the concurrency",
			},
		}},
		gains: []gain{gainWait},
	},
	result.KindDiskIO: {
		actions: []advice{{
			title: "Take the disk off %s's request path", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"batch synchronous writes: group commits, or fsync once per batch rather than per request",
				"hand writes to a background writer with a bounded queue",
				"keep files open and buffered; cache what is read on every request",
			},
		}},
		gains: []gain{gainWait},
		risk:  LevelHigh,
	},
	result.KindDiskBound: {
		actions: []advice{{
			title: "Take the disk off the request path", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"batch synchronous writes: group commits, or fsync once per batch rather than per write",
				"move logging and other writes off the request path (buffered, asynchronous)",
				"cache what is read on every request; give the database more memory for its pages",
			},
		}},
		phase: "stress",
		risk:  LevelHigh,
	},
	result.KindDiskThroughput: {
		actions: []advice{{
			title: "Move fewer bytes through the disk", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"cache what every request reads (in memory, or a bigger database buffer pool)",
				"batch and compress writes; move logs and exports off the request path",
				"put the data on a faster volume, or spread it over several",
			},
		}},
		phase: "stress",
	},
	result.KindNetworkBound: {
		actions: []advice{{
			title: "Send fewer bytes over the link", effort: LevelLow, impact: LevelHigh,
			techniques: []string{
				"compress responses (gzip or brotli) when the client accepts it",
				"page, trim or filter large responses; let clients cache them (ETag, Cache-Control)",
				"serve static and cacheable content from a CDN, or give the host a faster link",
			},
		}},
		phase: "stress",
	},
	result.KindLargeResponses: {
		actions: []advice{{
			title: "Send less with %s", effort: LevelLow, impact: LevelMedium,
			techniques: []string{
				"compress responses (gzip or brotli) when the client accepts it",
				"page, trim or filter what the endpoint returns",
				"let clients cache it (ETag, Cache-Control) or serve it from a CDN",
			},
		}},
		risk: LevelLow,
	},
	result.KindMemoryLeak: {
		actions: []advice{{
			title: "Bound what %s keeps", effort: LevelLow, impact: LevelHigh,
			techniques: []string{
				"find who holds its allocations: go tool pprof -base heap_start heap_end, then -list",
				"give the collection it grows a bound: a size limit, an LRU, an expiry",
				"release references when a request, session or subscription ends (delete from maps, stop tickers)",
			},
		}},
		gains: []gain{gainGrowth},
		phase: "soak",
		risk:  LevelMedium,
	},
	result.KindGCPressure: {
		actions: []advice{
			{
				title: "Tune the garbage collector", effort: LevelLow, impact: LevelMedium,
				techniques: []string{
					"set GOMEMLIMIT to the memory available and raise GOGC, so collections run less often",
				},
			},
			{
				title: "Allocate less per request", effort: LevelMedium, impact: LevelMedium,
				techniques: []string{
					"profile allocations (go tool pprof -sample_index=alloc_space)",
					"reuse buffers with sync.Pool, preallocate slices and maps, avoid []byte↔string conversions",
				},
			},
		},
		gains: []gain{gainGCPause},
		phase: "stress",
	},
	result.KindSlowDatabase: {
		actions: []advice{{
			title: "Speed up %s", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"read its plan with EXPLAIN (ANALYZE, BUFFERS) and add the index it lacks",
				"fetch less: only the columns and rows needed, paginate",
				"remove N+1 queries by batching or joining",
				"cache results that change rarely; size the connection pool to the database's cores",
			},
		}},
		gains: []gain{gainMeanResponse, gainMeanCall},
	},
	result.KindCPUSaturation: {
		actions: []advice{{
			title: "Lower the CPU cost per request, or add CPU", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"profile the target under load and fix its hotspots (" + addPprof + ")",
				"scale out behind a load balancer, or give the process more cores",
				"cache responses that repeat",
			},
		}},
		phase: "stress",
	},
	result.KindMemoryPressure: {
		actions: []advice{{
			title: "Reduce memory in use or add memory", effort: LevelMedium, impact: LevelMedium,
			techniques: []string{
				"bound caches and buffers; check for a leak",
				"set GOMEMLIMIT (Go) or the runtime's heap limit so the process stays inside the machine",
				"move other processes off the host, or add memory",
			},
		}},
		phase: "stress",
	},
	result.KindNetworkLatency: {
		actions: []advice{{
			title: "Reuse connections", effort: LevelLow, impact: LevelMedium,
			techniques: []string{
				"keep connections alive (target.keep_alive, and the server's idle timeout)",
				"resume TLS sessions; prefer TLS 1.3",
				"put the client near the server, or terminate TLS closer to the client",
			},
		}},
		risk: LevelLow,
	},
	result.KindNetworkSensitivity: {
		actions: []advice{{
			title: "Make %s less sensitive to the network", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"batch the requests an iteration makes one after another into one, or send independent ones in parallel",
				"keep connections alive and resume TLS sessions, so a request costs one round trip, not two or three",
				"compress, page or cache the biggest responses: on a narrow link their bytes are the latency",
			},
		}},
	},
	result.KindConnectionErrors: {
		actions: []advice{{
			title: "Raise the limits on connections", effort: LevelLow, impact: LevelHigh,
			techniques: []string{
				"raise the listen backlog (net.core.somaxconn) and the open-files limit (ulimit -n)",
				"raise the server's or proxy's connection limit; size connection pools to the load",
				"keep connections alive so fewer are opened",
				"check client and server timeouts: a timeout shorter than the slowest response breaks connections",
			},
		}},
	},
	result.KindLatencyKnee: {
		actions: []advice{
			{
				title: "Keep the load below the knee", effort: LevelLow, impact: LevelMedium,
				techniques: []string{
					"scale out (or autoscale) before the knee load is reached",
					"limit concurrency at the entrance (a queue, a rate limit) so overload is refused, not queued",
				},
			},
			{
				title: "Find what saturates at the knee", effort: LevelMedium, impact: LevelHigh,
				techniques: []string{
					"watch the system at the knee: CPU, locks, pools, the database (" + addProcess + ")",
					"profile at the knee load and fix the first saturated resource",
				},
			},
		},
		gains: []gain{gainHeadroom},
		phase: "stress",
	},
	result.KindThroughputShortfall: {
		actions: []advice{{
			title: "Deliver the target rate", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"when iterations were dropped, raise load.max_vus so late iterations still start",
				"otherwise the system cannot take this rate: find its bottleneck (see the other findings)",
			},
		}},
		gains: []gain{gainRate},
		phase: "stress",
	},
	result.KindErrorRate: {
		actions: []advice{{
			title: "Fix the most frequent errors", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"start with the most frequent kind and its example message",
				"for HTTP 5xx read the server's logs at those times; for timeouts see the latency findings",
				"for check failures compare the response with what the plan expects",
			},
		}},
		gains: []gain{gainErrors},
	},
	result.KindSlowResponse: {
		actions: []advice{{
			title: "Bring the mean response time of %s down", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"trace one slow request end to end to see where it waits",
				"cache what repeats; move work that need not be synchronous to a queue",
				"profile the target (" + addPprof + ")",
			},
		}},
		gains: []gain{gainMeanResponse, gainMeanCall},
	},
	result.KindSoakDegradation: {
		actions: []advice{{
			title: "Find what accumulates over time", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"compare heap profiles from the start and the end of the soak",
				"check for tables, queues, caches or log files that only grow",
			},
		}},
		phase: "soak",
	},
	result.KindBenchVariance: {
		actions: []advice{{
			title: "Make %s steadier before comparing it", effort: LevelLow, impact: LevelLow,
			techniques: []string{
				"run on a quiet machine with a fixed CPU frequency",
				"more runs (and a warm-up run) so the comparison has the power to see a change",
				"check whether its cost depends on state it builds up",
			},
		}},
		phase: "bench",
		risk:  LevelLow,
	},
	result.KindBenchMemory: {
		actions: []advice{{
			title: "Reduce allocations in %s", effort: LevelMedium, impact: LevelMedium,
			techniques: []string{
				"profile its allocations: go test -bench … -memprofile mem.out",
				"preallocate, reuse buffers, avoid copies and conversions",
			},
		}},
		phase: "bench",
	},
	result.KindCPULimit: {
		actions: []advice{{
			title: "Raise the CPU limit of %s", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"profile the CPU-heavy requests at the saturating rate (system: { pprof: … }) and cut the hottest own function's work",
				"give the service more cores (GOMAXPROCS, the container's CPU quota) or more instances behind a balancer",
				"admit no more than the saturating rate (a rate limit or a bounded queue) so that latency stays bounded past it",
			},
		}},
		phase: "stress",
	},
	result.KindMemoryLimit: {
		actions: []advice{{
			title: "Bound the working set of %s", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"cap the size a request may ask for, and answer 413 or 400 above it",
				"stream or page the result instead of building it whole in memory",
				"set a memory limit the runtime knows (GOMEMLIMIT) below the container's, and more memory if the size is needed",
			},
		}},
		phase: "stress",
	},
	result.KindBenchSlowOp: {
		actions: []advice{{
			title: "Profile %s", effort: LevelMedium, impact: LevelMedium,
			techniques: []string{
				"go test -bench … -cpuprofile cpu.out, then go tool pprof -top",
				"look for a better algorithm before tuning the current one",
			},
		}},
		phase: "bench",
	},
	result.KindDBPoolWait: {
		actions: []advice{{
			title: "Give %s's connection pool the connections its users wait for", effort: LevelLow, impact: LevelHigh,
			techniques: []string{
				"raise the pool's size to the concurrency that waits, up to what the database serves well (the pool scaling phase finds it)",
				"hold a connection only for the queries: no remote calls or think time while it is checked out",
				"run fewer concurrent users per pool when the database is already the bottleneck",
			},
		}},
		gains: []gain{gainPoolWait},
		phase: "pool",
		risk:  LevelLow,
	},
	result.KindDBConnections: {
		actions: []advice{{
			title: "Leave headroom under %s", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"size the clients' pools so that together they stay under the server's connection slots",
				"put a pooler (PgBouncer in transaction mode) between the clients and the database",
				"raise max_connections only with the memory each backend costs",
			},
		}},
		gains: []gain{gainConnections},
		phase: "stress",
	},
	result.KindDBLocks: {
		actions: []advice{{
			title: "Make transactions wait less for %s", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"find who blocks whom (pg_blocking_pids in pg_stat_activity) while the load runs",
				"keep transactions short: no remote calls or user think time inside them",
				"take row locks in one order; spread hot rows (counters) or use SKIP LOCKED for queues",
			},
		}},
		gains: []gain{gainLockWaits},
		risk:  LevelMedium,
	},
	result.KindDBCache: {
		actions: []advice{{
			title: "Keep the working set in %s", effort: LevelLow, impact: LevelMedium,
			techniques: []string{
				"find the queries that read most blocks from storage (pg_stat_statements shared_blks_read) and add the index they lack",
				"fetch fewer rows and columns; paginate scans",
				"give the cache more memory: shared_buffers about a quarter of RAM, effective_cache_size most of the rest",
			},
		}},
		gains: []gain{gainCacheMisses},
	},
	result.KindDBConflicts: {
		actions: []advice{{
			title: "Stop %s failing on each other", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"lock rows in one order in every transaction (SELECT … ORDER BY id FOR UPDATE)",
				"keep transactions short, and retry serialization failures and deadlocks with a backoff",
				"use a weaker isolation level where the transaction does not need serializable",
			},
		}},
		gains: []gain{gainDeadlocks, gainSerialFails, gainLockTimeouts},
		risk:  LevelMedium,
	},
}
