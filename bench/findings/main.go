// Command findings is the scoreboard of the analysis: it runs every
// service of the fault zoo (internal/zoo) several times with its standard
// plan through the real CLI, reads each Run document, and prints how often
// the findings named each planted fault (the right kind, the right own
// function, at medium or high severity), how often the healthy services
// drew a finding of medium or high severity, and how well the printed
// confidences match how often findings are right.
//
//	go run ./bench/findings                      # every service, 5 runs each
//	go run ./bench/findings -runs 2 -only cpu-own,healthy-plain -duration 15s
//	go run ./bench/findings -out scoreboard.json -dir runs/
//
// Every run is bounded: the plan's load (ramp-up, then -duration at its
// rate, against 127.0.0.1 only) and a hard timeout. Services run one at a
// time, each in its own process, the generator in another. See
// bench/findings/README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/stampede-perf/stampede/internal/zoo"
	"github.com/stampede-perf/stampede/result"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	runs     int
	only     []string
	hold     time.Duration
	out      string
	dir      string
	stampede string // prebuilt binaries (empty: build them)
	zooBin   string
	stress   string // a service to compare the stress capacity on ("" none)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("findings", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var only string
	fs.IntVar(&c.runs, "runs", 5, "runs of each service")
	fs.StringVar(&only, "only", "", "run only these services (comma-separated; see go run ./internal/zoo/cmd/zoo --list)")
	fs.DurationVar(&c.hold, "duration", 25*time.Second, "how long each run holds its load, after its ramp-up")
	fs.StringVar(&c.out, "out", "", "write the scoreboard (every outcome, the matrix, the calibration) to this JSON file")
	fs.StringVar(&c.dir, "dir", "", "keep each run's plan, Run JSON and profiles under this directory (default: a temporary one, removed)")
	fs.StringVar(&c.stampede, "stampede", "", "use this stampede binary instead of building ./cmd/stampede")
	fs.StringVar(&c.zooBin, "zoo", "", "use this zoo binary instead of building ./internal/zoo/cmd/zoo")
	fs.StringVar(&c.stress, "stress", "", "also compare the stress phase's capacity on this service with a closed-loop reference (e.g. healthy-cpu-bound)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if c.runs < 1 || c.hold < time.Second {
		fmt.Fprintln(stderr, "findings: -runs must be at least 1 and -duration at least 1s")
		return 2
	}
	services := zoo.Services()
	if only != "" {
		var picked []zoo.Service
		for _, name := range strings.Split(only, ",") {
			s, ok := zoo.Lookup(strings.TrimSpace(name))
			if !ok {
				fmt.Fprintf(stderr, "findings: no service %q (have %s)\n", name, strings.Join(zoo.Names(), ", "))
				return 2
			}
			picked = append(picked, s)
		}
		services = picked
	}
	began := time.Now()
	if c.dir == "" {
		d, err := os.MkdirTemp("", "stampede-findings-")
		if err != nil {
			fmt.Fprintln(stderr, "findings:", err)
			return 1
		}
		defer os.RemoveAll(d)
		c.dir = d
	}
	if err := build(ctx, &c, stderr); err != nil {
		fmt.Fprintln(stderr, "findings:", err)
		return 1
	}
	loadBefore := loadAverage()
	fmt.Fprintf(stderr, "%d services × %d runs, %s each after the ramp-up (load average %s)\n", len(services), c.runs, c.hold, loadBefore)
	var outs []Outcome
	for r := 1; r <= c.runs; r++ {
		// Round-robin: a slow period of the machine spreads over every
		// service instead of falling on one.
		for _, s := range services {
			if ctx.Err() != nil {
				break
			}
			t0 := time.Now()
			o := runOnce(ctx, &c, s, r)
			outs = append(outs, o)
			fmt.Fprintf(stderr, "%-18s run %d  %5.1fs  cov %4.2f  %s\n", s.Name, r, time.Since(t0).Seconds(), o.Coverage, oneLine(o))
		}
	}
	var stress *StressOutcome
	if c.stress != "" && ctx.Err() == nil {
		s, ok := zoo.Lookup(c.stress)
		if !ok {
			fmt.Fprintf(stderr, "findings: no service %q for -stress\n", c.stress)
			return 2
		}
		o := runStress(ctx, &c, s, stderr)
		stress = &o
	}
	rows := Matrix(services, outs)
	cal := Calibrate(outs)
	tot := Total(outs)
	fmt.Fprintln(stdout)
	Print(stdout, rows, cal, tot)
	if stress != nil {
		printStress(stdout, *stress)
	}
	loadAfter := loadAverage()
	fmt.Fprintf(stdout, "total time %s; load average %s before, %s after\n", time.Since(began).Round(time.Second), loadBefore, loadAfter)
	if c.out != "" {
		doc := map[string]any{"runs": c.runs, "hold_s": c.hold.Seconds(), "totals": tot, "matrix": rows, "calibration": cal, "outcomes": outs,
			"total_s": time.Since(began).Seconds(), "load_average_before": loadBefore, "load_average_after": loadAfter, "stress": stress}
		b, _ := json.MarshalIndent(doc, "", "  ")
		if err := os.WriteFile(c.out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, "findings:", err)
			return 1
		}
	}
	if ctx.Err() != nil {
		return 130
	}
	return 0
}

