package analyze

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// Database findings. These read what SQL steps measured (pool wait,
// errors by kind) and what the PostgreSQL watch saw (System.Database)
// and say, with the numbers behind it, where a database run spent its
// time waiting: for a pooled connection, for connection slots, for
// locks, for the disk. Slow statements themselves are the slow_database
// rule's; DescribeStatement phrases one for reports. Their kinds are
// result.KindDB….

// Thresholds of the database findings.
const (
	// DBPoolWaitShare: a step waiting this share of its mean latency for
	// a connection has a pool too small for its VUs (high from 0.8).
	DBPoolWaitShare = 0.5
	// DBConnectionsShare of max_connections in use at the peak (high at
	// 1, or when connections were refused).
	DBConnectionsShare = 0.9
	// DBLockSampleShare: lock requests waited in this share of samples.
	DBLockSampleShare = 0.25
	// DBCacheHitRatio below which reads go to storage too often (high
	// below 0.9).
	DBCacheHitRatio = 0.99
)

// DescribeStatement phrases one statement of pg_stat_statements for a
// report: `SELECT … WHERE id = $1: mean 620 ms, 38% of database time
// (1,234 calls)`. Long statements are cut at 100 characters.
func DescribeStatement(s result.SlowStatement) string {
	q := strings.Join(strings.Fields(s.Query), " ")
	if r := []rune(q); len(r) > 100 {
		q = string(r[:99]) + "…"
	}
	return fmt.Sprintf("%s: mean %s ms, %.0f%% of database time (%s calls)", q, dbNum(s.MeanMS), s.SharePct, dbCount(s.Calls))
}

// DatabaseFindings returns the run's database findings (none when the
// run has no SQL steps and no database watch), each with its Kind set.
func DatabaseFindings(run *result.Run) []result.Finding {
	var out []result.Finding
	var db *result.Database
	if run.System != nil {
		db = run.System.Database
	}
	errs := map[string]int64{}
	for _, e := range run.Errors {
		errs[e.Kind] += e.Count
	}
	for i := range run.Steps {
		if f, ok := poolWaitFinding(&run.Steps[i]); ok {
			out = append(out, f)
		}
	}
	if db != nil {
		if f, ok := connectionsFinding(db, errs["connection_refused"]); ok {
			out = append(out, f)
		}
		if f, ok := lockFinding(db); ok {
			out = append(out, f)
		}
		if f, ok := cacheFinding(db); ok {
			out = append(out, f)
		}
	}
	if f, ok := conflictFinding(db, errs); ok {
		out = append(out, f)
	}
	return out
}

func poolWaitFinding(st *result.StepResult) (result.Finding, bool) {
	if st.Kind != "sql" || st.Requests < 10 || st.Latency.Mean <= 0 {
		return result.Finding{}, false
	}
	share := st.Phases.PoolWait / st.Latency.Mean
	var exhausted int64
	for _, e := range st.Errs {
		if e.Kind == "pool_exhausted" {
			exhausted += e.Count
		}
	}
	if share < DBPoolWaitShare && exhausted == 0 {
		return result.Finding{}, false
	}
	label := st.Scenario + "/" + st.Step
	sev := SeverityMedium
	if share >= 0.8 || exhausted > 0 {
		sev = SeverityHigh
	}
	title := fmt.Sprintf("SQL step %s waits for a pool connection: %.0f%% of its time (%s of %s ms on average)",
		label, 100*share, dbNum(st.Phases.PoolWait), dbNum(st.Latency.Mean))
	if exhausted > 0 {
		title += fmt.Sprintf(", and %s requests found no connection in time", dbCount(exhausted))
	}
	return result.Finding{
		Kind: result.KindDBPoolWait, Severity: sev, Title: title, Subject: label,
		Detail: "More VUs want a connection than the pool holds: a larger pool (up to what the database serves well; see the pool scaling phase) or fewer concurrent users would cut the wait.",
		Evidence: []result.Evidence{
			{Metric: "pool_wait_mean", Value: st.Phases.PoolWait, Unit: "ms", Source: "step " + label},
			{Metric: "latency_mean", Value: st.Latency.Mean, Unit: "ms", Source: "step " + label},
			{Metric: "pool_wait_share", Value: 100 * share, Unit: "%", Source: "step " + label, Threshold: 100 * DBPoolWaitShare},
			{Metric: "pool_exhausted", Value: float64(exhausted), Source: "step " + label},
		},
		Confidence: dbConfidence(st.Requests),
	}, true
}

