package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// Effort and impact levels of a recommendation.
const (
	LevelLow    = "low"
	LevelMedium = "medium"
	LevelHigh   = "high"
)

// advice is one recommendation a kind of finding calls for. Titles may
// hold one %s, the finding's subject.
type advice struct {
	title      string
	effort     string
	impact     string            // "" is the finding's severity
	plan       result.PlanBucket // "" is chosen from effort and priority
	techniques []string
}

// Recommend turns findings into recommendations: each finding maps to
// the advice its kind calls for, aimed at its subject and quoting the
// evidence that triggered it (there is no advice without a finding).
// Priority follows the finding's severity; effort and impact are
// estimates for the kind of change. Each goes to a plan: a stated one,
// else quick_wins when the effort is low, high_priority when the
// priority is high, long_term otherwise. The result is ordered by plan
// (quick wins first), then in the findings' order.
//
// Each carries its implementation plan: a risk, ordered steps and, when
// run is given, the stampede command that verifies the gain.
func Recommend(findings []result.Finding, run *result.Run) []result.Recommendation {
	var out []result.Recommendation
	for i := range findings {
		f := &findings[i]
		for _, a := range adviceFor(f) {
			title := a.title
			if strings.Contains(title, "%s") {
				title = fmt.Sprintf(title, f.Subject)
			}
			r := result.Recommendation{
				Finding:    f.Kind,
				Subject:    f.Subject,
				Title:      title,
				Priority:   priorityOf(f.Severity),
				Effort:     a.effort,
				Impact:     a.impact,
				Techniques: a.techniques,
				Plan:       a.plan,
				Because:    because(f),
				Estimate:   estimate(f),
			}
			if r.Impact == "" {
				r.Impact = r.Priority
			}
			r.Risk = riskOf(f.Kind, r.Effort)
			r.Verify = verifyCommand(run, f.Kind)
			r.Steps = planSteps(&r)
			if r.Plan == "" {
				switch {
				case r.Effort == LevelLow:
					r.Plan = result.PlanQuickWins
				case r.Priority == LevelHigh:
					r.Plan = result.PlanHighPriority
				default:
					r.Plan = result.PlanLongTerm
				}
			}
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b result.Recommendation) int { return cmp.Compare(planRank(a.Plan), planRank(b.Plan)) })
	return out
}

func planRank(p result.PlanBucket) int {
	switch p {
	case result.PlanQuickWins:
		return 0
	case result.PlanHighPriority:
		return 1
	}
	return 2
}

func priorityOf(severity result.Severity) string {
	switch severity {
	case SeverityHigh:
		return LevelHigh
	case SeverityMedium:
		return LevelMedium
	}
	return LevelLow
}

// because quotes a finding's first numbers: what was measured, where,
// against which threshold.
func because(f *result.Finding) string {
	var parts []string
	for i, e := range f.Evidence {
		if i == 2 {
			break
		}
		s := fmt.Sprintf("%s %s", e.Metric, evidenceValue(e.Value, e.Unit))
		if e.Threshold != 0 {
			s += fmt.Sprintf(" (threshold %s)", evidenceValue(e.Threshold, e.Unit))
		}
		parts = append(parts, s+" from "+e.Source)
	}
	return strings.Join(parts, "; ")
}

func evidenceValue(v float64, unit string) string {
	switch unit {
	case "ratio":
		return percent(v)
	case "%":
		return num(v) + "%"
	case "":
		return num(v)
	case "B":
		if v >= 1<<20 {
			return num(v/(1<<20)) + " MiB"
		}
		return num(v) + " B"
	}
	return num(v) + " " + unit
}

// first returns the value of the finding's first evidence named metric.
func first(f *result.Finding, metric string) (float64, bool) {
	for _, e := range f.Evidence {
		if e.Metric == metric {
			return e.Value, true
		}
	}
	return 0, false
}

