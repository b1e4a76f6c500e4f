package zoo

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stampede-perf/stampede/internal/tail"
)

// ServiceEnv names the environment variable that makes MaybeServe serve a
// service: its value is the service's name.
const ServiceEnv = "STAMPEDE_ZOO_SERVICE"

// MaybeServe serves the service named by $STAMPEDE_ZOO_SERVICE on a free
// loopback port until SIGTERM or SIGINT, then exits the process; it
// returns at once when the variable is not set. A test's TestMain calls it
// first, so that the test binary can start itself as a service.
func MaybeServe() {
	name := os.Getenv(ServiceEnv)
	if name == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err := Serve(ctx, name, "127.0.0.1:0", Options{Stdout: os.Stdout, Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(0)
}

// Process is a zoo service running in a child process.
type Process struct {
	Name string
	URL  string // base URL, such as http://127.0.0.1:41234
	PID  int

	cmd  *exec.Cmd
	logs *tail.Buffer
	once sync.Once
	done chan struct{}
}

// Start runs cmd — the zoo binary with --service NAME, or a binary whose
// MaybeServe will serve the service named in its environment — and waits
// (up to a minute, or until ctx is done) for it to say where it listens.
// The child is killed if this process dies.
func Start(ctx context.Context, name string, cmd *exec.Cmd) (*Process, error) {
	p := &Process{Name: name, cmd: cmd, logs: &tail.Buffer{Max: 8 << 10}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	setDeathSignal(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start service %s: %w", name, err)
	}
	p.PID = cmd.Process.Pid
	go func() { cmd.Wait(); close(p.done) }()
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
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for {
		select {
		case l := <-lines:
			if u, ok := strings.CutPrefix(l, ListeningPrefix); ok {
				p.URL, _, _ = strings.Cut(u, " ")
				return p, nil
			}
		case <-p.done:
			return nil, fmt.Errorf("service %s exited before listening: %s", name, p.logs)
		case <-timeout.C:
			p.Stop()
			return nil, fmt.Errorf("service %s did not start within a minute: %s", name, p.logs)
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		}
	}
}

// Stop ends the service: SIGTERM, then SIGKILL after five seconds. It
// returns once the process is gone; calling it again does nothing.
func (p *Process) Stop() {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// Exited reports whether the process has ended (before Stop, a crash).
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Logs is the end of what the service wrote to stderr.
func (p *Process) Logs() string { return p.logs.String() }
