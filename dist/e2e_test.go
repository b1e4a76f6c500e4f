package dist_test

// These tests run the stampede binary as users do: a coordinator process
// and agent processes on loopback, a real HTTP target, SIGKILL for the
// losses. Counts are known by construction (an open model's schedule);
// latency percentiles are compared with `stampede merge` of the agents'
// own Runs, which must agree exactly.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
)

func TestMain(m *testing.M) {
	if d, err := time.ParseDuration(os.Getenv("STAMPEDE_DIST_SERVICE")); err == nil {
		serviceTime = d
	}
	if addr := os.Getenv("STAMPEDE_DIST_TARGET"); addr != "" {
		// The target of the multi-host test, started in its own network
		// namespace.
		fmt.Fprintln(os.Stderr, http.ListenAndServe(addr, http.HandlerFunc(hello)))
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "stampede-dist-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serviceTime is the target's; the multi-host test sets a longer one
// (STAMPEDE_DIST_SERVICE), so that the scheduling noise of a shared
// machine is small beside it.
var serviceTime = time.Millisecond

func hello(w http.ResponseWriter, r *http.Request) {
	time.Sleep(serviceTime)
	io.WriteString(w, "hello\n")
}

var (
	binDir  string
	binMu   sync.Mutex
	binPath = map[string]string{}
)

// binary builds cmd/stampede once per version ("" is the module's own).
func binary(t *testing.T, version string) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if p, ok := binPath[version]; ok {
		return p
	}
	p := filepath.Join(binDir, "stampede"+version)
	args := []string{"build", "-o", p}
	if version != "" {
		args = append(args, "-ldflags", "-X github.com/stampede-perf/stampede/internal/cli.version="+version)
	}
	out, err := exec.Command("go", append(args, "github.com/stampede-perf/stampede/cmd/stampede")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	binPath[version] = p
	return p
}

// target is an HTTP server on loopback.
func target(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(hello))
	t.Cleanup(s.Close)
	return s.URL
}

// writePlan writes a plan with a data file beside it (shipped to the
// agents) and returns its path.
func writePlan(t *testing.T, dir, base string, extra string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "ids.csv"), []byte("id\n1\n2\n3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := fmt.Sprintf(`name: spread
target:
  base_url: %s
data:
  ids:
    file: ids.csv
scenarios:
  - name: s
    steps:
      - name: get
        path: /item/{{ ids.id }}
%s`, base, extra)
	path := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(path, []byte(plan), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// proc is a running stampede process whose stderr lines are kept with
// the time they were read.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex // guards lines, at
	lines []string
	at    []time.Time
	seen  chan struct{} // signalled on every line
	done  chan struct{}
	err   error
}

func start(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: exec.Command(bin, args...), seen: make(chan struct{}, 1), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.at = append(p.at, time.Now())
			p.mu.Unlock()
			select {
			case p.seen <- struct{}{}:
			default:
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitLine waits for a stderr line matching re and returns its
// submatches and when it was read.
func (p *proc) waitLine(re string, within time.Duration) ([]string, time.Time) {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for i := 0; ; {
		p.mu.Lock()
		for ; i < len(p.lines); i++ {
			if m := rx.FindStringSubmatch(p.lines[i]); m != nil {
				at := p.at[i]
				p.mu.Unlock()
				return m, at
			}
		}
		p.mu.Unlock()
		select {
		case <-p.seen:
		case <-p.done:
			p.mu.Lock()
			n := len(p.lines)
			p.mu.Unlock()
			if i == n {
				p.t.Fatalf("%s exited without a line matching %q:\n%s", p.cmd.Args[1], re, p.stderr())
			}
		case <-deadline.C:
			p.t.Fatalf("no line matching %q within %v:\n%s", re, within, p.stderr())
		}
	}
}

// wait waits for the process to exit and returns its exit code and when.
func (p *proc) wait(within time.Duration) (int, time.Time) {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), time.Now()
	case <-time.After(within):
		p.t.Fatalf("%v still running after %v:\n%s", p.cmd.Args[1:], within, p.stderr())
	}
	return 0, time.Time{}
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// coordinator starts `run PLAN --agents n` on a free loopback port and
// returns it with the address agents dial.
func coordinator(t *testing.T, bin, plan string, n int, args ...string) (*proc, string) {
	t.Helper()
	c := start(t, bin, []string{"STAMPEDE_TOKEN=sesame"},
		append([]string{"run", plan, "--agents", fmt.Sprint(n), "--listen", "127.0.0.1:0", "--no-store"}, args...)...)
	m, _ := c.waitLine(`agent\(s\) on (127\.0\.0\.1:\d+)`, 30*time.Second)
	return c, m[1]
}

func agent(t *testing.T, bin, addr, dir string, env ...string) *proc {
	t.Helper()
	return start(t, bin, append([]string{"STAMPEDE_TOKEN=sesame"}, env...), "agent", "--coordinator", addr, "--out-dir", dir, "--wait", "20s")
}

func readRun(t *testing.T, path string) *result.Run {
	t.Helper()
	r, err := result.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestExactMerge: three agents run one schedule; the merged Run has every
// request of it, and its percentiles are exactly those of `stampede
// merge` of the agents' own Runs.
func TestExactMerge(t *testing.T) {
	t.Parallel()
	bin := binary(t, "")
	dir := t.TempDir()
	const rate, secs = 150, 4
	plan := writePlan(t, dir, target(t), fmt.Sprintf("load:\n  model: open\n  rate: %d\n  duration: %ds\n", rate, secs))
	merged := filepath.Join(dir, "merged.json")
	c, addr := coordinator(t, bin, plan, 3, "--out", "json="+merged)
	var agents []*proc
	for range 3 {
		agents = append(agents, agent(t, bin, addr, dir))
	}
	c.waitLine(`all 3 agent\(s\) start at`, 30*time.Second)
	// Exit 1 is allowed: on a busy machine an agent may be saturated,
	// which makes the verdict inconclusive but the counts no less exact.
	if code, _ := c.wait(60 * time.Second); code > 1 {
		t.Fatalf("coordinator exit %d:\n%s", code, c.stderr())
	}
	for i, a := range agents {
		if code, _ := a.wait(10 * time.Second); code > 1 {
			t.Fatalf("agent %d exit %d:\n%s", i+1, code, a.stderr())
		}
	}
	m := readRun(t, merged)
	checkSchedule(t, m, rate*secs)
	if len(m.Agents) != 3 {
		t.Fatalf("per-agent breakdown has %d rows, want 3", len(m.Agents))
	}
	var sum int64
	for _, a := range m.Agents {
		sum += a.Requests
	}
	if sum != m.Summary.Requests {
		t.Errorf("agents' requests add to %d, merged run has %d", sum, m.Summary.Requests)
	}
	byHand := filepath.Join(dir, "byhand.json")
	var files []string
	for k := 1; k <= 3; k++ {
		files = append(files, filepath.Join(dir, fmt.Sprintf("stampede-agent-%d-of-3.json", k)))
	}
	// Exit 1 is an inconclusive or failed verdict: the file is written.
	out, err := exec.Command(bin, append(append([]string{"merge"}, files...), "--out", "json="+byHand)...).CombinedOutput()
	if xe, ok := err.(*exec.ExitError); err != nil && (!ok || xe.ExitCode() != 1) {
		t.Fatalf("stampede merge: %v\n%s", err, out)
	}
	h := readRun(t, byHand)
	if h.Summary.Requests != m.Summary.Requests || h.Summary.Latency.P50 != m.Summary.Latency.P50 || h.Summary.Latency.P99 != m.Summary.Latency.P99 || h.Summary.Hist != m.Summary.Hist {
		t.Errorf("merged run: %d requests, p50 %v, p99 %v; stampede merge of the agents' Runs: %d, %v, %v",
			m.Summary.Requests, m.Summary.Latency.P50, m.Summary.Latency.P99, h.Summary.Requests, h.Summary.Latency.P50, h.Summary.Latency.P99)
	}
	if len(m.Series) < secs {
		t.Errorf("merged run has %d windows, want at least %d", len(m.Series), secs)
	}
}

// TestAgentKilled: an agent killed with SIGKILL mid-run is reported
// within the heartbeat and, as the plan says, the rest go on.
func TestAgentKilled(t *testing.T) {
	t.Parallel()
	bin := binary(t, "")
	dir := t.TempDir()
	pl := placeFaultTest(t)
	plan := writePlan(t, dir, pl.target, "load:\n  model: open\n  rate: 60\n  duration: 5s\ndistributed:\n  heartbeat: 2s\n  on_agent_loss: continue\n")
	merged := filepath.Join(dir, "merged.json")
	c, addr := pl.coordinator(t, bin, plan, 3, "--out", "json="+merged)
	var agents []*proc
	for range 3 {
		agents = append(agents, pl.agent(t, bin, addr, dir))
	}
	c.waitLine(`all 3 agent\(s\) start at`, 30*time.Second)
	c.waitLine(`agent 3/3 .* is ready`, time.Second) // already said
	time.Sleep(2 * time.Second)                      // the kill must land mid-run
	victim := agents[1]
	// Which part the victim holds is the coordinator's choice: read it
	// from the victim's own log.
	m, _ := victim.waitLine(`as part (\d)/3`, 5*time.Second)
	killed := time.Now()
	victim.cmd.Process.Signal(syscall.SIGKILL)
	_, lostAt := c.waitLine(`agent `+m[1]+`/3 .* lost: `, 10*time.Second)
	if d := lostAt.Sub(killed); d > 2*time.Second+time.Second {
		t.Errorf("the loss was reported %v after the kill; the heartbeat is 2s", d)
	}
	code, _ := c.wait(60 * time.Second)
	if code == 2 {
		t.Fatalf("coordinator exit %d:\n%s", code, c.stderr())
	}
	run := readRun(t, merged)
	lost := 0
	for _, a := range run.Agents {
		if a.Lost {
			lost++
			if a.Segment != m[1]+"/3" {
				t.Errorf("agent %s reported lost, the killed one held %s/3", a.Segment, m[1])
			}
		}
	}
	if lost != 1 || run.Aborted {
		t.Errorf("%d agents lost, aborted %v; want 1 lost and the test carried on", lost, run.Aborted)
	}
}

// TestThresholdStopsEveryone: an abort threshold failing on the merged
// windows stops every agent within 2 s.
func TestThresholdStopsEveryone(t *testing.T) {
	t.Parallel()
	bin := binary(t, "")
	dir := t.TempDir()
	pl := placeFaultTest(t)
	plan := writePlan(t, dir, pl.target, "load:\n  model: open\n  rate: 60\n  duration: 60s\nthresholds:\n  - expr: requests < 5\n    abort: true\n")
	c, addr := pl.coordinator(t, bin, plan, 2)
	agents := []*proc{pl.agent(t, bin, addr, dir), pl.agent(t, bin, addr, dir)}
	_, stopAt := c.waitLine(`stopping every agent: threshold failed`, 30*time.Second)
	for i, a := range agents {
		code, _ := a.wait(10 * time.Second)
		if code != 1 {
			t.Errorf("agent %d exit %d, want 1 (stopped):\n%s", i+1, code, a.stderr())
		}
	}
	if code, _ := c.wait(30 * time.Second); code != 1 {
		t.Errorf("coordinator exit %d, want 1 (threshold failed):\n%s", code, c.stderr())
	}
	for k := 1; k <= 2; k++ {
		r := readRun(t, filepath.Join(dir, fmt.Sprintf("stampede-agent-%d-of-2.json", k)))
		if !r.Aborted || r.Summary.DurationS > 20 {
			t.Errorf("agent %d's Run: aborted %v after %.1fs; want stopped early", k, r.Aborted, r.Summary.DurationS)
		}
		// The load ended (the Run's end, on this machine's clock) within
		// 2 s of the coordinator's decision.
		if d := r.EndedAt.Sub(stopAt); d > 2*time.Second {
			t.Errorf("agent %d's load ended %v after the threshold failed; want within 2s", k, d)
		}
	}
}

// TestCoordinatorKilled: agents whose coordinator disappears stop by
// themselves within the heartbeat and leave their partial Runs.
func TestCoordinatorKilled(t *testing.T) {
	t.Parallel()
	bin := binary(t, "")
	dir := t.TempDir()
	pl := placeFaultTest(t)
	plan := writePlan(t, dir, pl.target, "load:\n  model: open\n  rate: 60\n  duration: 60s\ndistributed:\n  heartbeat: 2s\n")
	c, addr := pl.coordinator(t, bin, plan, 2)
	agents := []*proc{pl.agent(t, bin, addr, dir), pl.agent(t, bin, addr, dir)}
	c.waitLine(`all 2 agent\(s\) start at`, 30*time.Second)
	time.Sleep(2 * time.Second) // mid-run
	killed := time.Now()
	c.cmd.Process.Signal(syscall.SIGKILL)
	for i, a := range agents {
		code, _ := a.wait(20 * time.Second)
		if code != 1 {
			t.Errorf("agent %d exit %d, want 1:\n%s", i+1, code, a.stderr())
		}
		if !strings.Contains(a.stderr(), "lost the coordinator") {
			t.Errorf("agent %d does not say it lost its coordinator:\n%s", i+1, a.stderr())
		}
	}
	for k := 1; k <= 2; k++ {
		r := readRun(t, filepath.Join(dir, fmt.Sprintf("stampede-agent-%d-of-2.json", k)))
		if !r.Aborted || r.Summary.Requests == 0 {
			t.Errorf("agent %d's partial Run: aborted %v, %d requests", k, r.Aborted, r.Summary.Requests)
		}
		if d := r.EndedAt.Sub(killed); d > 2*time.Second {
			t.Errorf("agent %d's load ended %v after its coordinator died; the heartbeat is 2s", k, d)
		}
	}
}

// TestBadInput: each mistake is one line on each side, and nothing waits
// past its deadline.
func TestBadInput(t *testing.T) {
	t.Parallel()
	bin := binary(t, "")
	oneLine := func(t *testing.T, who, stderr string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "stampede: ") || strings.Contains(last, "rpc error") {
			t.Errorf("%s's last line is not a one-line error of its own: %q", who, last)
		}
	}
	t.Run("unreachable coordinator", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		a := start(t, bin, nil, "agent", "--coordinator", addr, "--wait", "1s", "--out-dir", t.TempDir())
		if code, _ := a.wait(10 * time.Second); code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		if !strings.Contains(a.stderr(), "cannot reach the coordinator at "+addr+" within 1s") {
			t.Errorf("stderr: %s", a.stderr())
		}
		oneLine(t, "agent", a.stderr())
	})
	t.Run("wrong token", func(t *testing.T) {
		dir := t.TempDir()
		plan := writePlan(t, dir, target(t), "load:\n  rate: 10\n  duration: 2s\n")
		c, addr := coordinator(t, bin, plan, 1, "--wait", "3s")
		a := start(t, bin, []string{"STAMPEDE_TOKEN=guess"}, "agent", "--coordinator", addr, "--out-dir", dir, "--wait", "5s")
		if code, _ := a.wait(10 * time.Second); code != 2 || !strings.Contains(a.stderr(), "refused this agent: wrong token") {
			t.Errorf("agent exit %d:\n%s", code, a.stderr())
		}
		if code, _ := c.wait(10 * time.Second); code != 2 || !strings.Contains(c.stderr(), "wrong token") {
			t.Errorf("coordinator exit %d:\n%s", code, c.stderr())
		}
		oneLine(t, "agent", a.stderr())
		oneLine(t, "coordinator", c.stderr())
	})
	t.Run("version mismatch", func(t *testing.T) {
		other := binary(t, "0.0.1-other")
		dir := t.TempDir()
		plan := writePlan(t, dir, target(t), "load:\n  rate: 10\n  duration: 2s\n")
		c, addr := coordinator(t, bin, plan, 1, "--wait", "3s")
		a := agent(t, other, addr, dir)
		if code, _ := a.wait(10 * time.Second); code != 2 || !strings.Contains(a.stderr(), "version mismatch: agent is stampede 0.0.1-other") {
			t.Errorf("agent exit %d:\n%s", code, a.stderr())
		}
		if code, _ := c.wait(10 * time.Second); code != 2 || !strings.Contains(c.stderr(), "version mismatch") {
			t.Errorf("coordinator exit %d:\n%s", code, c.stderr())
		}
		oneLine(t, "agent", a.stderr())
		oneLine(t, "coordinator", c.stderr())
	})
	t.Run("agent cannot write the data file", func(t *testing.T) {
		dir := t.TempDir()
		plan := writePlan(t, dir, target(t), "load:\n  rate: 10\n  duration: 2s\n")
		c, addr := coordinator(t, bin, plan, 1, "--wait", "10s")
		a := agent(t, bin, addr, dir, "TMPDIR="+filepath.Join(dir, "missing"))
		if code, _ := a.wait(10 * time.Second); code != 2 || !strings.Contains(a.stderr(), "cannot make a directory for the plan's files") {
			t.Errorf("agent exit %d:\n%s", code, a.stderr())
		}
		if code, _ := c.wait(10 * time.Second); code != 2 || !strings.Contains(c.stderr(), "agent 1/1") || !strings.Contains(c.stderr(), "cannot run the test") {
			t.Errorf("coordinator exit %d:\n%s", code, c.stderr())
		}
		oneLine(t, "agent", a.stderr())
		oneLine(t, "coordinator", c.stderr())
	})
	t.Run("coordinator cannot read the data file", func(t *testing.T) {
		dir := t.TempDir()
		plan := writePlan(t, dir, target(t), "load:\n  rate: 10\n  duration: 2s\n")
		os.Remove(filepath.Join(dir, "ids.csv"))
		c := start(t, bin, nil, "run", plan, "--agents", "1", "--listen", "127.0.0.1:0", "--no-store")
		if code, _ := c.wait(10 * time.Second); code != 2 || !strings.Contains(c.stderr(), "ids.csv") {
			t.Errorf("coordinator exit %d:\n%s", code, c.stderr())
		}
		oneLine(t, "coordinator", c.stderr())
	})
}

