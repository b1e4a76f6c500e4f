package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/dist"
	"github.com/stampede-perf/stampede/internal/tail"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/proto"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

// distFlags are run's flags for a test spread over agents.
type distFlags struct {
	agents    int
	listen    string
	local     bool
	token     string
	tlsCert   string
	tlsKey    string
	wait      time.Duration
	agentsDir string
}

func (f *distFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&f.agents, "agents", 0, "spread the test over `N` agents (stampede agent) and merge them live")
	fs.StringVar(&f.listen, "listen", "", "with --agents: the `ADDR` agents dial (default :7000; 127.0.0.1:0 with --local)")
	fs.BoolVar(&f.local, "local", false, "with --agents: start the N agents on this machine")
	fs.StringVar(&f.token, "token", "", "with --agents: shared secret the agents must present (default $STAMPEDE_TOKEN)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "with --agents: serve the agents over TLS with this certificate `FILE`")
	fs.StringVar(&f.tlsKey, "tls-key", "", "with --agents: … and this key `FILE`")
	fs.DurationVar(&f.wait, "wait", time.Minute, "with --agents: how long to wait for the agents to join")
	fs.StringVar(&f.agentsDir, "agents-dir", "", "with --local: where the agents write their own Runs (default: a temporary directory)")
}

// check refuses distributed flags without --agents, and bounds them.
func (f *distFlags) check(fs *pflag.FlagSet) error {
	if f.agents == 0 {
		for _, n := range []string{"listen", "local", "token", "tls-cert", "tls-key", "wait", "agents-dir"} {
			if fs.Changed(n) {
				return fmt.Errorf("--%s needs --agents N", n)
			}
		}
		return nil
	}
	if f.agents < 1 || f.agents > dist.MaxAgents {
		return fmt.Errorf("--agents %d: want 1 to %d", f.agents, dist.MaxAgents)
	}
	if f.wait <= 0 || f.wait > maxWait {
		return fmt.Errorf("--wait %v: want more than 0 and at most %v", f.wait, maxWait)
	}
	if f.agentsDir != "" && !f.local {
		return errors.New("--agents-dir needs --local")
	}
	return nil
}

// loadFlagArgs are the load flags given on the command line, which a
// job carries to its agents.
func loadFlagArgs(fs *pflag.FlagSet) []string {
	var lf loadFlags
	own := pflag.NewFlagSet("load", pflag.ContinueOnError)
	lf.register(own)
	var args []string
	fs.Visit(func(fl *pflag.Flag) {
		if own.Lookup(fl.Name) == nil {
			return
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				args = append(args, "--"+fl.Name+"="+v)
			}
			return
		}
		args = append(args, "--"+fl.Name+"="+fl.Value.String())
	})
	return args
}

// buildJob is what every agent is sent: the plan file's bytes, the files
// it names by relative paths, and the load flags given with it.
func buildJob(planFile string, fs *pflag.FlagSet, defaultSLO bool) (dist.Job, error) {
	job := dist.Job{Args: loadFlagArgs(fs), DefaultSLO: defaultSLO}
	if planFile == "" {
		return job, nil
	}
	data, err := os.ReadFile(planFile)
	if err != nil {
		return job, fmt.Errorf("cannot read plan: %v", err)
	}
	job.PlanName, job.PlanYAML = filepath.Base(planFile), data
	raw, err := plan.Parse("", data) // paths as written, not yet resolved
	if err != nil {
		return job, err
	}
	dir := filepath.Dir(planFile)
	seen := map[string]bool{}
	size := len(data)
	for _, rel := range planFiles(raw) {
		if rel == "" || filepath.IsAbs(rel) || strings.Contains(rel, "${") || seen[rel] {
			continue // absolute paths are read on each agent's own machine
		}
		seen[rel] = true
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return job, fmt.Errorf("%s: cannot read %s to send it to the agents: %v", planFile, rel, err)
		}
		if size += len(b); size > dist.MaxShipped {
			return job, fmt.Errorf("%s: the plan and its files pass %d MiB, the most that is sent to agents (give large files by absolute paths present on every agent)", planFile, dist.MaxShipped>>20)
		}
		job.Files = append(job.Files, dist.File{Path: filepath.ToSlash(rel), Data: b})
	}
	return job, nil
}

