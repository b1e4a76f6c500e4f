package analyze

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/stats"
)

// Stress steps are judged on their held windows only: a step's first
// seconds carry the previous step's queue and the new level's ramp, so
// they are measured but not judged. Latency comes from the merged HDR
// histograms of those windows, never from an average of their
// percentiles.

// Stress limits, in the order a step is checked against them.
const (
	LimitGenerator  = "generator"  // the load generator, not the target, was the bottleneck
	LimitErrors     = "errors"     // an error-rate SLO broke
	LimitLatency    = "latency"    // a latency SLO broke
	LimitThroughput = "throughput" // throughput stopped rising with the load
	LimitNone       = "none"       // nothing broke up to the highest load tried
)

// Held merges the windows of series that start in [from, to) into one
// summary (metrics.Summarize): counts add, percentiles come from the
// merged histograms, and RPS is requests over the windows' span (one
// second each). MaxVUs is the most VUs any of them saw.
func Held(series []result.Window, from, to float64) (result.Summary, error) {
	var held []result.Window
	for _, w := range series {
		if w.TS >= from-1e-9 && w.TS < to-1e-9 {
			held = append(held, w)
		}
	}
	if len(held) == 0 {
		return result.Summary{}, errors.New("no windows in the held part of the step")
	}
	sp, err := metrics.Summarize(held)
	if err != nil {
		return sp.Summary, fmt.Errorf("cannot merge window histograms: %w", err)
	}
	return sp.Summary, nil
}

// NewStressPoint is one step of the curve: load is the step's level
// (requests or iterations per second, users, payload multiple or pool
// size) and offered the load it asks of the target, in the unit
// efficiency is counted in (requests/s for the open model, users for
// the closed one). Efficiency is achieved RPS ÷ offered.
func NewStressPoint(load, offered float64, held result.Summary) result.StressPoint {
	pt := result.StressPoint{Load: load, Offered: offered, RPS: held.RPS, P50: held.Latency.P50, P99: held.Latency.P99, ErrorRate: held.ErrorRate}
	if offered > 0 {
		pt.Efficiency = held.RPS / offered
	}
	return pt
}

// StressLimits are what a stress step must hold.
type StressLimits struct {
	P99       float64 // ms; 0 for no p99 limit
	ErrorRate float64 // 0..1; a negative value for no error-rate limit
	// Efficiency: a step breaks on throughput when its efficiency falls
	// below this share of the first step's (0.5: half). 0 turns it off.
	Efficiency float64
	// Sustain: the step's level is an arrival rate (the open model), and
	// a step that did not deliver it (Delivered: DeliveredShare of the
	// requests/s it offered) breaks on throughput — the target completed
	// less than it was sent, so its queue grew through the step and the
	// rate is beyond what it sustains, whatever the latency said so far.
	Sustain bool
	// Thresholds are further SLOs over the whole run (scope ""), checked
	// against the held windows: latency metrics (p50…p999, mean, max, min)
	// and error_rate. Others (rps, counts) do not describe a step and are
	// ignored.
	Thresholds []*plan.Threshold
}

// StressStep is the evidence about one step.
type StressStep struct {
	Point result.StressPoint
	Held  result.Summary // the judged windows
	// Service is the step's service time (completion − actual send), which
	// leaves out how late the generator started each request.
	Service result.Latency
	// Saturated says the generator could not keep up during the step.
	Saturated bool
	// Delivered says an open-model step sent what it asked for: its held
	// throughput is at least DeliveredShare of the offered requests/s.
	Delivered bool
}

// DeliveredShare is the least share of the offered requests/s an
// open-model step must achieve to count as delivered.
//
// With StressLimits.Sustain it is also what makes the open model's
// maximum throughput the capacity a closed loop measures: a step at a
// rate R above the capacity C still holds while C ≥ DeliveredShare·R,
// and its throughput is C itself (the target busy all the time, as
// under a closed loop's queue). A step that breaks on throughput at hi
// says C < DeliveredShare·hi, so once a bisection's bracket is within
// 1 − DeliveredShare of hi (the default precision, 5%), its last good
// level is above C and the throughput held there is C: the search ends
// measuring the capacity, not a rate up to 5% under it.
const DeliveredShare = 0.95

