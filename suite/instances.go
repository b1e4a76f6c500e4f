package suite

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stampede-perf/stampede/plan"
)

// A fleet is horizontal scaling on this machine
// (tests.scalability.instances): the instances of the service, each a
// process of the plan's command on a free loopback port, and a load
// balancer (nginx or haproxy, see balancer) in front of them listening
// on the plan's target. Scaling to N starts or stops instances until N
// run, waits until each accepts connections, writes the balancer's
// configuration with N upstream servers and starts the balancer or
// reloads it, then waits until responses carry the new configuration's
// mark — so the measurement never starts on the old upstreams. Close
// stops the balancer and every instance, also after a failure or an
// interrupt. Nothing but loopback is ever listened on.
type fleet struct {
	spec  *plan.InstancesSpec
	bal   *balancer
	addr  string // where the balancer listens: the plan's target
	dir   string // the balancer's files: configuration, pid, logs, temp files
	log   io.Writer
	procs []*exec.Cmd
	ports []int     // procs[i] listens on ports[i]
	front *exec.Cmd // the balancer
	gen   int       // configurations written, the mark responses carry
}

func newFleet(spec *plan.InstancesSpec, baseURL string, log io.Writer) (*fleet, error) {
	addr, err := plan.BalancerAddr(baseURL)
	if err != nil {
		return nil, err
	}
	bal := balancerFor(spec.Balancer)
	if _, err := exec.LookPath(bal.name); err != nil {
		return nil, fmt.Errorf("tests.scalability.instances needs %s on the PATH (Debian: %s)", bal.name, bal.install)
	}
	dir, err := os.MkdirTemp("", "stampede-fleet-")
	if err != nil {
		return nil, err
	}
	return &fleet{spec: spec, bal: bal, addr: addr, dir: dir, log: &lockedWriter{w: log}}, nil
}

// lockedWriter serializes the writes of the fleet's processes, whose
// output goroutines would otherwise write to one log at once.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// scaleTo runs n instances behind the balancer.
func (f *fleet) scaleTo(ctx context.Context, n int) error {
	for len(f.procs) > n {
		last := f.procs[len(f.procs)-1]
		stop(last)
		f.procs, f.ports = f.procs[:len(f.procs)-1], f.ports[:len(f.ports)-1]
	}
	ready := f.spec.Ready.D()
	if ready <= 0 {
		ready = plan.DefaultInstanceReady
	}
	for len(f.procs) < n {
		port, err := freePort()
		if err != nil {
			return err
		}
		line, err := expand(f.spec.Command, map[string]string{"port": strconv.Itoa(port), "index": strconv.Itoa(len(f.procs))})
		if err != nil {
			return err
		}
		cmd := exec.Command("sh", "-c", "exec "+line)
		cmd.Stdout, cmd.Stderr = f.log, f.log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("instance %d: %w", len(f.procs), err)
		}
		f.procs, f.ports = append(f.procs, cmd), append(f.ports, port)
		if err := waitListening(ctx, fmt.Sprintf("127.0.0.1:%d", port), ready); err != nil {
			return fmt.Errorf("instance %d (%s): %w", len(f.procs)-1, line, err)
		}
	}
	return f.balance(ctx, ready)
}

// balance writes the configuration for the running instances and makes
// the balancer serve it: starts it the first time, reloads it after.
func (f *fleet) balance(ctx context.Context, ready time.Duration) error {
	f.gen++
	b := f.bal
	if err := os.WriteFile(filepath.Join(f.dir, b.file), []byte(b.conf(f.dir, f.addr, f.ports, f.gen)), 0o600); err != nil {
		return err
	}
	if f.front == nil {
		cmd := exec.Command(b.name, b.args(f.dir)...)
		cmd.Stdout, cmd.Stderr = f.log, f.log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		f.front = cmd
	} else if err := f.front.Process.Signal(b.reload); err != nil {
		return fmt.Errorf("%s reload: %w", b.name, err)
	}
	return f.waitServing(ctx, ready)
}

// waitServing polls the balancer until a response carries the current
// configuration's mark.
func (f *fleet) waitServing(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	want := strconv.Itoa(f.gen)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+f.addr+"/", nil)
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.Header.Get("X-Stampede-Fleet") == want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			why := "see its output above"
			if f.bal.errLog != "" {
				log, _ := os.ReadFile(filepath.Join(f.dir, f.bal.errLog))
				why = lastLine(string(log))
			}
			return fmt.Errorf("%s on %s did not serve the configuration of %d instances within %v: %s", f.bal.name, f.addr, len(f.procs), limit, why)
		case <-tick.C:
		}
	}
}

// close stops the balancer and every instance and removes the
// balancer's files.
func (f *fleet) close() {
	if f.front != nil {
		stop(f.front)
		f.front = nil
	}
	for _, p := range f.procs {
		stop(p)
	}
	f.procs, f.ports = nil, nil
	os.RemoveAll(f.dir)
}

// stop ends a process group started by the fleet: TERM, then KILL after
// two seconds.
func stop(cmd *exec.Cmd) {
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

// freePort is a loopback TCP port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until addr accepts a connection, for at most limit.
func waitListening(ctx context.Context, addr string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not listening on %s after %v", addr, limit)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