// planFiles lists every file a plan names: data, TLS files, bodies and
// multipart files.
func planFiles(p *plan.Plan) []string {
	var out []string
	for _, name := range slices.Sorted(mapsKeys(p.Data)) {
		if fd := p.Data[name]; fd != nil {
			out = append(out, fd.File)
		}
	}
	if t := p.Target.TLS; t != nil {
		out = append(out, t.CAFile, t.CertFile, t.KeyFile)
	}
	for _, s := range p.Scenarios {
		if s == nil {
			continue
		}
		for _, st := range s.Steps {
			if st == nil {
				continue
			}
			out = append(out, st.BodyFile)
			if st.Multipart != nil {
				for _, name := range slices.Sorted(mapsKeys(st.Multipart.Files)) {
					if fp := st.Multipart.Files[name]; fp != nil {
						out = append(out, fp.Path)
					}
				}
			}
		}
	}
	return out
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// runDistributed is `run PLAN --agents N`: the coordinator side.
func runDistributed(ctx context.Context, e *env, p *plan.Plan, planFile string, fs *pflag.FlagSet, df *distFlags, outs outputs, quiet bool, rf *recordFlags, defaultSLO bool) error {
	job, err := buildJob(planFile, fs, defaultSLO)
	if err != nil {
		return invalid(err)
	}
	job.PlanHash = suite.Hash(p)
	tlsConf, err := dist.ServerTLS(df.tlsCert, df.tlsKey)
	if err != nil {
		return invalid(err)
	}
	token := df.token
	if token == "" {
		token = e.getenv("STAMPEDE_TOKEN")
	}
	if token == "" && df.local {
		var b [16]byte
		rand.Read(b[:])
		token = hex.EncodeToString(b[:])
	}
	listen := df.listen
	if listen == "" {
		listen = ":7000"
		if df.local {
			listen = "127.0.0.1:0"
		}
	}
	_, layout, err := proto.Compile(p, proto.Options{Getenv: e.getenv})
	if err != nil {
		return invalid(err)
	}
	slos, byDefault := suite.SLOs(p, defaultSLO)
	var aborts []*plan.Threshold
	for _, th := range slos {
		if th.Abort {
			aborts = append(aborts, th)
		}
	}
	hb := plan.DefaultHeartbeat.D()
	abortOnLoss := false
	if d := p.Distributed; d != nil {
		if d.Heartbeat > 0 {
			hb = d.Heartbeat.D()
		}
		abortOnLoss = d.OnAgentLoss == plan.OnLossAbort
	}
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		return invalidf("--listen %s: %v", listen, err)
	}
	var steps []result.StepResult
	var scens []result.ScenarioResult
	for _, sc := range layout.Scenarios {
		scens = append(scens, result.ScenarioResult{Name: sc.Name, Weight: sc.Weight})
		for _, st := range sc.Steps {
			steps = append(steps, result.StepResult{Scenario: sc.Name, Step: st.Name, Kind: st.Kind})
		}
	}
	liveRun := dist.NewLive(p.Name, result.Model(p.Load.Model), steps, scens)
	live, err := startLive(ctx, e, outs, metaOf(p, "load"), liveLabels(p))
	if err != nil {
		lis.Close()
		return err
	}
	rec, err := rf.start(ctx, e, p, "load")
	if err != nil {
		live.Close(nil)
		lis.Close()
		return err
	}
	prog := newProgress(e, p, quiet)
	logf := func(format string, a ...any) {
		prog.done()
		fmt.Fprintf(e.stderr, "stampede: "+format+"\n", a...)
	}
	coord, err := dist.NewCoordinator(lis, dist.Config{Agents: df.agents, Version: version, Token: token, TLS: tlsConf,
		Job: job, Heartbeat: hb, Wait: df.wait, AbortOnLoss: abortOnLoss, Logf: logf, Now: e.now,
		OnWindow: func(w result.Window) string {
			snap, _ := liveRun.Add(w)
			rec.window(w)
			live.Window(w, snap)
			prog.window(w, snap)
			for _, r := range analyze.Thresholds(snap, aborts) {
				if !r.Pass {
					return "threshold failed: " + analyze.Describe(r)
				}
			}
			return ""
		}})
	if err != nil {
		lis.Close()
		live.Close(nil)
		rec.abort(ctx, err)
		return invalid(err)
	}
	var kids *localAgents
	if df.local {
		if kids, err = startLocalAgents(e, df, lis.Addr().String(), token); err != nil {
			lis.Close()
			live.Close(nil)
			rec.abort(ctx, err)
			return invalid(err)
		}
	}
	out, runErr := coord.Run(ctx)
	prog.done()
	if kids != nil {
		kids.wait(e, hb+30*time.Second)
	}
	if runErr != nil {
		live.Close(nil)
		rec.abort(ctx, runErr)
		return invalid(runErr)
	}
	merged, err := mergeParts(p, out, steps, slos, byDefault)
	liveErr := live.Close(merged)
	if err != nil {
		rec.abort(ctx, err)
		return invalid(err)
	}
	regressed := rec.finish(ctx, merged)
	live.concluded(e, merged)
	var finErr error
	if ctx.Err() != nil {
		finErr = context.Canceled
	}
	return liveFinished(e, liveErr, finish(ctx, e, merged, outs, finErr, regressed))
}

