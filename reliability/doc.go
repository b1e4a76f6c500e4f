// Package reliability holds the tests that keep stampede reliable under
// faults it does not control: a TCP fault proxy between the generator and
// its target (resets, stalls, truncated bodies, slow drips, 5xx bursts, a
// target killed and restarted), SIGKILL of a running stampede at random
// moments, concurrent writers of one history, full disks, and the fuzzing
// of every decoder (.ci/fuzz).
//
// The package has no code of its own outside its tests: every test drives
// stampede as users do, through the command line (in-process with
// cli.Run, or a built binary when it must be killed), and asserts exact
// counts, known by construction from bounded iteration counts.
package reliability
