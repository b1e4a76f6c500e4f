// Command agentcost measures what a coordinator (stampede run --agents N)
// costs per agent: its CPU time and peak memory while N agent processes,
// started beside it on loopback, send it a window a second each. The
// agents are not the coordinator's children, so its own rusage (wait4)
// is exactly the coordinator's. Every load is loopback, bounded by the
// plan's duration, and stops by itself.
//
//	go run ./bench/peers/agentcost -stampede BIN -target BIN [-agents 1,4,16] [-duration 20s] [-rate 20]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("stampede", "", "the stampede binary")
	target := flag.String("target", "", "the bench/peers/target binary")
	counts := flag.String("agents", "1,4,16", "agent counts to measure")
	duration := flag.Duration("duration", 20*time.Second, "each test's length")
	rate := flag.Float64("rate", 20, "iterations per second per agent")
	flag.Parse()
	if *bin == "" || *target == "" {
		log.Fatal("agentcost: -stampede and -target are required")
	}
	if *duration <= 0 || *duration > 10*time.Minute || *rate <= 0 || *rate > 1000 {
		log.Fatal("agentcost: -duration 1s…10m and -rate ≤ 1000")
	}
	addr := freeAddr()
	tgt := exec.Command(*target, "-addr", addr)
	if err := tgt.Start(); err != nil {
		log.Fatal(err)
	}
	defer tgt.Process.Kill()
	dir, err := os.MkdirTemp("", "agentcost-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	fmt.Printf("coordinator cost per agent, %v tests, %g iterations/s per agent (one window a second each)\n", *duration, *rate)
	fmt.Printf("%7s  %10s  %12s  %14s  %16s  %12s  %10s\n", "agents", "cpu_s", "cpu % core", "% core/agent", "marginal/agent", "max RSS MB", "MB/agent")
	// The marginal cost of an agent is the slope from the previous
	// count: it leaves out what the coordinator costs whatever the
	// number of agents (its start, compiling the plan).
	prevN, prevCPU := 0, 0.0
	for _, s := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 64 {
			log.Fatalf("agentcost: -agents %q: want counts from 1 to 64", s)
		}
		cpu, rss, wall := measure(*bin, addr, dir, n, *duration, *rate)
		pct := 100 * cpu.Seconds() / wall.Seconds()
		marginal := "-"
		if prevN > 0 && n > prevN {
			marginal = fmt.Sprintf("%.3f", 100*(cpu.Seconds()-prevCPU)/wall.Seconds()/float64(n-prevN))
		}
		fmt.Printf("%7d  %10.3f  %12.2f  %14.3f  %16s  %12.1f  %10.2f\n", n, cpu.Seconds(), pct, pct/float64(n), marginal, rss, rss/float64(n))
		prevN, prevCPU = n, cpu.Seconds()
	}
}

// measure runs one distributed test of n agents and returns the
// coordinator's CPU time, peak RSS (MB) and the time from the agents'
// start to its exit.
func measure(bin, target, dir string, n int, d time.Duration, rate float64) (time.Duration, float64, time.Duration) {
	plan := filepath.Join(dir, "plan.yaml")
	body := fmt.Sprintf("name: agentcost\ntarget:\n  base_url: http://%s\nscenarios:\n  - name: s\n    steps:\n      - name: get\n        path: /\nload:\n  model: open\n  rate: %g\n  duration: %v\n", target, rate*float64(n), d)
	if err := os.WriteFile(plan, []byte(body), 0o600); err != nil {
		log.Fatal(err)
	}
	env := append(os.Environ(), "STAMPEDE_TOKEN=agentcost")
	c := exec.Command(bin, "run", plan, "--agents", strconv.Itoa(n), "--listen", "127.0.0.1:0", "--no-store", "-q", "--no-default-slo")
	c.Env = env
	stderr, err := c.StderrPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Start(); err != nil {
		log.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	rx := regexp.MustCompile(`agent\(s\) on (127\.0\.0\.1:\d+)`)
	var addr string
	for sc.Scan() {
		if m := rx.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	if addr == "" {
		log.Fatal("agentcost: the coordinator did not say where it listens")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	start := time.Now()
	var agents []*exec.Cmd
	for range n {
		a := exec.Command(bin, "agent", "--coordinator", addr, "--out-dir", dir, "--wait", "30s")
		a.Env = env
		if err := a.Start(); err != nil {
			log.Fatal(err)
		}
		agents = append(agents, a)
	}
	c.Wait() // exit 1 (a saturated agent on a busy box) still measures the coordinator
	wall := time.Since(start)
	for _, a := range agents {
		a.Wait()
	}
	ru := c.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	return cpu, float64(ru.Maxrss) / 1024, wall
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
