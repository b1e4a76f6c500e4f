// Package zoo is a collection of small HTTP services, each with one planted
// fault or none, that the analysis is measured against: the end-to-end
// findings tests and the scoreboard (bench/findings) start them as child
// processes, load them with their standard plan, and compare the findings
// with the ground truth each service declares.
//
// Design. Every service is a real Go HTTP server built the way services
// are: handlers call the service's own helpers, which call libraries (the
// standard library, database/sql on SQLite, net/http to a dependency). Each
// serves /debug/pprof/ (with the mutex and block profiles on) and /metrics
// (client_golang's Go collector with the runtime/metrics series, and the
// process collector), so the watch sees it as it would see a production
// service. A service runs alone in its process, never beside the load
// generator, so its profiles hold only its own work.
//
// Planted CPU costs are amounts of CPU time per request (the function works
// until its thread's CPU clock advanced that much), not amounts of work, so
// a fault has the same share of the profile on a slow machine and a fast
// one. Planted waits are wall-clock sleeps standing for I/O.
//
// All services live in one binary (cmd/zoo, --service NAME), so a caller
// builds once, and shares one server frame (routes, instrumentation,
// profiling), so the services differ only in what they plant. A test binary
// can serve a service itself when started with the ServiceEnv variable set
// (see MaybeServe): the tests then need no separate build.
package zoo
