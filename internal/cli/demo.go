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
	var dash string
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
			if demoScaleOnly(tf.only) {
				return runDemoScale(c, e, fl, tf, outs, quiet, &rf)
			}
			shop, err := startShopProcess(ctx, e, fl)
			if err != nil {
				return fmt.Errorf("cannot start the demo shop: %w", err)
			}
			defer shop.stop()
			p, cleanup, err := demoPlan(shop.url)
			if err != nil {
				return err
			}
			defer cleanup()
			single := c.Flags().Changed("duration") || c.Flags().Changed("vus")
			if single && (len(tf.only) > 0 || c.Flags().Changed("profile")) {
				return invalidf("--duration and --vus run one load; --only and --profile choose phases of the protocol: use one or the other")
			}
			if c.Flags().Changed("duration") {
				p.Load.Stages = nil
				p.Load.VUs = 20
				p.Load.Duration = plan.Duration(duration)
				p.Load.RampUp = 0
			}
			if c.Flags().Changed("vus") {
				if p.Load.Duration == 0 && len(p.Load.Stages) > 0 {
					var total plan.Duration
					for _, s := range p.Load.Stages {
						total += s.RampUp + s.Duration
					}
					p.Load.Duration = total
				}
				p.Load.Stages = nil
				p.Load.VUs = vus
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
	p, cleanup, err := demoPlan("http://127.0.0.1:1")
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
	pid  int
	stop func()
}

func startShopProcess(ctx context.Context, e *env, faults []string) (*shopProcess, error) {
	exe, extraEnv, err := e.self()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "demo", "serve", "--addr", "127.0.0.1:0", "--fault", strings.Join(faults, ","))
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
	lines := make(chan string, 1)
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
	for {
		select {
		case l := <-lines:
			if u, ok := strings.CutPrefix(l, "demo shop listening on "); ok {
				u, _, _ = strings.Cut(u, " ")
				return &shopProcess{url: u, pid: cmd.Process.Pid, stop: stop}, nil
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

// demoPlan writes the embedded example plan and its data to a temporary
// directory, loads it and points it at url.
func demoPlan(url string) (*plan.Plan, func(), error) {
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
	p, err := plan.Load(filepath.Join(dir, "shop.yaml"))
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("the embedded example plan is invalid: %w", err)
	}
	p.Target.BaseURL = url
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
