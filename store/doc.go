// Package store keeps the history of runs: every Run document a plan
// produced, the baseline each plan is compared with, and the runs still in
// progress, so that history, baselines and regression gates work across
// invocations and machines.
//
// # Two engines, one code path
//
// A location ("DSN") starting with postgres:// or postgresql:// is a
// PostgreSQL database, reached with pgx's native protocol; anything else is
// the path of a SQLite file (pure Go, no cgo), created with its directory on
// first use. SQLite is the default because it needs nothing installed:
// .stampede/history.db next to the plan (DefaultDSN). PostgreSQL is for a
// team or CI fleet sharing one history. Both engines run the very same SQL
// text ($1-style parameters are understood by both); only the schema
// migrations are written per dialect, because column types differ. There is
// deliberately no per-engine subpackage: one code path is what makes the
// behaviour the same on both, and the test suite runs unchanged against
// each.
//
// # Schema and migrations
//
// Migrations are ordered SQL files embedded from migrations/<dialect>/ and
// applied on Open inside one transaction, recorded in schema_version. A
// database written by a newer stampede is refused (ErrSchemaTooNew) rather
// than misread. The Run document itself is stored whole as JSON; the few
// columns beside it (plan, kind, start, RPS, p50/p95/p99, error rate,
// verdict, aborted, git, host, tags) exist only to list and filter history
// without decoding every document.
//
// # Writing while a run happens
//
// Begin records a run as "running" with the identity of the writing
// process (host, pid and, on Linux, the process start time, so a reused pid
// is not mistaken for the writer); AppendWindows stores each batch of
// one-second windows in its own transaction and refreshes a heartbeat;
// Finish replaces all of it with the final Run. A crash therefore loses at
// most the windows not yet appended. Recover, run by Open, finds running
// runs whose writer is gone (its pid is dead on this host, or, for a writer
// on another host, its heartbeat is older than Options.StaleAfter) and closes
// each as an aborted Run rebuilt from its stored windows: counts are summed
// and latency percentiles come from merging the windows' HDR histograms, so
// they are exact, not averaged.
//
// Several processes may write one store at once. SQLite runs in WAL mode
// with a busy timeout and takes the write lock at the start of every
// transaction (BEGIN IMMEDIATE), so writers queue instead of failing;
// PostgreSQL serialises migrations with an advisory lock.
//
// # Tests
//
// The suite runs every behaviour against both engines. The PostgreSQL half
// starts its own throwaway cluster (internal/pgtest: initdb into a
// temporary directory, a free loopback port, run as the postgres user when
// the tests run as root), so `go test ./...` alone covers it; set
// STAMPEDE_TEST_POSTGRES=postgres://… to use an existing server instead.
// Those tests are skipped, saying so, only when no PostgreSQL binaries are
// installed (and fail instead when STAMPEDE_REQUIRE_POSTGRES is set).
//
// A *Store is safe for concurrent use by multiple goroutines, except that
// the writes of one run (Begin, AppendWindows, Finish) must come from one
// goroutine at a time, as a run engine naturally does.
package store