// Judge says whether a step held: it returns the limit that broke (one
// of the Limit constants, "" when the step held) and why, with numbers.
// first is the curve's first step (nil when s is the first).
//
// A saturated generator makes the step's latency and throughput partly
// its own: then a latency break counts against the target only when the
// service time alone breaks the latency limits too (the generator's
// lateness is not in it) or when the step fell behind its rate with its
// requests queued at the target (a bounded step's arrivals wait for a
// VU: lateness the target caused), errors always count against the target, a step
// that held its limits and delivered its load (Delivered) held, and
// anything else is the generator's limit.
//
// The order is errors, latency, the generator, then throughput: with
// Sustain, an open-model step that fell short of its rate, and
// otherwise one whose efficiency fell under Efficiency of the first
// step's. A shortfall under a saturated generator is the target's when
// its service time shows the queue (QueueFactor), the generator's
// otherwise.
func (l StressLimits) Judge(s StressStep, first *result.StressPoint) (limit, why string) {
	held := s.Held
	if held.Requests == 0 {
		if s.Saturated {
			return LimitGenerator, "no request completed in the held part of the step and the generator was saturated"
		}
		return LimitErrors, "no request completed in the held part of the step"
	}
	if l.ErrorRate >= 0 && held.ErrorRate > l.ErrorRate {
		return LimitErrors, fmt.Sprintf("error rate %.2f%% > %.2f%%", 100*held.ErrorRate, 100*l.ErrorRate)
	}
	lat, errWhy := l.latency(held)
	if errWhy != "" {
		return LimitErrors, errWhy
	}
	if len(lat) > 0 {
		if !s.Saturated {
			return LimitLatency, strings.Join(lat, "; ")
		}
		svc := held
		svc.Latency = s.Service
		if slat, _ := l.latency(svc); len(slat) > 0 {
			return LimitLatency, strings.Join(lat, "; ") + " — service time alone breaks it too (" + strings.Join(slat, "; ") + "), so the target, not the saturated generator, is the limit"
		}
		// The lateness can be the target's queue held in the generator:
		// a step whose iterations in flight reached their bound sends
		// the arrivals past it late, and its service time shows whether
		// the requests it did send queued at the target.
		if why, ok := l.queuedShortfall(s, first); ok {
			return LimitThroughput, why + "; " + strings.Join(lat, "; ") + " with the arrivals' wait for a VU"
		}
		return LimitGenerator, strings.Join(lat, "; ") + ", but only with the generator's own lateness: it was saturated (its CPU or schedule), so higher loads would measure it rather than the target"
	}
	pt := s.Point
	shortfall := l.Sustain && !s.Delivered && pt.Offered > 0
	if s.Saturated && !s.Delivered {
		if why, ok := l.queuedShortfall(s, first); ok {
			return LimitThroughput, why
		}
		return LimitGenerator, "the load generator was saturated (its own CPU or schedule), so higher loads would measure it rather than the target"
	}
	// A saturated generator that still delivered the load held it: its
	// lateness only adds to the latency, which held anyway.
	if shortfall {
		return LimitThroughput, shortfallWhy(pt)
	}
	if first != nil && l.Efficiency > 0 && first.Efficiency > 0 && pt.Efficiency < l.Efficiency*first.Efficiency {
		return LimitThroughput, fmt.Sprintf("efficiency %.2f is below %.0f%% of the first step's %.2f: throughput %.1f/s no longer follows the load",
			pt.Efficiency, 100*l.Efficiency, first.Efficiency, pt.RPS)
	}
	return "", ""
}

