package dist_test

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"

	"github.com/stampede-perf/stampede/internal/racedetect"
	"github.com/stampede-perf/stampede/kube"
	"github.com/stampede-perf/stampede/result"
)

// hosts are network namespaces joined by a bridge: each holds one
// address of a subnet that exists only inside them.
type hosts struct {
	t      *testing.T
	prefix string
	addr   map[string]string // namespace → address
}

// subnet is the test hosts' network; it exists only inside the namespaces
// this test creates, behind a bridge in a namespace of its own.
const subnet = "10.77.%d.%d"

// hostSets counts the sets of namespaces this process has made.
var hostSets atomic.Int64

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newHosts creates the namespaces names (the first one's address ends in
// .10, the next .11…) and the bridge between them.
func newHosts(t *testing.T, names ...string) *hosts {
	t.Helper()
	skip := t.Skip
	if os.Getenv("STAMPEDE_REQUIRE_NETNS") == "1" { // CI must not skip it
		skip = t.Fatal
	}
	if os.Geteuid() != 0 {
		skip("the multi-host test creates network namespaces, which needs root (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skip("the multi-host test needs ip (iproute2: apt-get install iproute2)")
	}
	// Names are the process's and the test's own: tests of one process
	// run side by side, and so may two processes.
	pid := os.Getpid() % 10000
	n := hostSets.Add(1)
	h := &hosts{t: t, prefix: fmt.Sprintf("stp%d%c", pid, 'a'+rune(n%26)), addr: map[string]string{}}
	net := (pid + int(n)) % 250
	br := h.prefix + "br"
	t.Cleanup(func() {
		for _, n := range append(names, "br") {
			exec.Command("ip", "netns", "del", h.prefix+n).Run()
		}
	})
	ipCmd(t, "netns", "add", br)
	ipCmd(t, "-n", br, "link", "add", "br0", "type", "bridge")
	ipCmd(t, "-n", br, "link", "set", "br0", "up")
	for i, n := range names {
		ns := h.prefix + n
		ipCmd(t, "netns", "add", ns)
		host, peer := fmt.Sprintf("%sv%d", h.prefix, i), fmt.Sprintf("%sp%d", h.prefix, i)
		ipCmd(t, "link", "add", host, "type", "veth", "peer", "name", peer)
		ipCmd(t, "link", "set", host, "netns", ns)
		ipCmd(t, "link", "set", peer, "netns", br)
		ipCmd(t, "-n", br, "link", "set", peer, "master", "br0")
		ipCmd(t, "-n", br, "link", "set", peer, "up")
		addr := fmt.Sprintf(subnet, net, 10+i)
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
		ipCmd(t, "-n", ns, "link", "set", host, "name", "eth0")
		ipCmd(t, "-n", ns, "addr", "add", addr+"/24", "dev", "eth0")
		ipCmd(t, "-n", ns, "link", "set", "eth0", "up")
		h.addr[n] = addr
	}
	return h
}

// in is argv run inside namespace n.
func (h *hosts) in(n string, argv ...string) []string {
	return append([]string{"netns", "exec", h.prefix + n}, argv...)
}

// manifestCommands are the coordinator's and the agents' command lines
// as the Kubernetes manifest of this plan writes them, decoded back from
// its YAML.
func manifestCommands(t *testing.T, planFile string, agents int) (coord, agent []string) {
	t.Helper()
	data, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := os.ReadFile(filepath.Join(filepath.Dir(planFile), "ids.csv"))
	if err != nil {
		t.Fatal(err)
	}
	y, err := kube.Manifest(kube.Options{Image: "stampede:test", Agents: agents, PlanName: filepath.Base(planFile), Plan: data,
		Files: []kube.File{{Path: "ids.csv", Data: ids}}})
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(y), "\n---\n")
	var cj, aj batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(docs[3]), &cj); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[4]), &aj); err != nil {
		t.Fatal(err)
	}
	return cj.Spec.Template.Spec.Containers[0].Command, aj.Spec.Template.Spec.Containers[0].Command
}

// mount maps a container's command line onto this machine, as the pod's
// volumes and cluster DNS would: the binary, the plan volume, /tmp, and
// the Service's name.
func mount(argv []string, bin, planDir, tmp, service, addr string) []string {
	out := []string{bin}
	for _, a := range argv[1:] {
		switch {
		case strings.Contains(a, "/etc/stampede/plan"):
			a = strings.ReplaceAll(a, "/etc/stampede/plan", planDir)
		case strings.Contains(a, "/tmp"):
			a = strings.ReplaceAll(a, "/tmp", tmp)
		default:
			a = strings.ReplaceAll(a, service, addr)
		}
		out = append(out, a)
	}
	return out
}

