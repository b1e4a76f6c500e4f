package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stampede-perf/stampede/dist"
	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

// maxWait bounds --wait: longer than an hour is a mistake, not a plan.
const maxWait = time.Hour

// agentFlags are the flags of `stampede agent`.
type agentFlags struct {
	coordinator string
	token       string
	tlsCA       string
	useTLS      bool
	index       int
	outDir      string
	wait        time.Duration
}

func newAgentCmd(e *env) *cobra.Command {
	var f agentFlags
	c := &cobra.Command{
		Use:   "agent --coordinator HOST:PORT",
		Short: "Run one part of a test that a coordinator (run --agents N) spreads over several machines",
		Long: `Join a coordinator (stampede run PLAN --agents N --listen :7000) and run
the part of its test it gives this agent: the plan, its data files and a
segment k/N come from the coordinator; every agent starts on the same
instant; the windows go back to the coordinator as they close.

The agent writes its own Run (partial if the test was stopped or the
coordinator went away) to --out-dir as stampede-agent-K-of-N.json, so
the parts can also be merged by hand with stampede merge.

  stampede agent --coordinator 10.0.0.5:7000 --token "$TOKEN"

The token (--token or STAMPEDE_TOKEN) must be the coordinator's. The part
is the one the coordinator picks, or --index K (0-based; default: the
JOB_COMPLETION_INDEX of a Kubernetes Indexed Job).

Exit codes: 0 the part ran to its end, 1 it was stopped or lost its
coordinator (its partial Run is written), 2 it could not take part.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runAgent(c.Context(), e, &f, c.Flags())
		},
	}
	fs := c.Flags()
	fs.StringVar(&f.coordinator, "coordinator", "", "the coordinator's `HOST:PORT`")
	fs.StringVar(&f.token, "token", "", "shared secret the coordinator checks (default $STAMPEDE_TOKEN)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "dial the coordinator over TLS, trusting this CA `FILE`")
	fs.BoolVar(&f.useTLS, "tls", false, "dial the coordinator over TLS, trusting the system's CAs")
	fs.IntVar(&f.index, "index", -1, "the part to run, 0-based (default: $JOB_COMPLETION_INDEX, else any)")
	fs.StringVar(&f.outDir, "out-dir", ".", "where to write this agent's own Run")
	fs.DurationVar(&f.wait, "wait", time.Minute, "how long to keep trying to reach the coordinator")
	return c
}

func runAgent(ctx context.Context, e *env, f *agentFlags, fs *pflag.FlagSet) error {
	if f.coordinator == "" {
		return invalidf("agent: --coordinator HOST:PORT is required")
	}
	if f.wait <= 0 || f.wait > maxWait {
		return invalidf("--wait %v: want more than 0 and at most %v", f.wait, maxWait)
	}
	index := f.index
	if !fs.Changed("index") {
		if s := e.getenv("JOB_COMPLETION_INDEX"); s != "" {
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= dist.MaxAgents {
				return invalidf("JOB_COMPLETION_INDEX=%q: want a number from 0 to %d", s, dist.MaxAgents-1)
			}
			index = i
		}
	} else if index < 0 || index >= dist.MaxAgents {
		return invalidf("--index %d: want 0 to %d", index, dist.MaxAgents-1)
	}
	if fi, err := os.Stat(f.outDir); err != nil || !fi.IsDir() {
		return invalidf("--out-dir %s: not a directory", f.outDir)
	}
	token := f.token
	if token == "" {
		token = e.getenv("STAMPEDE_TOKEN")
	}
	cfg := dist.AgentConfig{Coordinator: f.coordinator, Token: token, Index: index, Version: version,
		Wait: f.wait, Now: e.now,
		Logf: func(format string, a ...any) { fmt.Fprintf(e.stderr, "stampede agent: "+format+"\n", a...) }}
	cfg.Host, _ = os.Hostname()
	if f.tlsCA != "" || f.useTLS {
		var err error
		if cfg.TLS, err = dist.ClientTLS(f.tlsCA); err != nil {
			return invalid(err)
		}
	}
	var work string
	defer func() {
		if work != "" {
			os.RemoveAll(work)
		}
	}()
	cfg.Prepare = func(job *dist.Job) (dist.Runner, error) {
		var err error
		if work, err = os.MkdirTemp("", "stampede-agent-"); err != nil {
			return nil, fmt.Errorf("cannot make a directory for the plan's files: %v", err)
		}
		return prepareJob(e, job, work)
	}
	res, err := dist.RunAgent(ctx, cfg)
	if res == nil || res.Run == nil {
		if err == nil {
			err = errors.New("the load never started")
		}
		return invalid(err)
	}
	seg, _ := load.ParseSegment(res.Job.Segment)
	path := filepath.Join(f.outDir, fmt.Sprintf("stampede-agent-%d-of-%d.json", seg.K+1, seg.N))
	if werr := writeOutput(e, path, func(w io.Writer) error { return result.Encode(w, res.Run) }); werr != nil {
		return invalidf("cannot write this agent's Run: %v", werr)
	}
	fmt.Fprintf(e.stderr, "stampede agent: part %s: %d requests; its own Run is in %s\n", res.Job.Segment, res.Run.Summary.Requests, path)
	switch {
	case err != nil:
		return failed(err.Error())
	case res.Stopped != "":
		return failed("stopped by the coordinator: " + res.Stopped)
	}
	return nil
}

// prepareJob lays the shipped plan and files out in work, loads the plan
// with the coordinator's load flags, and returns the runner of its
// segment. Thresholds marked abort are the coordinator's to judge, on
// the merged windows: an agent does not stop on its own share.
func prepareJob(e *env, job *dist.Job, work string) (dist.Runner, error) {
	seg, err := load.ParseSegment(job.Segment)
	if err != nil {
		return nil, err
	}
	var args []string
	if len(job.PlanYAML) > 0 {
		planPath, err := layOut(work, job)
		if err != nil {
			return nil, err
		}
		args = []string{planPath}
	}
	var lf loadFlags
	fs := pflag.NewFlagSet("job", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	lf.register(fs)
	if err := fs.Parse(job.Args); err != nil {
		return nil, fmt.Errorf("the coordinator's load flags: %v", err)
	}
	p, err := lf.plan(e, args, fs)
	if err != nil {
		var xe *exitError
		if errors.As(err, &xe) && xe.err != nil {
			err = xe.err
		}
		return nil, err
	}
	for _, th := range p.Thresholds {
		th.Abort = false
	}
	return func(ctx context.Context, start time.Time, onWindow func(result.Window)) (*result.Run, error) {
		run, err := suite.RunLoad(ctx, p, suite.LoadOptions{Segment: seg, Getenv: e.getenv, Start: start,
			DefaultSLO: job.DefaultSLO,
			OnWindow:   func(w result.Window, _ *result.Run) { onWindow(w) }})
		if run != nil && job.PlanHash != "" {
			run.PlanHash = job.PlanHash
		}
		return run, err
	}, nil
}

// layOut writes the plan and its files under work, keeping their paths
// relative to the plan (a path that climbs with .. gets the plan placed
// deep enough below work), and returns the plan's path.
func layOut(work string, job *dist.Job) (string, error) {
	depth := 0
	for _, f := range job.Files {
		p := filepath.Clean(filepath.FromSlash(f.Path))
		if filepath.IsAbs(p) {
			return "", fmt.Errorf("shipped file %s: not relative to the plan", f.Path)
		}
		n := 0
		for _, part := range strings.Split(p, string(filepath.Separator)) {
			if part != ".." {
				break
			}
			n++
		}
		depth = max(depth, n)
	}
	if depth > 64 {
		return "", fmt.Errorf("shipped files climb %d directories above the plan: at most 64", depth)
	}
	dir := work
	for i := range depth {
		dir = filepath.Join(dir, fmt.Sprintf("up%d", i))
	}
	for _, f := range job.Files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if rel, err := filepath.Rel(work, path); err != nil || strings.HasPrefix(rel, "..") {
			return "", fmt.Errorf("shipped file %s: outside the work directory", f.Path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", fmt.Errorf("cannot write the shipped file %s: %v", f.Path, err)
		}
		if err := os.WriteFile(path, f.Data, 0o600); err != nil {
			return "", fmt.Errorf("cannot write the shipped file %s: %v", f.Path, err)
		}
	}
	name := filepath.Base(job.PlanName)
	if name == "." || name == "/" || name == "" {
		name = "plan.yaml"
	}
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, job.PlanYAML, 0o600)
}