// build compiles the CLI and the zoo once, unless given.
func build(ctx context.Context, c *config, stderr io.Writer) error {
	bin := filepath.Join(c.dir, "bin")
	for _, b := range []struct {
		path *string
		pkg  string
		name string
	}{{&c.stampede, "./cmd/stampede", "stampede"}, {&c.zooBin, "./internal/zoo/cmd/zoo", "zoo"}} {
		if *b.path != "" {
			continue
		}
		out := filepath.Join(bin, b.name)
		fmt.Fprintf(stderr, "building %s\n", b.pkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, b.pkg)
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("cannot build %s (run from the repository's root): %w", b.pkg, err)
		}
		*b.path = out
	}
	return nil
}

// runOnce starts service s, runs its standard plan through the CLI and
// scores the findings.
func runOnce(ctx context.Context, c *config, s zoo.Service, r int) Outcome {
	fail := func(err error) Outcome {
		o := Score(s.Name, r, s.Truth, nil)
		o.Err = err.Error()
		return o
	}
	dir := filepath.Join(c.dir, fmt.Sprintf("%s-%d", s.Name, r))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	svc, err := zoo.Start(ctx, s.Name, exec.Command(c.zooBin, "--service", s.Name, "--addr", "127.0.0.1:0"))
	if err != nil {
		return fail(err)
	}
	defer svc.Stop()
	doc, err := s.Plan(zoo.PlanParams{URL: svc.URL, PID: svc.PID, Hold: c.hold})
	if err != nil {
		return fail(err)
	}
	planPath := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(planPath, doc, 0o644); err != nil {
		return fail(err)
	}
	// The ramp-ups and bursts of the plans take at most 40 s besides the
	// hold; the watch's stop, the analysis and the graceful stop a few
	// more.
	rctx, cancel := context.WithTimeout(ctx, c.hold+90*time.Second)
	defer cancel()
	runPath := filepath.Join(dir, "run.json")
	cmd := exec.CommandContext(rctx, c.stampede, "run", planPath, "--out", "json="+runPath, "--no-store", "-q")
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	err = cmd.Run()
	os.WriteFile(filepath.Join(dir, "stampede.log"), []byte(logs.String()), 0o644)
	if err != nil {
		// Exit 1 is a failed threshold or SLO: the run is still valid.
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			return fail(fmt.Errorf("stampede run: %v: %s", err, lastLines(logs.String(), 5)))
		}
	}
	if svc.Exited() {
		return fail(fmt.Errorf("the service exited during the run: %s", svc.Logs()))
	}
	doc2, err := result.ReadFile(runPath)
	if err != nil {
		return fail(err)
	}
	o := Score(s.Name, r, s.Truth, doc2.Findings)
	if doc2.System != nil {
		o.Coverage = doc2.System.CPUProfileCoverage
	}
	return o
}

func oneLine(o Outcome) string {
	switch {
	case o.Err != "":
		return "ERROR " + shorten(o.Err, 160)
	case o.Healthy && len(o.False) == 0:
		return "ok (no medium/high finding)"
	case o.Healthy:
		return fmt.Sprintf("%d false: %s", len(o.False), o.False[0])
	case o.Detected:
		return fmt.Sprintf("detected, ranked %d", o.Rank)
	case o.FunctionNamed:
		return "named, but below medium"
	case o.KindNamed:
		return "right kind, wrong function"
	}
	top := "no findings"
	if len(o.Findings) > 0 {
		top = "top: " + o.Findings[0].String()
	}
	return "missed; " + shorten(top, 140)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// loadAverage is the machine's 1, 5 and 15 minute load averages, or "?":
// other work on the machine shows in the scoreboard.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}