// TestMultiHost runs the target, the coordinator and three agents (in two
// namespaces) on hosts of their own, with the command lines of the
// Kubernetes manifest: the merged Run holds the whole schedule, its
// percentiles equal `stampede merge` of the agents' Runs, and it agrees
// with one process running the same plan against the same target.
func TestMultiHost(t *testing.T) {
	h := newHosts(t, "target", "coord", "agents1", "agents2")
	bin := binary(t, "")
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	targetAddr := h.addr["target"] + ":8080"
	tgt := exec.Command("ip", h.in("target", os.Args[0], "-test.run=^$")...)
	tgt.Env = append(os.Environ(), "STAMPEDE_DIST_TARGET="+targetAddr, "STAMPEDE_DIST_SERVICE=5ms")
	if err := tgt.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tgt.Process.Kill(); tgt.Wait() })
	// The target is up once it answers from another host.
	waitServing(t, h, "coord", bin, "http://"+targetAddr+"/")
	const rate, secs = 150, 5
	plan := writePlan(t, dir, "http://"+targetAddr, fmt.Sprintf("load:\n  model: open\n  rate: %d\n  duration: %ds\n", rate, secs))
	coordCmd, agentCmd := manifestCommands(t, plan, 3)
	service, _, _ := strings.Cut(kube.Options{}.CoordinatorAddr(), ":")
	coordAddr := h.addr["coord"]
	c := start(t, "ip", []string{"STAMPEDE_TOKEN=sesame"}, h.in("coord", mount(coordCmd, bin, dir, tmp, service, coordAddr)...)...)
	c.waitLine(`waiting up to .* for 3 agent\(s\)`, 30*time.Second)
	var agents []*proc
	for i, ns := range []string{"agents1", "agents1", "agents2"} {
		agents = append(agents, start(t, "ip", []string{"STAMPEDE_TOKEN=sesame", fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)},
			h.in(ns, mount(agentCmd, bin, dir, tmp, service, coordAddr)...)...))
	}
	if code, _ := c.wait(90 * time.Second); code > 1 {
		t.Fatalf("coordinator exit %d:\n%s", code, c.stderr())
	}
	for i, a := range agents {
		if code, _ := a.wait(10 * time.Second); code > 1 {
			t.Fatalf("agent %d exit %d:\n%s", i+1, code, a.stderr())
		}
	}
	m := readRun(t, filepath.Join(tmp, filepath.Base(kube.RunFile)))
	checkSchedule(t, m, rate*secs)
	for _, a := range m.Agents {
		if a.Requests == 0 || a.Lost {
			t.Errorf("agent %s: %d requests, lost %v", a.Segment, a.Requests, a.Lost)
		}
	}
	var files []string
	for k := 1; k <= 3; k++ {
		files = append(files, filepath.Join(tmp, fmt.Sprintf("stampede-agent-%d-of-3.json", k)))
	}
	byHand := filepath.Join(dir, "byhand.json")
	out, err := exec.Command(bin, append(append([]string{"merge"}, files...), "--out", "json="+byHand)...).CombinedOutput()
	if xe, ok := err.(*exec.ExitError); err != nil && (!ok || xe.ExitCode() != 1) {
		t.Fatalf("stampede merge: %v\n%s", err, out)
	}
	hm := readRun(t, byHand)
	if hm.Summary.Latency.P50 != m.Summary.Latency.P50 || hm.Summary.Latency.P99 != m.Summary.Latency.P99 || hm.Summary.Requests != m.Summary.Requests {
		t.Errorf("merged p50 %v p99 %v (%d requests); stampede merge of the agents' Runs: p50 %v p99 %v (%d)",
			m.Summary.Latency.P50, m.Summary.Latency.P99, m.Summary.Requests, hm.Summary.Latency.P50, hm.Summary.Latency.P99, hm.Summary.Requests)
	}
	// One process, the same plan, the same target, from another host.
	single := filepath.Join(dir, "single.json")
	out, err = exec.Command("ip", h.in("agents2", bin, "run", plan, "--no-store", "-q", "--out", "json="+single)...).CombinedOutput()
	if xe, ok := err.(*exec.ExitError); err != nil && (!ok || xe.ExitCode() != 1) {
		t.Fatalf("single run: %v\n%s", err, out)
	}
	s := readRun(t, single)
	t.Logf("distributed: %d requests, p50 %.3fms p99 %.3fms; single process: %d requests, p50 %.3fms p99 %.3fms",
		m.Summary.Requests, m.Summary.Latency.P50, m.Summary.Latency.P99, s.Summary.Requests, s.Summary.Latency.P50, s.Summary.Latency.P99)
	// The comparison means something only when both measurements are
	// sound: a saturated generator or target (dropped iterations, a
	// generator that says it could not keep the schedule) on a busy
	// machine measures the machine.
	if why := unsound(m, s); why != "" {
		t.Logf("the single-process comparison is left out: %s", why)
		return
	}
	if d := float64(m.Summary.Requests-s.Summary.Requests) / float64(s.Summary.Requests); d < -0.05 || d > 0.05 {
		t.Errorf("distributed run sent %d requests, a single process %d (want within 5%%)", m.Summary.Requests, s.Summary.Requests)
	}
	// Two runs one after the other on a shared machine differ by what the
	// machine did meanwhile: the generators' own share of a request moves
	// by a millisecond from run to run, so the bound is 5% or 1 ms,
	// whichever is wider. Under the race detector the target, this
	// test binary run again as a child, is several times slower and shares the cores with
	// three agents and a coordinator in one run and one process in the
	// other (8.1 against 6.8 ms seen): the floor is 3 ms there, and the
	// plain pass of .ci/run holds the 1 ms. A distribution merged wrongly
	// (shares of the requests mixed up, a percentile of percentiles) is
	// caught exactly above.
	if d, tol := math.Abs(m.Summary.Latency.P50-s.Summary.Latency.P50), max(0.05*s.Summary.Latency.P50, racedetect.Loose(3)); d > tol {
		t.Errorf("distributed p50 %.3fms, single process %.3fms (want within %.3fms)", m.Summary.Latency.P50, s.Summary.Latency.P50, tol)
	}
}

