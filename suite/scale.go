package suite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/bench"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// The scalability phase measures the same load shape on several
// configurations of the system under test. For each configuration, in
// the order given, it runs the apply command with the configuration's
// values put into its {{ key }} placeholders (kubectl scale …
// --replicas={{ instances }}, or a script starting N local processes),
// waits tests.scalability.stabilize, and runs users_per_unit × N users
// (or rate_per_unit × N iterations/s) for the phase's duration. The
// first fifth of each run is not counted (connections opening, caches
// filling on the new instances); the rest gives the configuration's
// throughput, p99 and error rate. The revert command, when set, runs at
// the end, also after a failure or an interrupt. analyze.Scalability
// turns the throughputs into efficiency, linearity, the USL fit and the
// drops.

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}`)

// expand puts a configuration's values into a command template, each
// quoted for the shell where it lands (as bench.Substitute does: a value
// is always literal text, never shell syntax); a placeholder the
// configuration does not set is an error.
func expand(tmpl string, cfg map[string]string) (string, error) {
	var missing []string
	values := map[string]string{}
	// Each placeholder becomes {NUL key}, a name no command holds, for
	// bench.Substitute to fill in.
	marked := placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		key := placeholder.FindStringSubmatch(m)[1]
		v, ok := cfg[key]
		if !ok {
			missing = append(missing, key)
			return m
		}
		values["\x00"+key] = v
		return "{\x00" + key + "}"
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%q uses {{ %s }}, which the configuration %s does not set", tmpl, strings.Join(missing, " }}, {{ "), configName(cfg))
	}
	return bench.Substitute(marked, values), nil
}

// checkApply finds placeholder problems before anything runs.
func checkApply(s *plan.ScalabilitySpec) error {
	var errs []error
	for _, cfg := range s.Configs {
		if _, err := expand(s.Apply, cfg); err != nil {
			errs = append(errs, fmt.Errorf("tests.scalability.apply: %w", err))
		}
	}
	if s.Revert != "" {
		if _, err := expand(s.Revert, map[string]string{}); err != nil {
			errs = append(errs, errors.New("tests.scalability.revert: runs once at the end and cannot use a configuration's {{ }} values"))
		}
	}
	return errors.Join(errs...)
}

func configName(cfg map[string]string) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + cfg[k]
	}
	return strings.Join(parts, " ")
}

// exec runs one command line of the phase.
func (pr *protocol) exec(ctx context.Context, line string) error {
	if pr.o.Exec != nil {
		return pr.o.Exec(ctx, line)
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	if pr.o.Log != io.Discard {
		cmd.Stdout, cmd.Stderr = pr.o.Log, pr.o.Log
	}
	// A command that starts a server in the background leaves it holding
	// the output pipe: do not wait for that to close.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", line, err)
	}
	return nil
}

func (pr *protocol) runScalability(ctx context.Context) (err error) {
	s := pr.tests.Scalability
	unit := plan.ScaleUnit(s)
	var loads []*result.Run
	var configs []result.ScaleConfig
	var notes []string
	failed := false
	var fl *fleet
	if s.Instances != nil {
		if fl, err = newFleet(s.Instances, pr.p.Target.BaseURL, pr.o.Log); err != nil {
			pr.recordScale(nil, nil, []string{err.Error()}, true, unit)
			return nil
		}
	}
	defer func() {
		if fl != nil {
			fl.close()
		}
		if s.Revert != "" {
			// Put the system back even after a failure or an interrupt.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			if rerr := pr.exec(rctx, s.Revert); rerr != nil {
				notes = append(notes, "revert failed: "+rerr.Error())
				failed = true
			}
			cancel()
		}
		pr.recordScale(loads, configs, notes, failed, unit)
	}()
	dur := s.Duration.D()
	skip := math.Floor(dur.Seconds() / 5)
	for _, cfg := range s.Configs {
		n, _ := strconv.ParseFloat(strings.TrimSpace(cfg[unit]), 64)
		name := unit + "=" + cfg[unit]
		apply := func() error { return fl.scaleTo(ctx, int(n)) }
		if fl == nil {
			line, err := expand(s.Apply, cfg)
			if err != nil {
				notes, failed = append(notes, err.Error()), true
				return nil
			}
			apply = func() error { return pr.exec(ctx, line) }
		}
		pr.report(Progress{Detail: "applying " + name})
		if err := apply(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			notes, failed = append(notes, fmt.Sprintf("%s: apply failed: %v", name, err)), true
			return nil
		}
		if d := s.Stabilize.D(); d > 0 {
			pr.report(Progress{Detail: "stabilizing " + name})
			if err := pr.o.Sleep(ctx, d); err != nil {
				return err
			}
		}
		l := plan.LoadSpec{Model: "closed", VUs: max(1, int(math.Round(n*float64(s.UsersPerUnit)))), Duration: plan.Duration(dur)}
		if s.RatePerUnit > 0 {
			l = plan.LoadSpec{Model: "open", Rate: n * s.RatePerUnit, Duration: plan.Duration(dur)}
		}
		run, err := pr.load(ctx, l, name, nil, nil, nil)
		if run == nil {
			return err
		}
		loads = append(loads, run)
		held, herr := analyze.Held(run.Series, skip, dur.Seconds())
		if herr != nil {
			held = run.Summary
		}
		configs = append(configs, result.ScaleConfig{Name: name, N: n, Params: cfg, RPS: held.RPS, P99: held.Latency.P99, ErrorRate: held.ErrorRate})
		if err != nil {
			return err
		}
		if run.Generator.Saturated {
			notes = append(notes, name+": generator saturated — this configuration's throughput measures stampede")
		}
	}
	return nil
}

// recordScale records the phase and starts its analysis.
func (pr *protocol) recordScale(loads []*result.Run, configs []result.ScaleConfig, notes []string, failed bool, unit string) {
	if len(loads) == 0 && len(notes) == 0 {
		return
	}
	want := len(pr.tests.Scalability.Configs)
	ph := result.Phase{Name: "scalability", Kind: "scalability", Note: strings.Join(notes, "; ")}
	pr.record(ph, loads, func(rec *phaseRec) {
		sc := analyze.Scalability(configs)
		sc.Unit = unit
		rec.ph.Pass = !failed && len(configs) == want
		if len(configs) < want {
			rec.ph.Note = joinNote(rec.ph.Note, fmt.Sprintf("%d of %d configurations measured", len(configs), want))
		}
		if note := linearityNote(sc); note != "" {
			rec.ph.Note = joinNote(rec.ph.Note, note)
		}
		if sc.USL != nil {
			peak := "no peak (κ = 0)"
			if !sc.USL.Unbounded {
				peak = fmt.Sprintf("peak at N* ≈ %.1f", sc.USL.PeakConcurrency)
			}
			rec.ph.Note = joinNote(rec.ph.Note, fmt.Sprintf("USL σ %.3f κ %.4f, %s", sc.USL.Sigma, sc.USL.Kappa, peak))
		}
		pr.mu.Lock()
		pr.scale = sc
		pr.mu.Unlock()
	})
}

// linearityNote says how linear throughput was in N (the Pearson r² and
// its verdict), or "" when the phase measured too few configurations.
func linearityNote(sc *result.Scalability) string {
	if len(sc.Configs) < 3 || sc.LinearityR == 0 {
		return ""
	}
	verdict := "not linear"
	if sc.Linear {
		verdict = "linear"
	}
	return fmt.Sprintf("linearity r² %.2f: %s", sc.LinearityR2, verdict)
}
