// Package analyze turns Runs into statistics and conclusions; it prints
// nothing.
//
// Design. The statistics (thresholds, the comparison of two runs, trends,
// the heap's leak verdict, attribution of profiles to the program's own
// code, stress limits, recovery, the USL fit, the knee) are functions of
// this package that the parts running a test call as the data arrives
// (suite, record for the comparison); their results are stored in the
// Run. The arithmetic underneath (the Mann–Whitney U test and Holm's
// adjustment, Mann–Kendall and Theil–Sen, the USL fit, Kneedle) is
// package stats, which knows nothing of runs: this package chooses what
// to test and what the numbers mean. The conclusions — findings,
// recommendations, the rules that could not be evaluated, and the verdict
// settled with the findings — are then drawn from the whole Run by one
// pure function, Judge, called once where every input is known (after the
// comparison with a base: see package record); Run.SetConclusion puts
// them in the Run. Rules judge; they never measure. Recommendations come
// from the advice catalogue, a table keyed by finding kind (catalogue.go):
// the actions, hooks that word the expected gain from the finding's
// evidence, the phase that verifies a change, and its risk.
package analyze