// mergeParts is the one Run of a distributed test: metrics.Merge of the
// agents' own Runs (a lost agent counts with the windows it sent), the
// thresholds judged on it, and the per-agent breakdown.
func mergeParts(p *plan.Plan, out *dist.Outcome, steps []result.StepResult, slos []*plan.Threshold, byDefault bool) (*result.Run, error) {
	var runs []*result.Run
	var agents []result.Agent
	warnings := slices.Clone(out.Warnings)
	for _, pt := range out.Parts {
		r := pt.Run
		if r == nil {
			if len(pt.Windows) == 0 {
				agents = append(agents, result.Agent{Segment: pt.Segment, Host: pt.Host, Lost: pt.Lost, Reason: pt.Reason,
					ClockOffsetMS: ms(pt.Offset)})
				continue
			}
			var err error
			if r, err = partialRun(p, pt, steps); err != nil {
				return nil, err
			}
		}
		runs = append(runs, r)
		a := result.Agent{Segment: pt.Segment, Host: pt.Host, Requests: r.Summary.Requests, RPS: r.Summary.RPS,
			P99: r.Summary.Latency.P99, StartLagP99: r.Summary.StartLag.P99, CPUPercent: r.Generator.CPUPercent,
			Saturated: r.Generator.Saturated, ClockOffsetMS: ms(pt.Offset), Lost: pt.Lost, Reason: pt.Reason}
		if a.Saturated {
			warnings = append(warnings, fmt.Sprintf("agent %s (%s) was saturated: %s", pt.Segment, pt.Host, r.Generator.Reason))
		}
		agents = append(agents, a)
	}
	if len(runs) == 0 {
		return nil, errors.New("no agent sent any measurement")
	}
	m, err := metrics.Merge(runs)
	if err != nil {
		return nil, fmt.Errorf("merging the agents' runs: %v", err)
	}
	m.Segment = ""
	m.Analysis = p.Analysis
	m.Agents = agents
	if out.Aborted {
		m.Aborted, m.AbortReason = true, out.Reason
	}
	if byDefault {
		warnings = append(warnings, suite.DefaultSLONote)
	}
	m.Warnings = dedupe(append(m.Warnings, warnings...)) // each part says the same of the plan
	m.Thresholds = analyze.Thresholds(m, slos)
	m.Verdict = result.VerdictPass
	if len(analyze.Failed(m.Thresholds, false)) > 0 || m.Aborted {
		m.Verdict = result.VerdictFail
	}
	return m, nil
}