// queuedShortfall says that an open-model step fell behind its rate while
// the requests it was sent queued at the target: the target's limit,
// saturated generator or not.
func (l StressLimits) queuedShortfall(s StressStep, first *result.StressPoint) (string, bool) {
	pt := s.Point
	if !l.Sustain || s.Delivered || pt.Offered <= 0 || first == nil || !(s.Service.P50 > QueueFactor*first.P50+1) {
		return "", false
	}
	return shortfallWhy(pt) + fmt.Sprintf(" — the generator was saturated too, but what it sent queued at the target (service time p50 %.1fms, %.1fms at the first step)",
		s.Service.P50, first.P50), true
}

// QueueFactor is how far a step's service-time median (completion −
// actual send) must rise over the first step's median latency, plus a
// millisecond, to show requests queueing at the target: what tells a
// target that fell behind its rate from a generator that did not send it.
// A rate 5% over the capacity queues for 5% of the time elapsed in the
// step, a hundred milliseconds and more in a step of seconds, which
// doubles all but the slowest requests; a generator that did not send
// leaves the target's time as it was.
const QueueFactor = 2

// shortfallWhy says that an open-model step completed less than
// DeliveredShare of the rate it sent.
func shortfallWhy(pt result.StressPoint) string {
	return fmt.Sprintf("throughput %.1f/s is %.0f%% of the %.1f/s sent (under %.0f%%): the target does not sustain this rate, its queue grew through the step",
		pt.RPS, 100*pt.RPS/pt.Offered, pt.Offered, 100*DeliveredShare)
}

// latency lists the latency limits v breaks; an error-rate threshold of
// the plan that fails is returned as errWhy instead.
func (l StressLimits) latency(v result.Summary) (broken []string, errWhy string) {
	if l.P99 > 0 && v.Latency.P99 > l.P99 {
		broken = append(broken, fmt.Sprintf("p99 %.1fms > %.1fms", v.Latency.P99, l.P99))
	}
	run := &result.Run{Summary: v}
	for _, th := range l.Thresholds {
		if th == nil || th.Scope != "" || !stressMetric(th.Metric) {
			continue
		}
		r := Thresholds(run, []*plan.Threshold{th})[0]
		if r.Pass {
			continue
		}
		if th.Metric == "error_rate" {
			return nil, fmt.Sprintf("%s failed (actual %s)", th.Expr, format(r.Value, r.Unit))
		}
		broken = append(broken, fmt.Sprintf("%s failed (actual %s)", th.Expr, format(r.Value, r.Unit)))
	}
	return broken, ""
}

func stressMetric(m string) bool {
	switch m {
	case "min", "mean", "max", "p50", "p90", "p95", "p99", "p999", "error_rate":
		return true
	}
	return false
}

// StressOutcome reads the breaking point off a curve of judged steps
// (each with OK and Limit set, in the order they ran): the breaking point
// is the lowest load that broke, the last good load the highest that held
// below it, and the maximum sustained throughput the best RPS of a step
// that held. With no broken step the limit is "none" and the breaking
// point 0: the target held up to the highest load tried. why holds what
// broke at each broken load (with the numbers); the breaking point's is
// the outcome's Why.
//
// When no step held, the warning depends on the unit: a load that can go
// lower (a rate) is advised to start lower, but a break at the smallest
// configuration a unit has — one user, one connection, the payload once —
// is the finding itself: the target cannot serve even that, and the
// warning says so with why.
func StressOutcome(curve []result.StressPoint, unit string, why map[float64]string) *result.Stress {
	s := &result.Stress{Unit: unit, Limit: LimitNone, RecoveryS: -1, Curve: curve}
	bad := -1
	for i, pt := range curve {
		if !pt.OK && (bad < 0 || pt.Load < curve[bad].Load) {
			bad = i
		}
	}
	for _, pt := range curve {
		if pt.OK && (bad < 0 || pt.Load < curve[bad].Load) {
			s.LastGood = max(s.LastGood, pt.Load)
		}
		if pt.OK {
			s.MaxThroughputRPS = max(s.MaxThroughputRPS, pt.RPS)
		}
	}
	if bad >= 0 {
		s.BreakingPoint = curve[bad].Load
		s.Limit = curve[bad].Limit
		if s.LastGood > 0 && s.BreakingPoint > s.LastGood {
			s.Precision = round4((s.BreakingPoint - s.LastGood) / s.BreakingPoint)
		}
	}
	s.Why = why[s.BreakingPoint]
	if len(curve) > 0 && s.MaxThroughputRPS == 0 {
		s.Warnings = append(s.Warnings, floorWarning(s, curve))
	}
	sorted := slices.Clone(curve)
	slices.SortStableFunc(sorted, func(a, b result.StressPoint) int { return cmp.Compare(a.Load, b.Load) })
	xs, ys := make([]float64, len(sorted)), make([]float64, len(sorted))
	for i, pt := range sorted {
		xs[i], ys[i] = pt.Load, pt.RPS
	}
	if k, ok := stats.Knee(xs, ys); ok {
		s.Knee = xs[k]
	}
	return s
}

