// Package bench benchmarks commands and Go functions and compares the
// results with the statistics of two well-tried tools.
//
// Commands are measured with hyperfine's method. The shell's own start-up
// time is measured first (an empty command run through the shell) and its
// mean is subtracted from every run's wall, user and system time. Each
// command gets its warm-up runs, then one timed run decides how many runs it
// gets: max(MinRuns, MinTime ÷ time of one run), capped by MaxRuns, unless
// Runs fixes the count. With several commands the timed runs are interleaved
// (A B A B …), so a slow drift of the machine (thermal throttling, a backup
// starting) spreads over every command instead of penalising the last one.
// Outliers are found with the modified z-score |x − median| / (1.4826·MAD)
// > 10 and reported with an explanation; they are never removed, because a
// slow run is a measurement too. Commands are compared with the ratio of
// their means, a 95% confidence interval for that ratio from Fieller's
// theorem (exact for a ratio of two independent normal means, and unlike
// first-order error propagation it is asymmetric and becomes unbounded when
// the denominator is not clearly away from zero), and a two-sided
// Mann–Whitney U test at α = 0.05 for the verdict, which does not assume
// that run times are normally distributed (they rarely are).
//
// Go benchmarks (`go test -bench` output, or Run documents) are summarised
// and compared with benchstat's method, using golang.org/x/perf/benchmath
// directly so that the verdicts are benchstat's: per benchmark and unit the
// median with a 95% confidence interval from order statistics, the change
// of the medians, `~` when the Mann–Whitney U test does not reject "same
// distribution" at α = 0.05, and a geometric-mean row. Fewer than 4 runs
// per side cannot show any difference and fewer than 6 give no interval;
// both are reported as warnings, never hidden.
//
// The trade-off is deliberate: nothing here keeps a histogram, because a
// benchmark has tens or hundreds of runs, not millions of requests, and the
// non-parametric tests need the individual run times. Every function takes
// a context; cancelling it stops between runs (the run in flight is killed
// and discarded) and returns what was measured, marked partial, together
// with the context's error. Processes, the go command and the clock are
// injected (Exec, GoTest, Now) so the method is testable without sleeping.
package bench
