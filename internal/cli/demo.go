package cli

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stampede-perf/stampede/demo"
	"github.com/stampede-perf/stampede/examples"
	"github.com/stampede-perf/stampede/internal/tail"
	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/plan"
)

func newDemoCmd(e *env) *cobra.Command {
	var faults string
	var duration time.Duration
	var vus int
	var outSpecs, reportSpecs []string
	var quiet bool
	var rf recordFlags
	var tf testFlags
	var dash, example string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Start the built-in shop on a free loopback port and run the test protocol against it",
		Long: `Start the demo shop (a real HTTP API on an embedded SQLite database) in a
child process on a free loopback port, run the quick test protocol (about
six minutes: baseline, load suite, stress, recovery, soak) with the
standard e-commerce plan (examples/shop.yaml) against it, watching the
shop, and print the summary.

  stampede demo                          the quick protocol
  stampede demo --only baseline,stress   some of its phases
  stampede demo --report html=demo.html  and a report
  stampede demo --dashboard              and watch it live at http://127.0.0.1:8088/
  stampede demo --duration 10s           one load of the example plan instead, this long
  stampede demo --fault leak,hotspot     with planted faults for the watch to find
  stampede demo --only scalability       1, 2 and 4 shops behind nginx (or haproxy)
  stampede demo --example websocket      one load of another example plan: websocket
                                         (live stock), grpc (the catalogue over gRPC),
                                         network (through a slow network), shop-loads
                                         (browsers and API side by side)
  stampede demo serve --addr 127.0.0.1:8080   only the shop, until interrupted`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fl, err := demo.ParseFaults(faults)
			if err != nil {
				return invalid(err)
			}
			outs, err := parseOutputs(outSpecs)
			if err != nil {
				return invalid(err)
			}
			if outs.reports, err = parseReports(reportSpecs); err != nil {
				return invalid(err)
			}
			outs.dashboard = dash
			ctx := c.Context()
			if !slices.Contains(demoExamples(), example) {
				return invalidf("--example %s: no such example plan (have %s)", example, strings.Join(demoExamples(), ", "))
			}
			if demoScaleOnly(tf.only) {
				if example != demoShopExample {
					return invalidf("--only scalability scales the shop with its own plan: --example does not apply")
				}
				return runDemoScale(c, e, fl, tf, outs, quiet, &rf)
			}
			shop, err := startShopProcess(ctx, e, fl)
			if err != nil {
				return fmt.Errorf("cannot start the demo shop: %w", err)
			}
			defer shop.stop()
			p, cleanup, err := demoPlan(example, shop)
			if err != nil {
				return err
			}
			defer cleanup()
			// Every example but the shop's own is one load, as
			// `stampede run` would run it, unless phases are asked for.
			single := c.Flags().Changed("duration") || c.Flags().Changed("vus") ||
				(example != demoShopExample && len(tf.only) == 0 && !c.Flags().Changed("profile"))
			if (c.Flags().Changed("duration") || c.Flags().Changed("vus")) && (len(tf.only) > 0 || c.Flags().Changed("profile")) {
				return invalidf("--duration and --vus run one load; --only and --profile choose phases of the protocol: use one or the other")
			}
			loads := []*plan.LoadSpec{&p.Load}
			if len(p.Loads) > 0 {
				loads = loads[:0]
				for _, l := range p.Loads {
					loads = append(loads, &l.LoadSpec)
				}
			}
			for _, l := range loads {
				if c.Flags().Changed("vus") && demoOpen(l) {
					return invalidf("--vus sets the virtual users of a closed load; the %s example's load is open (a rate): use --duration alone", example)
				}
				if c.Flags().Changed("duration") {
					demoHold(l, plan.Duration(duration))
				}
				if c.Flags().Changed("vus") {
					if l.Duration == 0 && len(l.Stages) > 0 {
						var total plan.Duration
						for _, s := range l.Stages {
							total += s.RampUp + s.Duration
						}
						l.Duration = total
					}
					l.Stages = nil
					l.VUs = vus
				}
			}
			// Watch the shop as a user would watch their service.
			p.System = &plan.System{
				Process:    &plan.ProcessRef{PID: int32(shop.pid)},
				Prometheus: &plan.PrometheusSpec{URL: shop.url + "/metrics"},
				Pprof:      shop.url + "/debug/pprof",
			}
			p.ApplyDefaults()
			if err := p.Validate(); err != nil {
				return invalid(err)
			}
			fmt.Fprintf(e.stderr, "demo shop listening on %s (pid %d, faults: %s)\n", shop.url, shop.pid, faultList(fl))
			if single {
				return runPlan(ctx, e, p, load.Whole, outs, quiet, &rf)
			}
			return runTest(ctx, e, p, tf, outs, quiet, &rf)
		},
	}
	c.Flags().StringVar(&faults, "fault", "", "planted faults: leak, hotspot, lock (comma-separated)")
	c.Flags().DurationVarP(&duration, "duration", "d", 0, "run one load of the example plan, held this long, instead of the protocol")
	c.Flags().IntVar(&vus, "vus", 0, "virtual users instead of the plan's (one load, like --duration)")
	tf.register(c.Flags(), plan.ProfileQuick)
	c.Flags().StringArrayVar(&outSpecs, "out", nil, "write results: json=PATH; while running: csv=PATH, prometheus=[HOST]:PORT, otlp=URL (repeatable)")
	c.Flags().StringArrayVar(&reportSpecs, "report", nil, "write a report: FORMAT=FILE (html, md, junit, json)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no live progress line")
	addDashboardFlag(c.Flags(), &dash)
	c.Flags().StringVar(&example, "example", demoShopExample, "the example plan to run against the shop: "+strings.Join(demoExamples(), ", ")+" (all but shop run one load, as stampede run does)")
	rf.register(c.Flags())
	c.AddCommand(newDemoServeCmd(e))
	return c
}

