package zoo

// faultServices are the services with a planted fault, each with what
// the analysis should say about it.
func faultServices() []Service {
	return []Service{
		{
			Name:  "cpu-own",
			About: "CPU in the service's own code: a brute-force ranking, 2 ms of CPU per search",
			Truth: Truth{Kinds: []string{KindCPUHotspot}, Function: "rankResults"},
			build: buildSearch,
		},
		{
			Name:  "cpu-library",
			About: "CPU in a library routine called per request: SHA-256 over the catalogue for every ETag, 2 ms of CPU",
			Truth: Truth{Kinds: []string{KindCPUHotspot}, Function: "catalogETag",
				Note: "the own function has almost no flat time; the CPU is in crypto/sha256 below it, but the fix is in the caller"},
			build: buildCatalog,
		},
		{
			Name:  "gc-pressure",
			About: "allocation pressure: 2.2 MB of short-lived objects per request, dozens of collections a second",
			Truth: Truth{Kinds: []string{KindGCPressure}, Function: "buildFeed",
				Note: "the allocation site is named by the heap profile's allocations (alloc_space)"},
			build: buildFeedService,
		},
		{
			Name:  "heap-leak",
			About: "heap leak: a 16 KiB session per login, never expired",
			Truth: Truth{Kinds: []string{KindMemoryLeak}, Function: "rememberSession"},
			build: buildSessions,
		},
		{
			Name:  "goroutine-leak",
			About: "goroutine leak: a goroutine per subscription, blocked forever, each holding 4 KiB",
			Truth: Truth{Kinds: []string{KindGoroutineLeak, KindMemoryLeak}, Function: "waitForUpdates",
				Note: "the goroutine count grows at a steady load; the held buffers make the heap grow too"},
			build: buildHub,
		},
		{
			Name:  "lock-contention",
			About: "lock contention: one ledger mutex held for a 2 ms flush per transfer",
			Truth: Truth{Kinds: []string{KindLockContention}, Function: "postEntry"},
			build: buildLedger,
		},
		{
			Name:  "slow-sql",
			About: "slow SQL query: a lookup by an unindexed column scans 40,000 rows (SQLite)",
			Truth: Truth{Kinds: []string{KindSlowDatabase, KindCPUHotspot}, Function: "findOrdersByEmail",
				Note: "an embedded database has no pg_stat_statements: its time is CPU inside the SQLite library below the own query function"},
			build: buildOrderSearch,
		},
		{
			Name:  "n-plus-one",
			About: "N+1 queries: a page of 40 orders, then one query per order for its items",
			Truth: Truth{Kinds: []string{KindSlowDatabase, KindCPUHotspot}, Function: "listOrdersWithItems",
				Note: "each query is fast; their number per request is the fault"},
			build: buildOrderHistory,
		},
		{
			Name:  "pool-exhaustion",
			About: "connection pool exhaustion: 4 connections, each held across a 20 ms remote call",
			Truth: Truth{Kinds: []string{KindDBPoolWait, KindLockContention, KindSlowDatabase}, Function: "reserveStock",
				Note: "the service's own pool: the wait shows in its go_sql_wait_* series and in the block profile under database/sql, not in a SQL step"},
			build: buildInventory,
		},
		{
			Name:  "slow-downstream",
			About: "slow dependency: every quote waits 150 ms for a pricing service on another loopback port",
			Truth: Truth{Kinds: []string{KindSlowDependency}, Function: "fetchPrices",
				Note: "off-CPU wait: only the block profile and the latency show it"},
			build: buildQuotes,
		},
		{
			Name:  "disk-fsync",
			About: "disk I/O per request: each of the 8 events a request carries written to its own file and fsynced",
			Truth: Truth{Kinds: []string{KindDiskIO, KindCPUHotspot}, Function: "persistEvent",
				Note: "an fsync per event, eight a request: on a disk that makes fsync wait, an off-CPU wait; where fsync returns in about a millisecond (a VM's page cache) the kernel's CPU under os.(*File).Sync; either way the request goroutines sit in Sync most of their time, which the goroutine snapshots show (disk_io)"},
			build: buildSpool,
		},
		{
			Name:  "unbounded-queue",
			About: "unbounded queue: jobs arrive faster than the one worker finishes them; latency grows through the run",
			Truth: Truth{Kinds: []string{KindQueueGrowth, KindThroughput, KindSlowResponse},
				Note: "no function is hot or holds a lock: the growth of latency at a steady load is the evidence"},
			build: buildJobs,
		},
	}
}

// healthyServices have no fault: no finding of medium or high severity
// should be drawn from them.
func healthyServices() []Service {
	healthy := Truth{Healthy: true}
	return []Service{
		{Name: "healthy-cache", About: "a bounded cache of 64 KiB pages: the heap grows while it warms, then plateaus", Truth: healthy, build: buildProductCache},
		{Name: "healthy-batch-gc", About: "a batch job allocates 48 MB every 3 s: the heap and the collector spike, then rest", Truth: healthy, build: buildDirectory},
		{Name: "healthy-bursty", About: "bursts of 6 times the base rate, well within capacity", Truth: healthy, build: buildPrices},
		{Name: "healthy-cpu-bound", About: "CPU-bound, its work spread evenly over four steps of its own: capacity is the CPU count", Truth: healthy, build: buildCheckout},
		{Name: "healthy-big-heap", About: "a 200 MB read-only index: a big heap that does not grow", Truth: healthy, build: buildRegions},
		{Name: "healthy-plain", About: "a small JSON API: the control", Truth: healthy, build: buildGreeter},
	}
}