// estimate says what fixing the finding may gain, in its own numbers.
func estimate(f *result.Finding) string {
	switch f.Kind {
	case result.KindCPUHotspot:
		if v, ok := first(f, "cum_pct"); ok {
			// Halving the function's work cuts the service time by half its
			// share; queueing (M/M/1: R = S/(1−ρ)) only magnifies that under
			// load, so this is the least gain on a busy target.
			return fmt.Sprintf("up to %.0f%% of the CPU time under load, if %s's work is avoided; p95 −%.0f%% or more if it is halved (service time −%.0f%%, more under queueing)", v, f.Subject, v/2, v/2)
		}
	case result.KindLockContention:
		for _, e := range f.Evidence {
			if strings.HasSuffix(e.Metric, "_wait_per_s") {
				return fmt.Sprintf("about %s goroutines that wait on average could be serving requests", num(e.Value))
			}
		}
		if v, ok := first(f, "usl_sigma"); ok {
			return fmt.Sprintf("the speed-up limit of %s× rises as the serial share falls", num(1/v))
		}
	case result.KindMemoryLeak:
		if v, ok := first(f, "growth_mb_per_min"); ok {
			return fmt.Sprintf("%s MB/min less growth (%s MB per hour of uptime)", num(v), num(60*v))
		}
	case result.KindErrorRate:
		if v, ok := first(f, "error_rate"); ok {
			return fmt.Sprintf("%s of requests stop failing", percent(v))
		}
	case result.KindThroughputShortfall:
		if v, ok := first(f, "delivered_ratio"); ok {
			return fmt.Sprintf("the missing %s of the target rate", percent(1-v))
		}
	case result.KindSlowResponse, result.KindSlowDatabase:
		if v, ok := first(f, "latency_mean"); ok {
			return fmt.Sprintf("%s ms mean response to bring down", num(v))
		}
		if v, ok := first(f, "mean_ms"); ok {
			return fmt.Sprintf("%s ms per call to bring down", num(v))
		}
	case result.KindGoroutineLeak:
		if v, ok := first(f, "growth_per_min"); ok {
			return fmt.Sprintf("%s goroutines a minute fewer (and the memory their stacks and what they hold take)", num(v))
		}
	case result.KindSlowDependency, result.KindDiskIO:
		if v, ok := first(f, "wait_ms_per_request"); ok {
			return fmt.Sprintf("up to %s ms per request", num(v))
		}
	case result.KindGCPressure:
		if v, ok := first(f, "gc_pause_pct"); ok {
			return fmt.Sprintf("up to %s%% of the time back from GC pauses", num(v))
		}
	case result.KindRegression:
		return "back to the baseline's numbers"
	case result.KindLatencyKnee:
		if v, ok := first(f, "knee_load"); ok {
			return fmt.Sprintf("more headroom above today's knee at %s", num(v))
		}
	}
	return ""
}

