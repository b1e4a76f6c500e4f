package suite

import (
	"context"
	"fmt"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// The stress phase steps the load up until a limit breaks, then bisects:
//
//  1. From the start level, each step holds its level for warm-up + hold
//     and is judged on the held windows only (analyze.StressLimits): the
//     generator saturated, an error-rate SLO, a latency SLO (the plan's
//     overall latency thresholds and tests.stress.p99), or throughput no
//     longer following the load: for the rate and cpu variants, less than
//     analyze.DeliveredShare (95%) of the requests/s sent completed in
//     the held windows (the target does not sustain the rate: its queue
//     grows); for every variant, efficiency below half the first step's
//     (for the payload variant throughput counts the payload moved,
//     requests/s × the multiple).
//     The next level is the last times factor (or plus step), and the
//     ramp ends at the first step that breaks or at max.
//     With the generator saturated, a latency break still counts against
//     the target when the service time alone breaks it (see
//     analyze.StressLimits.Judge). A step the generator limited is
//     measured once more (after a cool-down) before the generator is
//     called the limit: on a shared host a moment's contention is common
//     and says nothing about the target.
//  2. Between the last good and the first bad level it bisects until the
//     bracket is within tests.stress.precision of its top (5%: (first
//     bad − last good) ≤ 5% of first bad), for at most tests.stress.bisect
//     probes and tests.stress.budget of time. A probe that follows a
//     broken step waits for the target to drain first: after the
//     cool-down, one user sends a few requests until their p50 is within
//     DrainTolerance of what it was before the phase (at rest), so no
//     probe starts on the previous step's queue; a target that does not
//     drain within the budget ends the bisection with the bracket it has.
//     A generator limit is not bisected: past it, stampede would measure
//     itself.
//  3. With tests.stress.closed (rate variant), the closed-model capacity
//     is measured too: users doubling from one, each step judged on its
//     held windows, until throughput rises by less than 5% (or the
//     generator or the errors give out, or tests.stress.closed_users).
//     The open and closed maxima measure one capacity: both are reported
//     with their ratio, and a warning says when they differ by over 10%.
//  4. When recovery follows and the target is not overloaded any more
//     (the last probe held, or the closed search ran), or only within
//     the default bound on a step's iterations in flight (stressPool),
//     one more step at the ramp's first broken level, unbounded, puts it
//     back into overload, so that recovery is measured from the state
//     the stress phase is about.
//
// Levels are in the plan's own unit: iterations/s for the rate variant
// (requests/s when every scenario is one request), users, payload
// multiples or connections; throughput is always requests/s, and the
// requests per iteration are measured to tell one from the other.
//
// Recovery is judged against the windows of the lowest level that held,
// normally the first step. A window's p99 is a noisy statistic, so when
// recovery follows, the first step is held for at least RecoveryRefWindows
// windows: a reference of one or two windows would make "back within
// 10%" mostly a matter of luck.
//
// Each step is a separate RunLoad: its windows, watch and generator
// self-check are its own, and the phase's summary merges them exactly.

// RecoveryRefWindows is the fewest windows the first stress step holds
// when recovery is measured against it.
const RecoveryRefWindows = 10

// stressState is what recovery needs from the stress phase.
type stressState struct {
	unit      string
	warm      float64 // seconds of each step not judged
	hold      float64 // seconds judged
	curve     []result.StressPoint
	steps     []*result.Run
	refLevel  float64            // the level recovery returns to
	refRun    *result.Run        // the step measured at that level before the stress
	refHold   float64            // the seconds of refRun that were judged
	lastEnded time.Time          // when the last step's load ended
	rampEnded bool               // the ramp reached a limit or max
	why       map[float64]string // why each broken level broke
	curveRun  []int              // the index in steps of each curve point's load
	closed    []result.ClosedPoint
	idle      float64 // ms: p50 of one user at rest, before the phase
	// requests and iterations of the steps: requests per iteration
	requests, iterations int64
	// the memory variant: what broke each level that broke on memory,
	// and whether the process is gone
	cause  map[float64]string
	killed bool
	// iterMS is the longer mean iteration (ms) of one user at rest and of
	// the first step, when it held; full lifts the default bound on a step's
	// iterations in flight (see stressPool).
	iterMS float64
	full   bool
}

func (pr *protocol) stressUnit() string {
	switch pr.tests.Stress.Variant {
	case plan.VariantUsers:
		return "users"
	case plan.VariantPayload:
		return "× payload"
	case plan.VariantDatabase:
		return "connections"
	case plan.VariantMemory:
		return pr.memoryUnit()
	}
	q := *pr.p
	pr.stressScenarios(&q) // the cpu variant's scenarios
	for _, sc := range q.Scenarios {
		if len(sc.Steps) != 1 {
			return UnitIterations
		}
	}
	return UnitRequests
}

// Units of the rate variant's levels: the plan's own, iterations/s, or
// requests/s when every iteration is one request.
const (
	UnitIterations = "iterations/s"
	UnitRequests   = "requests/s"
)

// integral variants step whole numbers (users, multiples, connections).
func (pr *protocol) integral() bool {
	v := pr.tests.Stress.Variant
	return v != plan.VariantRate && v != plan.VariantCPU
}

// stressStart is the first level: tests.stress.start, else half of what
// the baseline's top level reached (its throughput for the rate variant,
// its users for the users variant), else 10 (rate, users) or 1.
func (pr *protocol) stressStart() float64 {
	s := pr.tests.Stress
	if s.Start > 0 {
		return s.Start
	}
	switch s.Variant {
	case plan.VariantRate, plan.VariantCPU:
		if b := pr.baseTop; b != nil && b.Summary.DurationS > 0 && b.Summary.Iterations > 0 {
			return max(1, roundNice(float64(b.Summary.Iterations)/b.Summary.DurationS/2))
		}
		return 10
	case plan.VariantUsers:
		if b := pr.baseTop; b != nil && b.Summary.MaxVUs > 1 {
			return float64(max(1, b.Summary.MaxVUs/2))
		}
		return 10
	}
	return 1
}

// next is the level after v.
func (pr *protocol) next(v float64) float64 {
	s := pr.tests.Stress
	n := v + s.Step
	if s.Factor > 1 {
		n = v * s.Factor
	}
	if pr.integral() {
		n = max(math.Ceil(n), v+1)
	}
	return n
}

// stressEstimate guesses the phase's length for the ETA: the steps from
// start to max (at most eight are assumed), the bisection (at most its
// budget), the closed-model search (five steps assumed) and the final
// step, each with its cool-down where there is one.
func (pr *protocol) stressEstimate() time.Duration {
	s := pr.tests.Stress
	steps := 6
	if s.Start > 0 {
		steps = 0
		for v := s.Start; v <= s.Max && steps < 8; v = pr.next(v) {
			steps++
		}
	}
	each := time.Duration((wholeSeconds(s.Warmup.D()) + max(1, wholeSeconds(s.Hold.D()))) * float64(time.Second))
	probes := min(4, s.Bisect)
	if s.Precision == 0 {
		probes = s.Bisect
	}
	bisect := min(time.Duration(probes)*(each+pr.tests.CoolDown.D()), s.Budget.D())
	closed := time.Duration(0)
	if pr.closedPlanned() {
		closed = 5 * each
	}
	return time.Duration(steps+1)*each + bisect + closed
}

// closedPlanned says whether the stress phase measures the closed-model
// capacity too: asked for, and the levels are arrival rates.
func (pr *protocol) closedPlanned() bool {
	s := pr.tests.Stress
	return s.Closed && s.Variant == plan.VariantRate
}

func wholeSeconds(d time.Duration) float64 { return math.Round(d.Seconds()) }

// stressLimits are the stress SLOs: the plan's overall latency and
// error-rate thresholds, tests.stress.p99 and error_rate; without any
// latency SLO p99 < 1s, without any error-rate SLO error_rate < 1%.
func (pr *protocol) stressLimits() analyze.StressLimits {
	s := pr.tests.Stress
	l := analyze.StressLimits{P99: float64(s.P99.D()) / float64(time.Millisecond), ErrorRate: s.ErrorRate, Efficiency: s.Efficiency,
		// The rate variants' level is the rate sent: a step holds only
		// when the target completes what it is sent.
		Sustain: s.Variant == plan.VariantRate || s.Variant == plan.VariantCPU}
	var latency, errs bool
	for _, th := range pr.p.Thresholds {
		if th == nil || th.Scope != "" {
			continue
		}
		switch th.Metric {
		case "error_rate":
			errs = true
		case "min", "mean", "max", "p50", "p90", "p95", "p99", "p999":
			latency = true
		default:
			continue
		}
		l.Thresholds = append(l.Thresholds, th)
	}
	if l.P99 == 0 && !latency {
		l.P99 = 1000
	}
	if l.ErrorRate == 0 {
		l.ErrorRate = MaxErrorRate
		if errs {
			l.ErrorRate = -1 // the plan's SLO says it
		}
	}
	return l
}

// stressLoad is the load of one step at level.
func (pr *protocol) stressLoad(level float64, dur time.Duration) (plan.LoadSpec, map[string]string, map[string]*plan.Database) {
	s := pr.tests.Stress
	gs := min(pr.gracefulStop(), plan.Duration(max(s.Warmup.D(), time.Second)))
	constant := func() plan.LoadSpec {
		if s.Rate > 0 {
			return plan.LoadSpec{Model: "open", Rate: s.Rate, Duration: plan.Duration(dur), GracefulStop: gs}
		}
		return plan.LoadSpec{Model: "closed", VUs: max(s.Users, 1), Duration: plan.Duration(dur), GracefulStop: gs}
	}
	switch s.Variant {
	case plan.VariantUsers:
		return plan.LoadSpec{Model: "closed", VUs: int(level), Duration: plan.Duration(dur), GracefulStop: gs}, nil, nil
	case plan.VariantPayload:
		vars := cloneVars(pr.p.Variables)
		vars[plan.PayloadVariable] = strings.Repeat(pr.p.Variables[plan.PayloadVariable], int(level))
		return constant(), vars, nil
	case plan.VariantMemory:
		vars, name := cloneVars(pr.p.Variables), s.StressVariable()
		vars[name] = plan.ScaleVariable(pr.p.Variables[name], level)
		return constant(), vars, nil
	case plan.VariantDatabase:
		dbs := make(map[string]*plan.Database, len(pr.p.Databases))
		for name, db := range pr.p.Databases {
			c := *db
			c.Pool = int(level)
			c.MinPool = min(c.MinPool, c.Pool)
			dbs[name] = &c
		}
		return constant(), nil, dbs
	case plan.VariantNetwork:
		return pr.networkLoad(constant(), level), nil, nil
	}
	return plan.LoadSpec{Model: "open", Rate: level, Duration: plan.Duration(dur), GracefulStop: gs, MaxVUs: pr.stressPool(level)}, nil, nil
}

// The steps of the rate and cpu variants bound their iterations in
// flight: tests.stress.max_vus, else StressPoolHeadroom times what the
// step's rate needs (Little's law) at the mean duration of an iteration
// of one user at rest, or of the first step when that is longer, at
// least MinStressPool. Past the bound, arrivals wait in the
// generator — late, and measured from their intended start — and the
// step completes less than it was sent, which breaks it.
//
// Without a bound an open model adds a VU, and a connection, for every
// arrival that finds none free: a step just over the capacity, or a
// moment's stall, grows the pool to thousands of connections, and on a
// host the generator shares with the target their cost (handshakes,
// goroutines, descriptors on both sides) takes CPU from the service, so
// it serves less, its queue grows faster, and the step measures a
// collapse its own pool caused — below the capacity a closed loop of
// tens of users reaches. The bound is far above what a target below its
// capacity needs: at 95% utilisation a single server's mean wait is 20
// times its service time.
//
// The last overload before recovery, and recovery itself, run without
// the default bound (the open model's default max_vus): recovery is
// measured from the overload an unbounded population of clients causes.
const (
	StressPoolHeadroom = 20
	// MinStressPool is the least default bound: the closed-loop
	// reference's most users (64), so a stall of the target or the
	// generator delays arrivals rather than shortening the step.
	MinStressPool = 64
)

// stressPool is the bound on a rate step's iterations in flight at level
// (0: the open model's default max_vus).
func (pr *protocol) stressPool(level float64) int {
	if n := pr.tests.Stress.MaxVUs; n > 0 {
		return n
	}
	st := pr.stress
	if st == nil || st.full || st.iterMS <= 0 {
		return 0
	}
	n := max(MinStressPool, int(math.Ceil(min(StressPoolHeadroom*level*st.iterMS/1000, float64(plan.MaxVUs)))))
	if n >= plan.DefaultMaxVUs(level) {
		return 0
	}
	return n
}

// iterationMS is the mean duration (ms) of run's iterations, over all
// its scenarios (0 without any).
func iterationMS(run *result.Run) float64 {
	var n int64
	var sum float64
	for _, sc := range run.Scenarios {
		n += sc.Iterations
		sum += float64(sc.Iterations) * sc.Latency.Mean
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// judgeStep judges the run of one stress step at level, of load l: its
// point on the curve (adjust, when set, corrects it before it is
// judged), the windows held after warm seconds for hold seconds, and the
// limit that broke ("" when the step held) and why. An interrupted step
// is not judged: err is the context's error.
func (pr *protocol) judgeStep(ctx context.Context, limits analyze.StressLimits, l plan.LoadSpec, run *result.Run, level, warm, hold float64,
	first *result.StressPoint, adjust func(*result.StressPoint)) (pt result.StressPoint, held result.Summary, limit, why string, err error) {
	held, herr := analyze.Held(run.Series, warm, warm+hold)
	pt = analyze.NewStressPoint(level, offered(l, run), held)
	if adjust != nil {
		adjust(&pt)
	}
	pt.TS = offset(pr.t0, run.StartedAt)
	pt.Dropped, pt.Saturated = run.Summary.Dropped, run.Generator.Saturated
	pt.MaxVUs, pt.VUs = l.MaxVUs, run.Summary.MaxVUs
	// Delivered: the held windows saw the offered requests, give or
	// take DeliveredShare and one request at a window's edge.
	delivered := l.Model == "open" && pt.Offered > 0 && float64(held.Requests)+1 >= analyze.DeliveredShare*pt.Offered*held.DurationS
	limit, why = limits.Judge(analyze.StressStep{Point: pt, Held: held, Service: run.Summary.Service, Saturated: run.Generator.Saturated, Delivered: delivered}, first)
	if limit != "" && l.MaxVUs > 0 && run.Summary.MaxVUs >= l.MaxVUs {
		why += fmt.Sprintf("; %d iterations were in flight, the step's bound (tests.stress.max_vus), and the arrivals past it waited", l.MaxVUs)
	}
	switch {
	case ctx.Err() != nil:
		return pt, held, "", "", ctx.Err()
	case run.Aborted:
		limit, why = analyze.LimitLatency, run.AbortReason
		if strings.Contains(run.AbortReason, "error") {
			limit = analyze.LimitErrors
		}
	case herr != nil && limit == "":
		limit, why = analyze.LimitErrors, herr.Error()
	}
	return pt, held, limit, why, nil
}

// offered is what a step asked of the target in the unit its efficiency
// is counted in: requests/s for an open load (iterations/s times requests
// per iteration), users for a closed one.
func offered(l plan.LoadSpec, run *result.Run) float64 {
	if l.Model == "open" {
		perIter := 1.0
		if run.Summary.Iterations > 0 && run.Summary.Requests > 0 {
			perIter = float64(run.Summary.Requests) / float64(run.Summary.Iterations)
		}
		return l.Rate * perIter
	}
	return float64(l.VUs)
}

func (pr *protocol) runStress(ctx context.Context) error {
	s := pr.tests.Stress
	if s.Variant == plan.VariantNetwork {
		return pr.runNetworkStress(ctx)
	}
	st := &stressState{unit: pr.stressUnit(), warm: wholeSeconds(s.Warmup.D()), hold: max(1, wholeSeconds(s.Hold.D()))}
	pr.stress = st
	limits := pr.stressLimits()
	var first *result.StressPoint
	var warnings []string
	stepLen := time.Duration((st.warm + st.hold) * float64(time.Second))

	// What the target answers one user at rest: the latency a drained
	// target comes back to (see drain).
	if idle, iter, err := pr.idleLatency(ctx); err != nil {
		return pr.finishStress(err, warnings)
	} else if idle > 0 {
		st.idle, st.iterMS = idle, iter
	}

	retried := map[float64]bool{}
	var step func(level float64, probe bool) (ok bool, limit string, err error)
	step = func(level float64, probe bool) (ok bool, limit string, err error) {
		hold := st.hold
		if len(st.curve) == 0 && pr.recoveryPlanned() {
			hold = max(hold, pr.refWindows())
		}
		l, vars, dbs := pr.stressLoad(level, time.Duration((st.warm+hold)*float64(time.Second)))
		detail := fmt.Sprintf("step %d: %s %s", len(st.curve)+1, num(level), st.unit)
		if probe {
			detail = fmt.Sprintf("probe %s %s", num(level), st.unit)
		}
		run, err := pr.load(ctx, l, detail, vars, dbs, nil)
		if run == nil {
			if pr.goneBetweenSteps(st, err) {
				return false, analyze.LimitMemory, nil
			}
			return false, "", err
		}
		st.steps = append(st.steps, run)
		st.lastEnded = run.EndedAt
		if run.Summary.Iterations > 0 && run.Summary.Requests > 0 {
			st.requests += run.Summary.Requests
			st.iterations += run.Summary.Iterations
		}
		pt, held, limit, why, err := pr.judgeStep(ctx, limits, l, run, level, st.warm, hold, first, func(pt *result.StressPoint) {
			if s.Variant == plan.VariantPayload || s.Variant == plan.VariantMemory {
				// Fewer, bigger requests are not less throughput: count the
				// payload moved (requests/s × its multiple) against the load.
				pt.Efficiency *= level
			}
			pt.Probe = probe
		})
		if err != nil {
			return false, "", err
		}
		if pr.resourceVariant() {
			// Memory that gave out is the cause of whatever else broke.
			if cause, mwhy := pr.resourceStep(run, st.warm, st.warm+hold, &pt); cause != "" {
				limit, why = analyze.LimitMemory, mwhy
				st.causeAt(level, cause)
			}
		}
		pt.OK, pt.Limit = limit == "", limit
		if limit == analyze.LimitGenerator && !retried[level] {
			// A busy host or a pause can saturate the generator for a
			// moment: measure the level again before concluding.
			retried[level] = true
			warnings = append(warnings, fmt.Sprintf("%s %s: the generator was saturated (%s); measured again", num(level), st.unit, run.Generator.Reason))
			if err := pr.coolDown(ctx); err != nil {
				return false, "", err
			}
			return step(level, probe)
		}
		// In flight are the requests sent and not answered: their time
		// is the service time (an arrival that waited for a VU of a
		// bounded step was not in flight while it waited).
		serviceMS := held.Latency.Mean
		if sv := run.Summary.Service.Mean; sv > 0 {
			serviceMS = sv
		}
		if err := analyze.LittleCheck(held.RPS, serviceMS, held.MaxVUs); err != nil {
			warnings = append(warnings, fmt.Sprintf("%s %s: %v", num(level), st.unit, err))
		}
		st.curve = append(st.curve, pt)
		st.curveRun = append(st.curveRun, len(st.steps)-1)
		if first == nil {
			first = &st.curve[0]
		}
		if pt.OK && (st.refRun == nil || level < st.refLevel) {
			st.refLevel, st.refRun, st.refHold = level, run, hold
		}
		if len(st.curve) == 1 && pt.OK {
			st.iterMS = max(st.iterMS, iterationMS(run)) // the lightest load
		}
		if !pt.OK {
			st.whyAt(level, why)
		}
		// Re-estimate what is left: the bisection and a final step.
		pr.extra = pr.now().Sub(pr.started) + min(time.Duration(s.Bisect+1)*(stepLen+pr.tests.CoolDown.D()), s.Budget.D()+stepLen)
		return pt.OK, limit, nil
	}

	good, bad, badLimit := 0.0, 0.0, ""
	level := pr.stressStart()
	for level <= s.Max {
		ok, limit, err := step(level, false)
		if err != nil {
			return pr.finishStress(err, warnings)
		}
		if !ok {
			bad, badLimit = level, limit
			break
		}
		good = level
		n := pr.next(level)
		if n > s.Max && level < s.Max {
			n = s.Max // try max itself before giving up
		}
		level = n
	}
	st.rampEnded = true
	overloaded := bad > 0 // the target's state: the last step broke it
	if hi := bad; bad > 0 && badLimit != analyze.LimitGenerator && !st.killed {
		// Bisect until the bracket is within the precision, the probes
		// run out, or the budget does; every probe starts on a drained
		// target.
		lo := good
		deadline := pr.now().Add(s.Budget.D())
		for i := 0; i < s.Bisect; i++ {
			if s.Precision > 0 && hi-lo <= s.Precision*hi {
				break
			}
			mid := (lo + hi) / 2
			if pr.integral() {
				mid = math.Round(mid)
			}
			if mid <= lo || mid >= hi {
				break
			}
			if !pr.now().Add(stepLen).Before(deadline) {
				warnings = append(warnings, fmt.Sprintf("the bisection's budget (tests.stress.budget %s) ran out with the limit between %s and %s %s", s.Budget.D(), num(lo), num(hi), st.unit))
				break
			}
			if overloaded {
				drained, err := pr.settle(ctx, deadline.Add(-stepLen))
				if err != nil {
					return pr.finishStress(err, warnings)
				}
				if drained != "" {
					warnings = append(warnings, drained+fmt.Sprintf("; the bisection stopped with the limit between %s and %s %s", num(lo), num(hi), st.unit))
					break
				}
			}
			ok, limit, err := step(mid, true)
			if err != nil {
				return pr.finishStress(err, warnings)
			}
			if limit == analyze.LimitGenerator {
				break
			}
			overloaded = !ok
			if ok {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	if pr.closedPlanned() {
		if err := pr.closedSearch(ctx, overloaded, limits.ErrorRate, &warnings); err != nil {
			return pr.finishStress(err, warnings)
		}
		overloaded = false // the closed search ends at a bounded queue, not in overload
	}
	// Recovery is measured from the state the stress phase is about: the
	// overload of the ramp's first broken level, with as many clients as
	// it brings (st.full). A target the last probe overloaded up to the
	// default bound is overloaded once more without it.
	bounded := false // the last step's pool reached the default bound
	if n := len(st.curve); n > 0 && s.MaxVUs == 0 {
		last := st.curve[n-1]
		bounded = last.MaxVUs > 0 && last.VUs >= last.MaxVUs
	}
	st.full = true
	if bad > 0 && badLimit != analyze.LimitGenerator && (!overloaded || bounded) && !st.killed && pr.recoveryPlanned() {
		if _, _, err := step(bad, true); err != nil {
			return pr.finishStress(err, warnings)
		}
	}
	return pr.finishStress(nil, warnings)
}

// DrainTolerance is how close to its latency at rest a target must
// answer before the next stress probe: p50 within this share (plus a
// millisecond for timer noise) of the idle p50.
const DrainTolerance = 0.5

// drainProbe is the load that asks whether the target has drained: one
// user, a few iterations, bounded in time.
func drainProbe(timeout time.Duration) plan.LoadSpec {
	return plan.LoadSpec{Model: "closed", VUs: 1, Iterations: 5, Duration: plan.Duration(max(2*time.Second, timeout)), GracefulStop: plan.Duration(time.Second)}
}

// probeLatency runs one drain probe and returns its p50 (ms) and whether
// it had errors. It runs outside the phase: no watch, no thresholds, no
// progress windows, nothing recorded.
func (pr *protocol) probeLatency(ctx context.Context) (p50 float64, errs bool, err error) {
	run, err := pr.probe(ctx)
	if err != nil {
		return 0, false, err
	}
	return run.Summary.Latency.P50, run.Summary.Errors > 0 || run.Summary.Requests == 0, nil
}

// probe runs one drain probe (see probeLatency).
func (pr *protocol) probe(ctx context.Context) (*result.Run, error) {
	q := pr.loadPlan(drainProbe(0), nil, nil)
	q.System, q.Thresholds = nil, nil
	run, err := RunLoad(ctx, q, LoadOptions{Getenv: pr.o.Getenv, Now: pr.o.Now, DeferConclusions: true})
	if run == nil {
		return nil, &fatalError{err}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return run, nil
}

// idleLatency is the p50 of a drain probe before the stress phase loads
// the target (0 when it failed: then no probe waits for a drain), and
// the mean duration (ms) of its iterations.
func (pr *protocol) idleLatency(ctx context.Context) (p50, iterMS float64, err error) {
	run, err := pr.probe(ctx)
	if err != nil || run.Summary.Errors > 0 || run.Summary.Requests == 0 {
		return 0, 0, err
	}
	return run.Summary.Latency.P50, iterationMS(run), nil
}

// settle is the cool-down before a probe that follows an overload: the
// configured cool-down, then drain probes until the target answers within
// DrainTolerance of its idle latency — the previous step's queue is gone —
// or until deadline. It returns "" when the target drained, else what it
// saw.
func (pr *protocol) settle(ctx context.Context, deadline time.Time) (string, error) {
	if err := pr.coolDown(ctx); err != nil {
		return "", err
	}
	idle := pr.stress.idle
	if idle <= 0 {
		return "", nil // nothing to compare with
	}
	limit := idle*(1+DrainTolerance) + 1
	start := pr.now()
	last := -1.0
	for {
		pr.report(Progress{Detail: fmt.Sprintf("waiting for the target to drain (p50 ≤ %.1fms)", limit)})
		p50, errs, err := pr.probeLatency(ctx)
		if err != nil {
			return "", err
		}
		if !errs && p50 <= limit {
			return "", nil
		}
		last = p50
		if !pr.now().Before(deadline) {
			return fmt.Sprintf("the target had not drained %s after the overload (p50 %.1fms of one user, %.1fms at rest)",
				pr.now().Sub(start).Round(time.Second), last, idle), nil
		}
		if errs {
			if err := pr.o.Sleep(ctx, 250*time.Millisecond); err != nil {
				return "", err
			}
		}
	}
}

// closedSearch measures the closed-model capacity: users doubling from
// one until throughput stops rising (analyze.ClosedPlateau) or
// tests.stress.closed_users. When the open search left the target
// overloaded, it first waits for it to drain.
func (pr *protocol) closedSearch(ctx context.Context, overloaded bool, errorRate float64, warnings *[]string) error {
	s, st := pr.tests.Stress, pr.stress
	if overloaded {
		msg, err := pr.settle(ctx, pr.now().Add(s.Budget.D()))
		if err != nil {
			return err
		}
		if msg != "" {
			*warnings = append(*warnings, msg+"; the closed-model search started anyway")
		}
	}
	retried := false
	for users := 1; users <= s.ClosedUsers; {
		l := plan.LoadSpec{Model: "closed", VUs: users, Duration: plan.Duration(time.Duration((st.warm + st.hold) * float64(time.Second))),
			GracefulStop: min(pr.gracefulStop(), plan.Duration(max(s.Warmup.D(), time.Second)))}
		run, err := pr.load(ctx, l, fmt.Sprintf("closed model: %d users", users), nil, nil, nil)
		if run == nil {
			return err
		}
		st.steps = append(st.steps, run)
		st.lastEnded = run.EndedAt
		if ctx.Err() != nil {
			return ctx.Err()
		}
		held, herr := analyze.Held(run.Series, st.warm, st.warm+st.hold)
		if herr != nil {
			*warnings = append(*warnings, fmt.Sprintf("closed model at %d users: %v", users, herr))
			break
		}
		pt := result.ClosedPoint{Users: users, RPS: held.RPS, P50: held.Latency.P50, P99: held.Latency.P99, ErrorRate: held.ErrorRate, Saturated: run.Generator.Saturated}
		if pt.Saturated && !retried {
			retried = true
			*warnings = append(*warnings, fmt.Sprintf("closed model at %d users: the generator was saturated (%s); measured again", users, run.Generator.Reason))
			if err := pr.coolDown(ctx); err != nil {
				return err
			}
			continue
		}
		retried = false
		st.closed = append(st.closed, pt)
		if analyze.ClosedPlateau(st.closed, errorRate) {
			break
		}
		users *= 2
	}
	if n := len(st.closed); n > 0 && !analyze.ClosedPlateau(st.closed, errorRate) {
		*warnings = append(*warnings, fmt.Sprintf("closed model: throughput still rose at %d users (tests.stress.closed_users); the closed capacity is at least %.1f requests/s", st.closed[n-1].Users, st.closed[n-1].RPS))
	}
	return nil
}

func (st *stressState) causeAt(level float64, cause string) {
	if st.cause == nil {
		st.cause = map[float64]string{}
	}
	st.cause[level] = cause
	st.killed = st.killed || cause == analyze.MemoryKilled || cause == analyze.MemoryExited
}

func (st *stressState) whyAt(level float64, why string) {
	if st.why == nil {
		st.why = map[float64]string{}
	}
	st.why[level] = why
}

// refWindows is RecoveryRefWindows, scaled with a rehearsal's durations
// (never below 3).
func (pr *protocol) refWindows() float64 {
	if f := pr.o.TimeScale; f > 0 && f < 1 {
		return max(3, math.Round(RecoveryRefWindows*f))
	}
	return RecoveryRefWindows
}

func (pr *protocol) recoveryPlanned() bool {
	return slicesContainsName(pr.stages, "recovery")
}

// finishStress records the stress phase and starts its analysis.
func (pr *protocol) finishStress(err error, warnings []string) error {
	st := pr.stress
	if len(st.steps) == 0 {
		return err
	}
	s := pr.tests.Stress
	ph := result.Phase{Name: "stress", Kind: "stress"}
	curve := append([]result.StressPoint(nil), st.curve...)
	curveRun := append([]int(nil), st.curveRun...)
	closed := append([]result.ClosedPoint(nil), st.closed...)
	closedRan := pr.closedPlanned() && len(closed) > 0
	steps := st.steps
	why := maps.Clone(st.why)
	rpi := 0.0
	if st.iterations > 0 {
		rpi = float64(st.requests) / float64(st.iterations)
	}
	errorRate := pr.stressLimits().ErrorRate
	causes := maps.Clone(st.cause)
	pr.record(ph, steps, func(rec *phaseRec) {
		out := analyze.StressOutcome(curve, st.unit, why)
		out.Variant = s.Variant
		out.Warnings = append(out.Warnings, warnings...)
		if (s.Variant == plan.VariantRate || s.Variant == plan.VariantCPU) && rpi > 0 {
			out.RequestsPerIteration = round3(rpi)
			out.BreakingPointRPS = out.BreakingPoint * rpi
		}
		if out.Limit == analyze.LimitGenerator {
			out.Warnings = append(out.Warnings, "the generator, not the target, was the limit: run stampede on another machine or split the load (--segment) to go further")
		}
		if closedRan {
			out.Closed = analyze.ClosedOutcome(closed, errorRate, out.MaxThroughputRPS)
			if r := out.Closed.Ratio; r > 0 && (r < 0.9 || r > 1.1) {
				out.Warnings = append(out.Warnings, fmt.Sprintf("the closed model's capacity (%.1f requests/s at %d users) and the open model's (%.1f requests/s) differ by %.0f%%: one of the searches did not reach the limit, or the target behaves differently under a bounded queue",
					out.Closed.MaxThroughputRPS, out.Closed.Users, out.MaxThroughputRPS, 100*(r-1)))
			}
		}
		for i, pt := range curve {
			if pt.OK || pt.Load != out.BreakingPoint || i >= len(curveRun) {
				continue
			}
			if sys := steps[curveRun[i]].System; sys != nil {
				out.System = analyze.SystemAt(sys, st.warm, st.warm+st.hold)
				if rec.ph.System != nil { // what was hot at the break
					rec.ph.System.Hotspots, rec.ph.System.Contention = sys.Hotspots, sys.Contention
				}
			}
			break
		}
		rec.ph.Pass = len(curve) > 0
		switch out.Limit {
		case analyze.LimitNone:
			rec.ph.Note = fmt.Sprintf("held every limit up to %s; max sustained %.1f requests/s", pr.levelText(out.LastGood, rpi), out.MaxThroughputRPS)
		case analyze.LimitGenerator:
			// The phase's result — where the target breaks — rests on a
			// generator that could not keep up.
			rec.ph.Pass, rec.ph.Inconclusive = false, true
			rec.ph.Note = fmt.Sprintf("inconclusive: the load generator gave out at %s before the target broke (%s); the target held up to %s, max sustained %.1f requests/s",
				pr.levelText(out.BreakingPoint, rpi), out.Why, pr.levelText(out.LastGood, rpi), out.MaxThroughputRPS)
		default:
			rec.ph.Note = fmt.Sprintf("breaks at %s (%s: %s); last good %s; max sustained %.1f requests/s",
				pr.levelText(out.BreakingPoint, rpi), out.Limit, out.Why, pr.levelText(out.LastGood, rpi), out.MaxThroughputRPS)
		}
		if out.Resource = pr.resourceLimit(out, causes); out.Resource != nil {
			rec.ph.Note += "; " + out.Resource.Text
		}
		if c := out.Closed; c != nil {
			rec.ph.Note += fmt.Sprintf("; closed model: %.1f requests/s at %d users (%.2f× the open model's)", c.MaxThroughputRPS, c.Users, c.Ratio)
		}
		pr.mu.Lock()
		if pr.stressR != nil { // recovery got there first
			out.RecoveryS, out.Recovered, out.RecoveryLoad = pr.stressR.RecoveryS, pr.stressR.Recovered, pr.stressR.RecoveryLoad
		}
		pr.stressR = out
		pr.mu.Unlock()
	})
	return err
}

// levelText is a stress level in the plan's unit; for iterations/s, the
// requests/s it makes and the requests per iteration beside it.
func (pr *protocol) levelText(v, rpi float64) string {
	out := num(v) + " " + pr.stress.unit
	if pr.stress.unit == UnitIterations && rpi > 0 {
		out += fmt.Sprintf(" (%s requests/s at %.2f requests per iteration)", num(v*rpi), rpi)
	}
	return out
}

// runRecovery drops the load back to the lowest level that held in the
// stress phase (measured there before the overload) and measures how long
// p99 and the error rate take to come back within tolerance of that
// measurement for the required windows in a row.
func (pr *protocol) runRecovery(ctx context.Context) error {
	st := pr.stress
	r := pr.tests.Recovery
	ph := result.Phase{Name: "recovery", Kind: "recovery"}
	if st == nil || st.refRun == nil {
		ph.Skipped, ph.Note = true, "not measured: no stress step held its limits, so there is no normal to return to"
		pr.record(ph, nil, nil)
		return nil
	}
	if st.killed {
		ph.Skipped, ph.Note = true, "not measured: the service's process is gone (the memory stress ended it), so there is nothing to recover"
		pr.record(ph, nil, nil)
		return nil
	}
	held := heldWindows(st.refRun.Series, st.warm, st.warm+st.refHold)
	ref, err := analyze.RecoveryReference(held)
	if err != nil {
		ph.Skipped, ph.Note = true, "not measured: "+err.Error()
		pr.record(ph, nil, nil)
		return nil
	}
	rule := analyze.RecoveryRule{Tolerance: r.Tolerance, Windows: r.Windows}
	tracker := &analyze.RecoveryTracker{Rule: rule, Ref: ref}
	l, vars, dbs := pr.stressLoad(st.refLevel, r.Limit.D())
	detail := fmt.Sprintf("back to %s %s; p99 ≤ %.1fms for %d windows", num(st.refLevel), st.unit, ref.P99*(1+r.Tolerance), r.Windows)
	run, err := pr.load(ctx, l, detail, vars, dbs, tracker.Add)
	if run == nil {
		return err
	}
	gap := 0.0
	if !st.lastEnded.IsZero() {
		gap = max(run.StartedAt.Sub(st.lastEnded).Seconds(), 0)
	}
	at, ok := analyze.Recovery(ref, rule, run.Series)
	out := &result.Stress{RecoveryS: -1, Recovered: ok, RecoveryLoad: st.refLevel}
	ph.Pass = ok
	switch {
	case analyze.GeneratorSaturated(run) && !ok:
		// Not back to normal, but the generator's own lateness is in
		// every window: the recovery was not measured.
		ph.Inconclusive = true
		ph.Note = "inconclusive: the load generator was saturated (" + run.Generator.Reason + ")"
	case ok:
		out.RecoveryS = round3(at + gap)
		ph.Note = fmt.Sprintf("recovered %.0f s after the load dropped to %s %s (p99 ≤ %.1fms, errors ≤ %.2f%%, %d windows in a row)",
			out.RecoveryS, num(st.refLevel), st.unit, ref.P99*(1+r.Tolerance), 100*max(ref.ErrorRate*(1+r.Tolerance), ref.ErrorRate+0.001), r.Windows)
	case run.Aborted:
		ph.Note = "not measured to the end: " + run.AbortReason
	default:
		ph.Note = fmt.Sprintf("did not recover within %s at %s %s (p99 back under %.1fms for %d windows in a row)",
			r.Limit.D(), num(st.refLevel), st.unit, ref.P99*(1+r.Tolerance), r.Windows)
	}
	if v := pr.tests.Stress.Variant; st.refLevel > 0 && (v == plan.VariantRate || v == plan.VariantCPU) {
		ph.Rate = st.refLevel
	} else if pr.tests.Stress.Variant == plan.VariantUsers {
		ph.Users = int(st.refLevel)
	}
	pr.record(ph, []*result.Run{run}, func(*phaseRec) {
		pr.mu.Lock()
		defer pr.mu.Unlock()
		if pr.stressR == nil {
			pr.stressR = out // the stress analysis copies it when it lands
			return
		}
		pr.stressR.RecoveryS, pr.stressR.Recovered, pr.stressR.RecoveryLoad = out.RecoveryS, out.Recovered, out.RecoveryLoad
	})
	return err
}

func heldWindows(ws []result.Window, from, to float64) []result.Window {
	var out []result.Window
	for _, w := range ws {
		if w.TS >= from-1e-9 && w.TS < to-1e-9 {
			out = append(out, w)
		}
	}
	return out
}

// roundNice rounds to two significant digits: a start level people read.
func roundNice(v float64) float64 {
	if v <= 0 {
		return 0
	}
	mag := math.Pow(10, math.Floor(math.Log10(v))-1)
	return math.Floor(v/mag) * mag
}

// num prints a level without trailing zeros.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.4g", v)
}

func slicesContainsName(stages []stage, name string) bool {
	for _, s := range stages {
		if s.name == name {
			return true
		}
	}
	return false
}