// LittleCheck tests a step's numbers against Little's law, N = X·R: the
// requests in flight on average (throughput × the mean time from a
// request's send to its answer, the service time) cannot exceed the VUs
// that sent them, each of which has at most one request in flight. A
// violation beyond 10% (and one request) means the measurement is
// inconsistent — a service time counted from before the send, or windows
// that do not cover the requests they count. (The latency of the open
// model is counted from the intended start, and an arrival that waited
// for a free VU was not in flight while it waited: it is no test.)
func LittleCheck(rps, meanServiceMS float64, vus int) error {
	inFlight := rps * meanServiceMS / 1000
	if vus > 0 && inFlight > 1.1*float64(vus)+1 {
		return fmt.Errorf("Little's law: %.1f requests/s × %.1f ms mean service time = %.1f in flight, more than the %d VUs that sent them", rps, meanServiceMS, inFlight, vus)
	}
	return nil
}

// SystemAt describes what the watch saw of the system under test between
// from and to (seconds on the run's clock): the process's CPU, the host's
// CPU and memory, GC share, threads, descriptors and goroutines, and flags
// what is at a limit — CPU ≥ 95% (of a core for the process, of all cores
// for the host), memory > 85% of the host, GC > 10% of the time. It says
// "" when no point falls in the range.
func SystemAt(sys *result.System, from, to float64) string {
	if sys == nil {
		return ""
	}
	var pts []result.SystemPoint
	for _, p := range sys.Timeline {
		if p.TS >= from && p.TS < to {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		return ""
	}
	avg := func(f func(p result.SystemPoint) float64) (mean, peak float64) {
		for _, p := range pts {
			v := f(p)
			mean += v
			peak = max(peak, v)
		}
		return mean / float64(len(pts)), peak
	}
	var parts, flags []string
	if m, pk := avg(func(p result.SystemPoint) float64 { return p.CPUPercent }); pk > 0 {
		parts = append(parts, fmt.Sprintf("process CPU %.0f%% (max %.0f%%)", m, pk))
		if m >= 95 {
			flags = append(flags, "the process kept at least a core busy")
		}
	}
	if m, _ := avg(func(p result.SystemPoint) float64 { return p.HostCPU }); m > 0 {
		parts = append(parts, fmt.Sprintf("host CPU %.0f%%", m))
		if m >= 95 {
			flags = append(flags, "host CPU saturated")
		}
	}
	if m, _ := avg(func(p result.SystemPoint) float64 { return p.HostMemPct }); m > 0 {
		parts = append(parts, fmt.Sprintf("host memory %.0f%%", m))
		if m > 85 {
			flags = append(flags, "memory pressure")
		}
	}
	if _, pk := avg(func(p result.SystemPoint) float64 { return p.RSSMB }); pk > 0 {
		parts = append(parts, fmt.Sprintf("RSS up to %.0f MB", pk))
	}
	if m, _ := avg(func(p result.SystemPoint) float64 { return p.GCPausePct }); m > 0 {
		parts = append(parts, fmt.Sprintf("GC %.1f%% of the time", m))
		if m > 10 {
			flags = append(flags, "GC pressure")
		}
	}
	if _, pk := avg(func(p result.SystemPoint) float64 { return float64(p.FDs) }); pk > 0 {
		parts = append(parts, fmt.Sprintf("up to %.0f open descriptors", pk))
	}
	if _, pk := avg(func(p result.SystemPoint) float64 { return p.Goroutines }); pk > 0 {
		parts = append(parts, fmt.Sprintf("up to %.0f goroutines", pk))
	}
	if len(parts) == 0 {
		return ""
	}
	out := strings.Join(parts, ", ")
	if len(flags) > 0 {
		out += " — " + strings.Join(flags, ", ")
	}
	return out
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// ClosedGain is how much more throughput doubling the users must bring
// for the closed-model capacity search to go on: less, and throughput has
// reached its plateau.
const ClosedGain = 0.05

// ClosedPlateau says whether the closed-model search can stop after its
// last point: the generator or the errors gave out, or the last doubling
// of the users raised throughput by less than ClosedGain over the best
// before it.
func ClosedPlateau(pts []result.ClosedPoint, errorRate float64) bool {
	if len(pts) == 0 {
		return false
	}
	last := pts[len(pts)-1]
	if last.Saturated || errorRate >= 0 && last.ErrorRate > errorRate {
		return true
	}
	best := 0.0
	for _, p := range pts[:len(pts)-1] {
		best = max(best, p.RPS)
	}
	return len(pts) > 1 && last.RPS < (1+ClosedGain)*best
}

// ClosedOutcome is the closed-model capacity of a search: the best
// throughput of a point the generator kept up with (and without errors
// beyond errorRate), the fewest users that came within ClosedGain of it,
// and its ratio to the open model's maximum sustained throughput openRPS.
func ClosedOutcome(pts []result.ClosedPoint, errorRate, openRPS float64) *result.ClosedCapacity {
	c := &result.ClosedCapacity{Curve: pts}
	ok := func(p result.ClosedPoint) bool { return !p.Saturated && (errorRate < 0 || p.ErrorRate <= errorRate) }
	for _, p := range pts {
		if ok(p) {
			c.MaxThroughputRPS = max(c.MaxThroughputRPS, p.RPS)
		}
	}
	for _, p := range pts {
		if ok(p) && p.RPS >= (1-ClosedGain)*c.MaxThroughputRPS {
			c.Users = p.Users
			break
		}
	}
	if openRPS > 0 {
		c.Ratio = round4(c.MaxThroughputRPS / openRPS)
	}
	return c
}

// Discrete stress units whose smallest configuration is 1: nothing lower
// can be tried.
var stressFloorUnits = map[string]string{
	"connections": "a pool of 1 connection",
	"users":       "1 user",
	"× payload":   "the payload once",
}

// floorWarning says why no step of curve held: at the smallest
// configuration of a discrete unit the target breaks at its floor (and
// why); otherwise the search began too high.
func floorWarning(s *result.Stress, curve []result.StressPoint) string {
	lowest := curve[0].Load
	for _, pt := range curve {
		lowest = min(lowest, pt.Load)
	}
	what, discrete := stressFloorUnits[s.Unit]
	if !discrete || lowest > 1 {
		return "no step held its limits: the target broke at the first load tried; start lower (tests.stress.start)"
	}
	subject := "the target"
	if s.Unit == "connections" {
		subject = "the database"
	}
	why := s.Why
	if why == "" {
		why = s.Limit
	}
	return fmt.Sprintf("%s breaks at its smallest configuration, %s (%s: %s): nothing smaller can be tried, so this load is beyond what even the least of it serves — make each request cheaper or lower the load the phase holds",
		subject, what, s.Limit, why)
}