func connectionsFinding(db *result.Database, refused int64) (result.Finding, bool) {
	if db.MaxConnections <= 0 {
		return result.Finding{}, false
	}
	share := float64(db.PeakConnections) / float64(db.MaxConnections)
	if share < DBConnectionsShare && refused == 0 {
		return result.Finding{}, false
	}
	sev := SeverityMedium
	if share >= 1 || refused > 0 {
		sev = SeverityHigh
	}
	title := fmt.Sprintf("Connections reached %.0f%% of max_connections (%d of %d)", 100*share, db.PeakConnections, db.MaxConnections)
	if refused > 0 {
		title += fmt.Sprintf("; %s requests were refused a connection", dbCount(refused))
	}
	return result.Finding{
		Kind: result.KindDBConnections, Severity: sev, Title: title, Subject: "max_connections",
		Detail: "The pools of every client together nearly exhaust the server's connection slots; each backend also costs memory. Smaller pools, a pooler such as PgBouncer, or a higher max_connections would leave headroom.",
		Evidence: []result.Evidence{
			{Metric: "peak_connections", Value: float64(db.PeakConnections), Source: "pg_stat_activity"},
			{Metric: "max_connections", Value: float64(db.MaxConnections), Source: "pg_settings"},
			{Metric: "connection_share", Value: 100 * share, Unit: "%", Source: "pg_stat_activity", Threshold: 100 * DBConnectionsShare},
			{Metric: "connection_refused", Value: float64(refused), Source: "errors"},
		},
		Confidence: dbConfidence(int64(len(db.Timeline)) * 10),
	}, true
}

func lockFinding(db *result.Database) (result.Finding, bool) {
	if len(db.Timeline) == 0 {
		return result.Finding{}, false
	}
	waiting, peak := 0, 0
	for _, p := range db.Timeline {
		if p.LocksWaiting > 0 {
			waiting++
		}
		peak = max(peak, p.LocksWaiting)
	}
	share := float64(waiting) / float64(len(db.Timeline))
	if share < DBLockSampleShare {
		return result.Finding{}, false
	}
	sev := SeverityMedium
	if share >= 0.75 {
		sev = SeverityHigh
	}
	return result.Finding{
		Kind: result.KindDBLocks, Severity: sev, Subject: "locks",
		Title:  fmt.Sprintf("Lock requests waited in %.0f%% of the database samples (up to %d at once)", 100*share, peak),
		Detail: "Transactions queue for row or table locks that others hold: shorter transactions, a consistent lock order, or less contention on hot rows would help.",
		Evidence: []result.Evidence{
			{Metric: "lock_wait_samples", Value: 100 * share, Unit: "%", Source: "pg_locks", Threshold: 100 * DBLockSampleShare},
			{Metric: "locks_waiting_max", Value: float64(peak), Source: "pg_locks"},
		},
		Confidence: dbConfidence(int64(len(db.Timeline)) * 10),
	}, true
}

func cacheFinding(db *result.Database) (result.Finding, bool) {
	r := db.CacheHitRatio
	if r <= 0 || r >= DBCacheHitRatio {
		return result.Finding{}, false
	}
	sev := SeverityMedium
	if r < 0.9 {
		sev = SeverityHigh
	}
	return result.Finding{
		Kind: result.KindDBCache, Severity: sev, Subject: "shared_buffers",
		Title:  fmt.Sprintf("Buffer cache hit ratio %.1f%%: %.1f%% of block reads went to storage", 100*r, 100*(1-r)),
		Detail: "The working set does not fit in shared_buffers (or a query scans more than it needs): an index for the scanning query, or more memory for the cache.",
		Evidence: []result.Evidence{
			{Metric: "cache_hit_ratio", Value: 100 * r, Unit: "%", Source: "pg_stat_database", Threshold: 100 * DBCacheHitRatio},
		},
		Confidence: 0.8,
	}, true
}

// conflictFinding: transactions failed on each other (deadlocks,
// serialization failures, lock timeouts).
func conflictFinding(db *result.Database, errs map[string]int64) (result.Finding, bool) {
	deadlocks := errs["deadlock"]
	if db != nil {
		deadlocks = max(deadlocks, db.Deadlocks)
	}
	serial, lockTO := errs["serialization_failure"], errs["lock_timeout"]
	total := deadlocks + serial + lockTO
	if total == 0 {
		return result.Finding{}, false
	}
	var parts []string
	for _, p := range []struct {
		n    int64
		what string
	}{{deadlocks, "deadlocks"}, {serial, "serialization failures"}, {lockTO, "lock timeouts"}} {
		if p.n > 0 {
			parts = append(parts, dbCount(p.n)+" "+p.what)
		}
	}
	sev := SeverityMedium
	if deadlocks > 0 {
		sev = SeverityHigh
	}
	return result.Finding{
		Kind: result.KindDBConflicts, Severity: sev, Subject: "transactions",
		Title:  "Transactions failed on each other: " + strings.Join(parts, ", "),
		Detail: "Concurrent transactions touch the same rows in different orders or under strict isolation; the application must retry them, and each retry is load. Lock rows in one order and keep transactions short.",
		Evidence: []result.Evidence{
			{Metric: "deadlocks", Value: float64(deadlocks), Source: "errors and pg_stat_database"},
			{Metric: "serialization_failures", Value: float64(serial), Source: "errors"},
			{Metric: "lock_timeouts", Value: float64(lockTO), Source: "errors"},
		},
		Confidence: 0.9,
	}, true
}

// dbConfidence grows with the number of observations behind a finding.
func dbConfidence(n int64) float64 {
	return math.Round(100*min(0.95, 0.5+0.45*float64(n)/(float64(n)+100))) / 100
}

// dbNum prints a millisecond value with sensible precision.
func dbNum(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// dbCount prints a count with thousands separators.
func dbCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