// TestLocal: --local starts the agents itself, through the same protocol.
func TestLocal(t *testing.T) {
	t.Parallel()
	bin := binary(t, "")
	dir := t.TempDir()
	const rate, secs = 150, 4
	plan := writePlan(t, dir, target(t), fmt.Sprintf("load:\n  model: open\n  rate: %d\n  duration: %ds\n", rate, secs))
	merged, agentsDir := filepath.Join(dir, "merged.json"), filepath.Join(dir, "agents")
	c := start(t, bin, nil, "run", plan, "--agents", "2", "--local", "--no-store", "--out", "json="+merged, "--agents-dir", agentsDir)
	if code, _ := c.wait(60 * time.Second); code > 1 {
		t.Fatalf("exit %d:\n%s", code, c.stderr())
	}
	m := readRun(t, merged)
	checkSchedule(t, m, rate*secs)
	if len(m.Agents) != 2 {
		t.Errorf("%d agents, want 2", len(m.Agents))
	}
	for k := 1; k <= 2; k++ {
		r := readRun(t, filepath.Join(agentsDir, fmt.Sprintf("stampede-agent-%d-of-2.json", k)))
		if r.Segment != fmt.Sprintf("%d/2", k) || r.Summary.Requests == 0 {
			t.Errorf("agent %d's own Run: segment %q, %d requests", k, r.Segment, r.Summary.Requests)
		}
	}
}