// runDemoScale runs the demo's horizontal scaling (see demoScalePlan).
func runDemoScale(c *cobra.Command, e *env, faults []string, tf testFlags, outs outputs, quiet bool, rf *recordFlags) error {
	if len(faults) > 0 || c.Flags().Changed("duration") || c.Flags().Changed("vus") {
		return invalidf("--only scalability scales the shop as it is: --fault, --duration and --vus do not apply")
	}
	exe, env, err := e.self()
	if err != nil {
		return err
	}
	p, cleanup, err := demoPlan(demoShopExample, &shopProcess{url: "http://127.0.0.1:1"})
	if err != nil {
		return err
	}
	defer cleanup()
	balancer, err := demoScalePlan(p, exe, env)
	if err != nil {
		return err
	}
	p.ApplyDefaults()
	if err := p.Validate(); err != nil {
		return invalid(err)
	}
	fmt.Fprintf(e.stderr, "demo: %v shops behind %s on %s\n", DemoScaleCounts, balancer, p.Target.BaseURL)
	return runTest(c.Context(), e, p, tf, outs, quiet, rf)
}

// shopProcess is the demo shop running in a child process, so that the
// watch sees it apart from the generator, as it would a real service.
type shopProcess struct {
	url  string
	grpc string // host:port of its gRPC catalogue
	pid  int
	stop func()
}

func startShopProcess(ctx context.Context, e *env, faults []string) (*shopProcess, error) {
	exe, extraEnv, err := e.self()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "demo", "serve", "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--fault", strings.Join(faults, ","))
	cmd.Env = append(os.Environ(), extraEnv...)
	logs := &tail.Buffer{Max: 4096} // shown only if the shop fails to start
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	lines := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	shop := &shopProcess{pid: cmd.Process.Pid, stop: stop}
	for {
		select {
		case l := <-lines:
			// The HTTP address comes first, then the gRPC one.
			if u, ok := strings.CutPrefix(l, "demo shop listening on "); ok {
				shop.url, _, _ = strings.Cut(u, " ")
			}
			if a, ok := strings.CutPrefix(l, "demo shop gRPC catalogue on grpc://"); ok {
				shop.grpc, _, _ = strings.Cut(a, " ")
			}
			if shop.url != "" && shop.grpc != "" {
				return shop, nil
			}
		case <-timeout.C:
			stop()
			return nil, fmt.Errorf("the shop did not start within 30 s: %s", logs.String())
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		}
	}
}

func faultList(f []string) string {
	if len(f) == 0 {
		return "none"
	}
	return fmt.Sprint(f)
}

