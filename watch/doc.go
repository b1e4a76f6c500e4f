// Package watch samples the system under test beside a load run, on the
// run's own clock, and records what it saw as the Run's System section.
//
// A Watcher owns a few samplers, each a small type behind one method that
// fills its part of a result.SystemPoint:
//
//   - process: CPU (user and system, from deltas of the process's CPU time,
//     so one busy core is 100 %), RSS, threads, open file descriptors,
//     storage read/write bytes and context switches per second, read from
//     /proc for a process named by pid, pid file or name;
//   - host: CPU, memory, load average and network bytes per second of the
//     machine stampede runs on (loopback excluded);
//   - prometheus: a scrape of a /metrics endpoint in the classic text or
//     OpenMetrics text format, keeping the series the plan names plus the
//     standard go_* and process_* families, counters turned into rates
//     (a NaN or infinite value, such as a summary's quantile before its
//     first observation, is no reading and is left out);
//     the garbage collector's collections per second and share of time
//     paused come from go_gc_duration_seconds, or from the runtime/metrics
//     names client_golang's Go collector gives (go_gc_cycles_total_gc_cycles_total,
//     go_cpu_classes_gc_pause_cpu_seconds_total) when that is what the
//     target serves;
//   - pprof: the goroutine count of a Go target when Prometheus does not
//     give it.
//
// Beside the samplers, a Go target's /debug/pprof endpoint gives profiles
// saved next to the run in the format `go tool pprof` reads: the heap (after
// a GC) at start and end, a CPU profile while the load is at its peak
// (MarkPeak), and the mutex and block profiles at the end when they hold
// samples.
//
// Time: every point is stamped with seconds since Options.Start, the run's
// t0, and covers [t_s, t_s+interval) like a window of Run.Series, so the
// two line up by t_s. The watcher's own ticker fires on interval
// boundaries after t0; a caller that already has a clock for its windows
// (the engine's 1 s windows) sets Options.Manual and calls SampleAt.
//
// The watch records; it never judges. Deciding that heap growth is a leak or
// a function a hotspot is package analyze's job, from the timeline and the
// saved profiles.
//
// Nothing the samplers meet after Start stops the run: a process that
// exits, a refused scrape or a missing permission becomes one warning in
// System.Warnings (a repeat is counted, not repeated) and sampling goes on,
// leaving zero what could not be read. Start itself fails only when the
// spec cannot be watched at all: nothing to watch, a bad URL, or a process
// that does not exist.
//
// Cost: a sampling tick is a handful of /proc reads and one scrape and
// parse, tens to hundreds of microseconds of CPU (BenchmarkTick); the
// target pays for a scrape per interval, a goroutine count per interval
// only without Prometheus, two forced GCs (the heap profiles) and one CPU
// profile. Memory is one point per interval, the timeline the Run keeps;
// sampler state does not grow with the run. Process and host sampling read
// /proc and so work on Linux only; elsewhere they become a warning.
//
// Concurrency: Start returns a running Watcher. MarkPeak, ProfileCPUAt and
// SampleAt may be called from any goroutine, concurrently with each other
// and with the watcher's own sampling; samples are taken one at a time.
// Stop is called once, after which the other methods do nothing; a second
// Stop returns the same section.
package watch