// TestAgentLossAborts: with on_agent_loss: abort, losing one agent stops
// the others, and the merged run says why.
func TestAgentLossAborts(t *testing.T) {
	bin := binary(t, "")
	dir := t.TempDir()
	plan := writePlan(t, dir, target(t), "load:\n  model: open\n  rate: 40\n  duration: 60s\ndistributed:\n  heartbeat: 2s\n  on_agent_loss: abort\n")
	merged := filepath.Join(dir, "merged.json")
	c, addr := coordinator(t, bin, plan, 2, "--out", "json="+merged)
	victim := start(t, bin, []string{"STAMPEDE_TOKEN=sesame", "JOB_COMPLETION_INDEX=0"}, "agent", "--coordinator", addr, "--out-dir", dir, "--wait", "20s")
	other := start(t, bin, []string{"STAMPEDE_TOKEN=sesame", "JOB_COMPLETION_INDEX=1"}, "agent", "--coordinator", addr, "--out-dir", dir, "--wait", "20s")
	c.waitLine(`all 2 agent\(s\) start at`, 30*time.Second)
	time.Sleep(2 * time.Second) // mid-run
	victim.cmd.Process.Signal(syscall.SIGKILL)
	c.waitLine(`agent 1/2 .* lost: `, 10*time.Second)
	if code, _ := other.wait(15 * time.Second); code != 1 {
		t.Errorf("the other agent exit %d, want 1 (stopped):\n%s", code, other.stderr())
	}
	if code, _ := c.wait(30 * time.Second); code != 1 {
		t.Errorf("coordinator exit %d, want 1:\n%s", code, c.stderr())
	}
	m := readRun(t, merged)
	if !m.Aborted || !strings.Contains(m.AbortReason, "on_agent_loss: abort") {
		t.Errorf("merged run: aborted %v (%q)", m.Aborted, m.AbortReason)
	}
	r := readRun(t, filepath.Join(dir, "stampede-agent-2-of-2.json"))
	if !r.Aborted || r.Summary.DurationS > 30 {
		t.Errorf("the other agent's Run: aborted %v after %.0fs", r.Aborted, r.Summary.DurationS)
	}
}

// checkSchedule: every iteration of the schedule is accounted for (sent,
// or dropped because no VU was free before the end), and, unless an
// agent says it could not keep the schedule on a busy machine, sent.
func checkSchedule(t *testing.T, m *result.Run, schedule int) {
	t.Helper()
	want := float64(schedule)
	if got := float64(m.Summary.Requests + m.Summary.Dropped); got < want*0.995 || got > want*1.005 {
		t.Errorf("merged requests %d + dropped %d, schedule %d (±0.5%%)", m.Summary.Requests, m.Summary.Dropped, schedule)
	}
	if m.Generator.Saturated {
		t.Logf("an agent was saturated (%s): %d of %d iterations were sent", m.Generator.Reason, m.Summary.Requests, schedule)
		return
	}
	if got := float64(m.Summary.Requests); got < want*0.995 || got > want*1.005 {
		t.Errorf("merged requests %d, schedule %d (±0.5%%)", m.Summary.Requests, schedule)
	}
}