// unsound says why one of the runs cannot be compared with the other.
func unsound(runs ...*result.Run) string {
	for _, r := range runs {
		switch {
		case r.Summary.Dropped > 0:
			return fmt.Sprintf("a run dropped %d iterations", r.Summary.Dropped)
		case r.Generator.Saturated:
			return "a generator was saturated: " + r.Generator.Reason
		case r.Summary.Latency.P50 > 100: // ms, against a 5 ms target: it was queueing
			return fmt.Sprintf("a run's p50 is %.1fms against a 5ms target: the target was queueing", r.Summary.Latency.P50)
		}
	}
	return ""
}

// placement is where a test's processes run: the target's base URL, and
// how the coordinator and each agent start.
type placement struct {
	target      string
	coordinator func(t *testing.T, bin, plan string, n int, args ...string) (*proc, string)
	agent       func(t *testing.T, bin, addr, dir string, env ...string) *proc
}

// placeFaultTest puts the target, the coordinator and the agents (in
// three namespaces, in turn) on hosts of their own where network
// namespaces can be made (root and iproute2; CI requires them), so that
// a killed process, a failed threshold or a lost coordinator cross a
// network as they would between machines; elsewhere everything is on
// loopback.
func placeFaultTest(t *testing.T) placement {
	t.Helper()
	_, err := exec.LookPath("ip")
	if os.Getenv("STAMPEDE_REQUIRE_NETNS") != "1" && (os.Geteuid() != 0 || err != nil) {
		return placement{target: target(t), coordinator: coordinator, agent: agent}
	}
	h := newHosts(t, "target", "coord", "agents1", "agents2", "agents3")
	targetAddr := h.addr["target"] + ":8080"
	tgt := exec.Command("ip", h.in("target", os.Args[0], "-test.run=^$")...)
	tgt.Env = append(os.Environ(), "STAMPEDE_DIST_TARGET="+targetAddr)
	if err := tgt.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tgt.Process.Kill(); tgt.Wait() })
	waitServing(t, h, "coord", binary(t, ""), "http://"+targetAddr+"/")
	t.Logf("on hosts of their own: target %s, coordinator %s, agents %s, %s, %s", h.addr["target"], h.addr["coord"], h.addr["agents1"], h.addr["agents2"], h.addr["agents3"])
	next := 0
	return placement{
		target: "http://" + targetAddr,
		coordinator: func(t *testing.T, bin, plan string, n int, args ...string) (*proc, string) {
			t.Helper()
			argv := append([]string{bin, "run", plan, "--agents", fmt.Sprint(n), "--listen", h.addr["coord"] + ":7000", "--no-store"}, args...)
			c := start(t, "ip", []string{"STAMPEDE_TOKEN=sesame"}, h.in("coord", argv...)...)
			m, _ := c.waitLine(`agent\(s\) on ([0-9.]+:\d+)`, 30*time.Second)
			return c, m[1]
		},
		agent: func(t *testing.T, bin, addr, dir string, env ...string) *proc {
			t.Helper()
			next++
			ns := fmt.Sprintf("agents%d", (next-1)%3+1)
			return start(t, "ip", append([]string{"STAMPEDE_TOKEN=sesame"}, env...),
				h.in(ns, bin, "agent", "--coordinator", addr, "--out-dir", dir, "--wait", "20s")...)
		},
	}
}

// waitServing waits until url answers a request stampede (bin) sends
// from namespace from.
func waitServing(t *testing.T, h *hosts, from, bin, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for exec.Command("ip", h.in(from, bin, "run", "--url", url, "--iterations", "1", "--no-store", "-q")...).Run() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer from %s within 10s", url, from)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
