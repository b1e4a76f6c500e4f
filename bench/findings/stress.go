package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-perf/stampede/internal/zoo"
	"github.com/stampede-perf/stampede/result"
)

// StressOutcome compares the stress phase's capacity with a closed-loop
// reference measured on the same service in the same run: the most
// requests/s any of referenceUsers closed-loop users reach (the way wrk
// measures a capacity), against the stress search's max_throughput_rps.
type StressOutcome struct {
	Service      string          `json:"service"`
	Reference    float64         `json:"reference_rps"`
	ReferenceAt  int             `json:"reference_users"`
	References   map[int]float64 `json:"references"`
	Stress       float64         `json:"stress_max_throughput_rps"`
	BreakingRPS  float64         `json:"stress_breaking_point_rps,omitempty"`
	Limit        string          `json:"stress_limit,omitempty"`
	Ratio        float64         `json:"ratio"`
	Within       bool            `json:"within_5pct"`
	GeneratorSat bool            `json:"generator_saturated,omitempty"`
	Err          string          `json:"error,omitempty"`
}

var maxVUsLine = regexp.MustCompile(`(?m)^\s*max_vus:.*\n`)

// referenceUsers are the closed-loop concurrencies of the reference.
var referenceUsers = []int{16, 32, 64}

// runStress starts service s once, measures the closed-loop reference
// (each concurrency held for hold), then runs the quick protocol's stress
// phase on the service's plan.
func runStress(ctx context.Context, c *config, s zoo.Service, stderr io.Writer) StressOutcome {
	o := StressOutcome{Service: s.Name, References: map[int]float64{}}
	dir := filepath.Join(c.dir, "stress-"+s.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		o.Err = err.Error()
		return o
	}
	svc, err := zoo.Start(ctx, s.Name, exec.Command(c.zooBin, "--service", s.Name, "--addr", "127.0.0.1:0"))
	if err != nil {
		o.Err = err.Error()
		return o
	}
	defer svc.Stop()
	doc, err := s.Plan(zoo.PlanParams{URL: svc.URL, PID: svc.PID, Hold: c.hold})
	if err != nil {
		o.Err = err.Error()
		return o
	}
	planPath := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(planPath, doc, 0o644); err != nil {
		o.Err = err.Error()
		return o
	}
	// The reference runs the plan's scenarios with a closed model: its
	// open model's max_vus does not apply there.
	closedPath := filepath.Join(dir, "closed.yaml")
	if err := os.WriteFile(closedPath, maxVUsLine.ReplaceAll(doc, nil), 0o644); err != nil {
		o.Err = err.Error()
		return o
	}
	for _, users := range referenceUsers {
		out := filepath.Join(dir, fmt.Sprintf("closed-%d.json", users))
		run, err := stampedeRun(ctx, c, dir, c.hold+60*time.Second, "run", closedPath, "--vus", strconv.Itoa(users), "--duration", c.hold.String(),
			"--ramp-up", "0s", "--out", "json="+out, "--no-store", "--no-default-slo", "-q")
		if err != nil {
			o.Err = fmt.Sprintf("closed loop at %d users: %v", users, err)
			return o
		}
		o.References[users] = run.Summary.RPS
		if run.Summary.RPS > o.Reference {
			o.Reference, o.ReferenceAt = run.Summary.RPS, users
		}
		fmt.Fprintf(stderr, "stress reference: %d users, %.0f requests/s\n", users, run.Summary.RPS)
	}
	out := filepath.Join(dir, "stress.json")
	run, err := stampedeRun(ctx, c, dir, 15*time.Minute, "test", planPath, "--only", "stress", "--profile", "quick", "--out", "json="+out, "--no-store", "-q")
	if err != nil {
		o.Err = fmt.Sprintf("stress: %v", err)
		return o
	}
	if run.Stress == nil {
		o.Err = "the stress phase left no result"
		return o
	}
	o.Stress, o.BreakingRPS, o.Limit = run.Stress.MaxThroughputRPS, run.Stress.BreakingPointRPS, run.Stress.Limit
	o.GeneratorSat = run.Generator.Saturated
	if o.Reference > 0 {
		o.Ratio = o.Stress / o.Reference
		o.Within = o.Ratio >= 0.95 && o.Ratio <= 1.05
	}
	return o
}

// stampedeRun runs the CLI with args in dir, bounded by limit, and reads
// the Run it wrote (the argument after "json="). Exit 1 (a failed gate,
// an inconclusive verdict) still leaves a valid Run.
func stampedeRun(ctx context.Context, c *config, dir string, limit time.Duration, args ...string) (*result.Run, error) {
	rctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(rctx, c.stampede, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		return nil, fmt.Errorf("%v: %s", err, lastLines(logs.String(), 5))
	}
	var out string
	for _, a := range args {
		if p, ok := strings.CutPrefix(a, "json="); ok {
			out = p
		}
	}
	return result.ReadFile(out)
}

// printStress writes the stress comparison.
func printStress(w io.Writer, o StressOutcome) {
	fmt.Fprintf(w, "\nStress capacity against a closed-loop reference (%s)\n", o.Service)
	if o.Err != "" {
		fmt.Fprintf(w, "  ERROR %s\n", o.Err)
		return
	}
	var refs []string
	for _, u := range referenceUsers {
		refs = append(refs, fmt.Sprintf("%d users %.0f/s", u, o.References[u]))
	}
	fmt.Fprintf(w, "  reference (closed loop): %.0f requests/s at %d users (%s)\n", o.Reference, o.ReferenceAt, strings.Join(refs, ", "))
	verdict := "within ±5%"
	if !o.Within {
		verdict = "OUTSIDE ±5%"
	}
	fmt.Fprintf(w, "  stress max_throughput_rps: %.0f requests/s (breaking point %.0f/s, limit %s): %.2f × the reference, %s", o.Stress, o.BreakingRPS, o.Limit, o.Ratio, verdict)
	if o.GeneratorSat {
		fmt.Fprint(w, " (generator saturated)")
	}
	fmt.Fprintln(w)
}
