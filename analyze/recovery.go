package analyze

import (
	"errors"
	"slices"

	"github.com/stampede-perf/stampede/result"
)

// Recovery is measured after a stress phase: the load drops back to a
// level measured before the stress, and the system has recovered once
// its one-second windows look as they did then for a few windows in a
// row. A single window's p99 scatters around the true p99 (at a hundred
// requests a second it is about the second-largest of them), so a window
// is compared with what a normal window showed, not with the p99 of the
// whole reference: the reference p99 is the 90th percentile of the
// reference windows' p99s (their maximum when there are fewer than ten),
// and a window is within tolerance when its p99 is at most that times
// (1 + tolerance). The error rate must be at most the reference's times
// (1 + tolerance), and never less than the reference's plus 0.1
// percentage point, so that a clean reference does not demand that not
// one request in the recovery ever fail.

// RecoveryRule says when a system counts as recovered.
type RecoveryRule struct {
	Tolerance float64 // 0.10: within 10% of the reference
	Windows   int     // consecutive windows within tolerance
}

// RecoveryRef is what a normal window looked like before the stress.
type RecoveryRef struct {
	P99       float64 // ms
	ErrorRate float64 // 0..1
}

// errFloor is the smallest error-rate allowance above the reference.
const errFloor = 0.001

// RecoveryReference reads the reference from the pre-stress windows at
// the recovery load (windows without requests are left out).
func RecoveryReference(windows []result.Window) (RecoveryRef, error) {
	var p99s []float64
	var req, errs int64
	for _, w := range windows {
		if w.Requests == 0 {
			continue
		}
		p99s = append(p99s, w.P99)
		req += w.Requests
		errs += w.Errors
	}
	if len(p99s) == 0 {
		return RecoveryRef{}, errors.New("no pre-stress window had requests: recovery cannot be judged")
	}
	slices.Sort(p99s)
	ref := RecoveryRef{P99: p99s[len(p99s)-1], ErrorRate: float64(errs) / float64(req)}
	if len(p99s) >= 10 {
		// Nearest rank: the smallest value with at least 90% at or below it.
		k := (9*len(p99s) + 9) / 10
		ref.P99 = p99s[k-1]
	}
	return ref, nil
}

// Within reports whether one window is back within tolerance of ref.
func (r RecoveryRule) Within(ref RecoveryRef, w result.Window) bool {
	if w.Requests == 0 {
		return false // no evidence either way
	}
	rate := float64(w.Errors) / float64(w.Requests)
	return w.P99 <= ref.P99*(1+r.Tolerance) && rate <= max(ref.ErrorRate*(1+r.Tolerance), ref.ErrorRate+errFloor)
}

// RecoveryTracker follows the recovery windows as they close, so a run
// can stop as soon as the system has recovered. It is not safe for
// concurrent use.
type RecoveryTracker struct {
	Rule RecoveryRule
	Ref  RecoveryRef

	streak int
	start  float64
	done   bool
}

// Add takes the next window and reports whether the system has now
// recovered (and stays true after).
func (t *RecoveryTracker) Add(w result.Window) bool {
	if t.done {
		return true
	}
	if !t.Rule.Within(t.Ref, w) {
		t.streak = 0
		return false
	}
	if t.streak == 0 {
		t.start = w.TS
	}
	t.streak++
	t.done = t.streak >= max(t.Rule.Windows, 1)
	return t.done
}

// Recovered returns when the recovered streak began (the TS of its first
// window) and whether there is one.
func (t *RecoveryTracker) Recovered() (at float64, ok bool) { return t.start, t.done }

// Recovery scans windows (in time order, TS counted from the moment the
// load dropped) and returns the time until the first streak of
// rule.Windows windows within tolerance began, and false when there is
// none.
func Recovery(ref RecoveryRef, rule RecoveryRule, windows []result.Window) (float64, bool) {
	t := RecoveryTracker{Rule: rule, Ref: ref}
	for _, w := range windows {
		if t.Add(w) {
			break
		}
	}
	return t.Recovered()
}