// demoOpen reports whether l is an open load: a rate, or stages of rates.
func demoOpen(l *plan.LoadSpec) bool {
	return l.Rate > 0 || l.Model == "open" || (len(l.Stages) > 0 && l.Stages[len(l.Stages)-1].Rate != nil)
}

// demoHold makes l one level held for d (--duration): an open load at the
// rate it ends on, a closed one at 20 virtual users.
func demoHold(l *plan.LoadSpec, d plan.Duration) {
	if demoOpen(l) {
		if n := len(l.Stages); n > 0 && l.Stages[n-1].Rate != nil {
			l.Rate = *l.Stages[n-1].Rate
		}
	} else {
		l.VUs = 20
	}
	l.Stages = nil
	l.Duration = d
	l.RampUp, l.RampDown = 0, 0
}

// demoShopExample is the example plan stampede demo runs by default: the
// standard e-commerce plan and its protocol.
const demoShopExample = "shop"

// demoExamples names the embedded example plans (examples/NAME.yaml).
func demoExamples() []string {
	var names []string
	entries, _ := fs.ReadDir(examples.FS, ".")
	for _, d := range entries {
		if n, ok := strings.CutSuffix(d.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	return names
}

// demoPlan writes the embedded example plans and their data to a
// temporary directory, loads the one named and points it at the shop:
// its base URL, and the gRPC steps written for the shop's default
// address at its gRPC catalogue.
func demoPlan(name string, shop *shopProcess) (*plan.Plan, func(), error) {
	dir, err := os.MkdirTemp("", "stampede-demo-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	err = fs.WalkDir(examples.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := examples.FS.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o644)
	})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	p, err := plan.Load(filepath.Join(dir, name+".yaml"))
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("the embedded example plan is invalid: %w", err)
	}
	p.Target.BaseURL = shop.url
	for _, sc := range p.Scenarios {
		for _, st := range sc.Steps {
			if st.GRPC != nil && shop.grpc != "" && strings.HasPrefix(st.GRPC.URL, "grpc://127.0.0.1:") {
				st.GRPC.URL = "grpc://" + shop.grpc
			}
		}
	}
	return p, cleanup, nil
}

func newDemoServeCmd(e *env) *cobra.Command {
	var addr, faults, grpcAddr string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve only the demo shop until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fl, err := demo.ParseFaults(faults)
			if err != nil {
				return invalid(err)
			}
			srv, err := demo.Start(c.Context(), addr, demo.Options{Faults: fl, GRPCAddr: grpcAddr})
			if err != nil {
				return invalidf("cannot serve the demo shop on %s: %v", addr, err)
			}
			scope, local := listenScope(srv.Addr())
			if !local {
				fmt.Fprintf(e.stderr, "stampede: warning: the demo shop listens on %s (%s): anyone who can reach this machine can use it and its /debug/pprof endpoints; --addr 127.0.0.1:PORT keeps it local\n", srv.Addr(), scope)
			}
			// The URL comes first: stampede demo reads it from this line.
			fmt.Fprintf(e.stdout, "demo shop listening on %s (bound to %s, %s; faults: %s); stop with Ctrl+C\n", srv.URL(), srv.Addr(), scope, faultList(fl))
			if a := srv.GRPCAddr(); a != "" {
				fmt.Fprintf(e.stdout, "demo shop gRPC catalogue on grpc://%s (with server reflection)\n", a)
			}
			<-c.Context().Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Close(ctx)
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address; the default is loopback only, while :PORT or 0.0.0.0:PORT listens on every interface")
	c.Flags().StringVar(&faults, "fault", "", "planted faults: leak, hotspot, lock")
	c.Flags().StringVar(&grpcAddr, "grpc-addr", "", "also serve the catalogue over gRPC on this address (e.g. 127.0.0.1:9090)")
	return c
}

// listenScope says who can reach a listener at a: "loopback only" (and
// local true), "all interfaces" for an unspecified host, else the one
// interface address it is bound to.
func listenScope(a net.Addr) (scope string, local bool) {
	tcp, ok := a.(*net.TCPAddr)
	switch {
	case !ok:
		return "address " + a.String(), false
	case tcp.IP.IsLoopback():
		return "loopback only", true
	case tcp.IP == nil || tcp.IP.IsUnspecified():
		return "all interfaces", false
	}
	return "the interface " + tcp.IP.String(), false
}