// partialRun is a lost agent's part rebuilt from the windows it sent
// (Summarize, the one fold of windows), so the merged Run counts them.
func partialRun(p *plan.Plan, pt dist.Part, steps []result.StepResult) (*result.Run, error) {
	sp, err := metrics.Summarize(pt.Windows)
	if err != nil && sp.HistErr != nil {
		return nil, fmt.Errorf("agent %s: %v", pt.Segment, err)
	}
	r := &result.Run{Version: result.Version, Kind: "load", Plan: p.Name, PlanHash: suite.Hash(p), Model: result.Model(p.Load.Model),
		Segment: pt.Segment, Aborted: true, AbortReason: "agent lost: " + pt.Reason, Summary: sp.Summary, Series: pt.Windows}
	for _, st := range sp.Steps {
		for len(r.Steps) <= st.Index && len(r.Steps) < len(steps) {
			r.Steps = append(r.Steps, steps[len(r.Steps)])
		}
		if st.Index < len(r.Steps) {
			s := &r.Steps[st.Index]
			s.Requests, s.Errors, s.Latency, s.Hist = st.Requests, st.Errors, st.Latency, st.Hist
		}
	}
	r.Errors = sp.Errors
	return r, nil
}

func dedupe(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// localAgents are agent processes of this binary on this machine.
type localAgents struct {
	cmds []*exec.Cmd
	logs []*tail.Buffer
	dir  string
	temp bool
}

// startLocalAgents starts n agents that dial addr.
func startLocalAgents(e *env, df *distFlags, addr, token string) (*localAgents, error) {
	exe, extraEnv, err := e.self()
	if err != nil {
		return nil, fmt.Errorf("--local: cannot find this program to start its agents: %v", err)
	}
	la := &localAgents{dir: df.agentsDir}
	if la.dir == "" {
		if la.dir, err = os.MkdirTemp("", "stampede-agents-"); err != nil {
			return nil, fmt.Errorf("--local: %v", err)
		}
		la.temp = true
	} else if err := os.MkdirAll(la.dir, 0o755); err != nil {
		return nil, fmt.Errorf("--agents-dir: %v", err)
	}
	for i := range df.agents {
		cmd := exec.Command(exe, "agent", "--coordinator", addr, "--index", fmt.Sprint(i), "--out-dir", la.dir, "--wait", "30s")
		cmd.Env = append(append(os.Environ(), extraEnv...), "STAMPEDE_TOKEN="+token)
		logs := &tail.Buffer{Max: 4096}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			la.kill()
			return nil, fmt.Errorf("--local: cannot start agent %d: %v", i+1, err)
		}
		la.cmds = append(la.cmds, cmd)
		la.logs = append(la.logs, logs)
	}
	return la, nil
}

// wait waits for the agents to exit (they stop by themselves once the
// coordinator is done), at most d, and tells of those that failed.
func (la *localAgents) wait(e *env, d time.Duration) {
	done := make(chan struct{})
	go func() {
		for i, c := range la.cmds {
			if err := c.Wait(); err != nil {
				var xe *exec.ExitError
				if errors.As(err, &xe) && xe.ExitCode() == ExitFailed {
					continue // stopped or lost: its Run was written
				}
				fmt.Fprintf(e.stderr, "stampede: local agent %d: %v\n%s", i+1, err, la.logs[i].String())
			}
		}
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		la.kill()
		<-done
	}
	if la.temp {
		os.RemoveAll(la.dir)
	}
}

func (la *localAgents) kill() {
	for _, c := range la.cmds {
		if c.Process != nil {
			c.Process.Kill()
		}
	}
}