// adviceFor is what a finding's kind calls for.
func adviceFor(f *result.Finding) []advice {
	switch f.Kind {
	case result.KindGeneratorSaturated:
		return []advice{{
			title: "Give the load generator more room, then run again", effort: LevelLow, impact: LevelHigh, plan: result.PlanHighPriority,
			techniques: []string{
				"run stampede on a machine of its own, not beside the system under test",
				"spread the load over processes or machines with --segment k/n and merge the parts",
				"give it more cores (GOMAXPROCS) or lower the per-request work (fewer checks and extractions)",
			},
		}}
	case result.KindRegression:
		return []advice{{
			title: "Find the change that made %s worse", effort: LevelMedium, impact: LevelHigh, plan: result.PlanHighPriority,
			techniques: []string{
				"diff the commits between the baseline run and this one (their git commits are in the runs)",
				"compare CPU and heap profiles of both runs (go tool pprof -diff_base)",
				"bisect: run the plan on commits between the two",
			},
		}}
	case result.KindCPUHotspot:
		return []advice{
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
		}
	case result.KindLockContention:
		if f.Subject == subjectSerial {
			return []advice{{
				title: "Find the part of the work that runs one at a time", effort: LevelMedium, impact: LevelHigh,
				techniques: []string{
					"profile locks while the load runs (" + addPprof + " with runtime.SetMutexProfileFraction on)",
					"look for single-threaded stages: one connection, one worker, one global lock, one leader",
					"shorten or shard what you find, then run the scalability phase again",
				},
			}}
		}
		return []advice{
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
		}
	case result.KindCoherency:
		return []advice{{
			title: "Reduce the state every worker must agree on", effort: LevelHigh, impact: LevelHigh,
			techniques: []string{
				"partition the data so that workers share less",
				"avoid global counters and caches invalidated on every write",
				"run no more workers than the fitted peak concurrency until the cost is gone",
			},
		}}
	case result.KindScalingEfficiency:
		return []advice{{
			title: "Find what stops %s from scaling", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"run no more units than the configuration before the fall until the cause is gone",
				"look for the resource the units share: a database, a lock, a cache, the network",
				"watch the shared resource (system: postgres, process) at both configurations and compare",
			},
		}}
	case result.KindGoroutineLeak:
		return []advice{{
			title: "End the goroutines %s starts", effort: LevelLow, impact: LevelHigh,
			techniques: []string{
				"give every goroutine a way out: a context it watches, a channel that is closed, a timeout",
				"unsubscribe and close channels when the client goes away (request context done)",
				"count them in a test: runtime.NumGoroutine before and after, or go.uber.org/goleak",
			},
		}}
	case result.KindSlowDependency:
		return []advice{{
			title: "Shorten the wait on what %s calls", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"measure the dependency on its own (a stampede plan against it) and fix it there",
				"bound each call with a timeout and cache what it returns",
				"make independent calls in parallel; batch many small ones into one",
				"share one client and raise its connection pool (MaxIdleConnsPerHost) to the concurrency",
			},
		}}
	case result.KindDiskIO:
		return []advice{{
			title: "Take the disk off %s's request path", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"batch synchronous writes: group commits, or fsync once per batch rather than per request",
				"hand writes to a background writer with a bounded queue",
				"keep files open and buffered; cache what is read on every request",
			},
		}}
	case result.KindDiskBound:
		return []advice{{
			title: "Take the disk off the request path", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"batch synchronous writes: group commits, or fsync once per batch rather than per write",
				"move logging and other writes off the request path (buffered, asynchronous)",
				"cache what is read on every request; give the database more memory for its pages",
			},
		}}
	case result.KindDiskThroughput:
		return []advice{{
			title: "Move fewer bytes through the disk", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"cache what every request reads (in memory, or a bigger database buffer pool)",
				"batch and compress writes; move logs and exports off the request path",
				"put the data on a faster volume, or spread it over several",
			},
		}}
	case result.KindNetworkBound:
		return []advice{{
			title: "Send fewer bytes over the link", effort: LevelLow, impact: LevelHigh,
			techniques: []string{
				"compress responses (gzip or brotli) when the client accepts it",
				"page, trim or filter large responses; let clients cache them (ETag, Cache-Control)",
				"serve static and cacheable content from a CDN, or give the host a faster link",
			},
		}}
	case result.KindLargeResponses:
		return []advice{{
			title: "Send less with %s", effort: LevelLow, impact: LevelMedium,
			techniques: []string{
				"compress responses (gzip or brotli) when the client accepts it",
				"page, trim or filter what the endpoint returns",
				"let clients cache it (ETag, Cache-Control) or serve it from a CDN",
			},
		}}
	case result.KindMemoryLeak:
		return []advice{{
			title: "Bound what %s keeps", effort: LevelLow, impact: LevelHigh,
			techniques: []string{
				"find who holds its allocations: go tool pprof -base heap_start heap_end, then -list",
				"give the collection it grows a bound: a size limit, an LRU, an expiry",
				"release references when a request, session or subscription ends (delete from maps, stop tickers)",
			},
		}}
	case result.KindGCPressure:
		return []advice{
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
		}
	case result.KindSlowDatabase:
		return []advice{{
			title: "Speed up %s", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"read its plan with EXPLAIN (ANALYZE, BUFFERS) and add the index it lacks",
				"fetch less: only the columns and rows needed, paginate",
				"remove N+1 queries by batching or joining",
				"cache results that change rarely; size the connection pool to the database's cores",
			},
		}}
	case result.KindCPUSaturation:
		return []advice{{
			title: "Lower the CPU cost per request, or add CPU", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"profile the target under load and fix its hotspots (" + addPprof + ")",
				"scale out behind a load balancer, or give the process more cores",
				"cache responses that repeat",
			},
		}}
	case result.KindMemoryPressure:
		return []advice{{
			title: "Reduce memory in use or add memory", effort: LevelMedium, impact: LevelMedium,
			techniques: []string{
				"bound caches and buffers; check for a leak",
				"set GOMEMLIMIT (Go) or the runtime's heap limit so the process stays inside the machine",
				"move other processes off the host, or add memory",
			},
		}}
	case result.KindNetworkLatency:
		return []advice{{
			title: "Reuse connections", effort: LevelLow, impact: LevelMedium,
			techniques: []string{
				"keep connections alive (target.keep_alive, and the server's idle timeout)",
				"resume TLS sessions; prefer TLS 1.3",
				"put the client near the server, or terminate TLS closer to the client",
			},
		}}
	case result.KindNetworkSensitivity:
		return []advice{{
			title: "Make %s less sensitive to the network", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"batch the requests an iteration makes one after another into one, or send independent ones in parallel",
				"keep connections alive and resume TLS sessions, so a request costs one round trip, not two or three",
				"compress, page or cache the biggest responses: on a narrow link their bytes are the latency",
			},
		}}
	case result.KindConnectionErrors:
		return []advice{{
			title: "Raise the limits on connections", effort: LevelLow, impact: LevelHigh,
			techniques: []string{
				"raise the listen backlog (net.core.somaxconn) and the open-files limit (ulimit -n)",
				"raise the server's or proxy's connection limit; size connection pools to the load",
				"keep connections alive so fewer are opened",
				"check client and server timeouts: a timeout shorter than the slowest response breaks connections",
			},
		}}
	case result.KindLatencyKnee:
		return []advice{
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
		}
	case result.KindThroughputShortfall:
		return []advice{{
			title: "Deliver the target rate", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"when iterations were dropped, raise load.max_vus so late iterations still start",
				"otherwise the system cannot take this rate: find its bottleneck (see the other findings)",
			},
		}}
	case result.KindErrorRate:
		return []advice{{
			title: "Fix the most frequent errors", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"start with the most frequent kind and its example message",
				"for HTTP 5xx read the server's logs at those times; for timeouts see the latency findings",
				"for check failures compare the response with what the plan expects",
			},
		}}
	case result.KindSlowResponse:
		return []advice{{
			title: "Bring the mean response time of %s down", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"trace one slow request end to end to see where it waits",
				"cache what repeats; move work that need not be synchronous to a queue",
				"profile the target (" + addPprof + ")",
			},
		}}
	case result.KindSoakDegradation:
		return []advice{{
			title: "Find what accumulates over time", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"compare heap profiles from the start and the end of the soak",
				"check for tables, queues, caches or log files that only grow",
			},
		}}
	case result.KindBenchVariance:
		return []advice{{
			title: "Make %s steadier before comparing it", effort: LevelLow, impact: LevelLow,
			techniques: []string{
				"run on a quiet machine with a fixed CPU frequency",
				"more runs (and a warm-up run) so the comparison has the power to see a change",
				"check whether its cost depends on state it builds up",
			},
		}}
	case result.KindBenchMemory:
		return []advice{{
			title: "Reduce allocations in %s", effort: LevelMedium, impact: LevelMedium,
			techniques: []string{
				"profile its allocations: go test -bench … -memprofile mem.out",
				"preallocate, reuse buffers, avoid copies and conversions",
			},
		}}
	case result.KindCPULimit:
		return []advice{{
			title: "Raise the CPU limit of %s", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"profile the CPU-heavy requests at the saturating rate (system: { pprof: … }) and cut the hottest own function's work",
				"give the service more cores (GOMAXPROCS, the container's CPU quota) or more instances behind a balancer",
				"admit no more than the saturating rate (a rate limit or a bounded queue) so that latency stays bounded past it",
			},
		}}
	case result.KindMemoryLimit:
		return []advice{{
			title: "Bound the working set of %s", effort: LevelMedium, impact: LevelHigh,
			techniques: []string{
				"cap the size a request may ask for, and answer 413 or 400 above it",
				"stream or page the result instead of building it whole in memory",
				"set a memory limit the runtime knows (GOMEMLIMIT) below the container's, and more memory if the size is needed",
			},
		}}
	case result.KindBenchSlowOp:
		return []advice{{
			title: "Profile %s", effort: LevelMedium, impact: LevelMedium,
			techniques: []string{
				"go test -bench … -cpuprofile cpu.out, then go tool pprof -top",
				"look for a better algorithm before tuning the current one",
			},
		}}
	}
	return nil
}
