// Command soak holds the generator at a steady open-model rate against
// the loopback bench target for a long time and samples its resident
// memory every interval: the generator's memory must stay flat (the last
// quarter's mean within -tolerance of the mean just after the warm-up,
// and no significant upward trend of more than that over the run). It is
// the generator's own soak, not the target's; run it through
// bench/peers/soak.sh. The load is bounded (-duration, -rate, loopback only)
// and stops by itself.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/stats"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx))
}

func run(ctx context.Context) int {
	stampede := flag.String("stampede", "", "the stampede binary")
	target := flag.String("target", "", "the bench target binary")
	duration := flag.Duration("duration", time.Hour, "how long the load holds (at most 24h)")
	rate := flag.Int("rate", 2000, "iterations/s (at most 100000)")
	every := flag.Duration("every", 10*time.Second, "how often resident memory is sampled")
	tolerance := flag.Float64("tolerance", 0.05, "largest growth of resident memory allowed, as a share")
	out := flag.String("out", "", "also keep the generator's Run document in this file (default: a temporary one)")
	flag.Parse()
	switch {
	case *stampede == "" || *target == "":
		fmt.Fprintln(os.Stderr, "soak: -stampede and -target are required (bench/peers/soak.sh builds them)")
		return 2
	case *duration < time.Minute || *duration > 24*time.Hour:
		fmt.Fprintln(os.Stderr, "soak: -duration must be between 1m and 24h")
		return 2
	case *rate < 1 || *rate > 100000:
		fmt.Fprintln(os.Stderr, "soak: -rate must be between 1 and 100000")
		return 2
	case *every < time.Second || *every > *duration/6:
		fmt.Fprintln(os.Stderr, "soak: -every must be at least 1s and give 6 samples or more")
		return 2
	}
	addr, err := freeLoopback()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 1
	}
	tgt := exec.CommandContext(ctx, *target, "-addr", addr)
	tgt.Stderr = os.Stderr
	if err := tgt.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "soak: target:", err)
		return 1
	}
	defer func() { tgt.Process.Kill(); tgt.Wait() }()
	if err := waitListening(ctx, addr); err != nil {
		fmt.Fprintln(os.Stderr, "soak: target:", err)
		return 1
	}
	runJSON := *out
	if runJSON == "" {
		dir, err := os.MkdirTemp("", "soak")
		if err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		runJSON = dir + "/run.json"
	}
	gen := exec.CommandContext(ctx, *stampede, "run", "--url", "http://"+addr+"/", "--rate", strconv.Itoa(*rate),
		"--duration", duration.String(), "--max-vus", "500", "--no-store", "--no-default-slo", "-q",
		"--out", "json="+runJSON)
	gen.Stdout, gen.Stderr = os.Stderr, os.Stderr
	gen.WaitDelay = 10 * time.Second
	if err := gen.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "soak: stampede:", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- gen.Wait() }()
	fmt.Printf("soak: %d iterations/s for %s against %s, resident memory every %s\n", *rate, *duration, addr, *every)
	fmt.Printf("%8s %10s\n", "t (s)", "RSS (MB)")
	start := time.Now()
	var ts, rss []float64
	tick := time.NewTicker(*every)
	defer tick.Stop()
	var genErr error
loop:
	for {
		select {
		case genErr = <-done:
			break loop
		case <-tick.C:
			mb, err := residentMB(gen.Process.Pid)
			if err != nil {
				continue
			}
			t := time.Since(start).Seconds()
			ts, rss = append(ts, t), append(rss, mb)
			fmt.Printf("%8.0f %10.1f\n", t, mb)
		}
	}
	var exit *exec.ExitError
	if genErr != nil && !(errors.As(genErr, &exit) && exit.ExitCode() == 1) {
		// Exit 1 is a verdict (an SLO, an inconclusive run); anything
		// else is a failure of the run.
		fmt.Fprintln(os.Stderr, "soak: stampede:", genErr)
		return 1
	}
	kept(runJSON, *rate, *duration)
	return judge(ts, rss, *tolerance)
}

// kept prints whether the generator held the asked rate: requests/s
// against the rate, dropped iterations, start lag and its own verdict on
// saturation, from its Run document.
func kept(path string, rate int, d time.Duration) {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Println("soak: no Run document:", err)
		return
	}
	var r result.Run
	if err := json.Unmarshal(b, &r); err != nil {
		fmt.Println("soak: Run document:", err)
		return
	}
	s, g := r.Summary, r.Generator
	asked := float64(rate) * d.Seconds()
	fmt.Printf("soak: %d requests (%.1f%% of %.0f asked), %.0f/s, %d dropped iterations, %d VUs at most, start lag p99 %.1f ms, errors %.2f%%, generator CPU %.0f%%, max RSS %.1f MB\n",
		s.Requests, 100*float64(s.Requests)/asked, asked, s.RPS, s.Dropped, s.MaxVUs, s.StartLag.P99, 100*s.ErrorRate, g.CPUPercent, g.MaxRSSMB)
	if g.Saturated {
		fmt.Println("soak: the generator did not keep the rate:", g.Reason)
	} else if s.Dropped > 0 {
		fmt.Println("soak: the generator did not keep the rate: it dropped iterations")
	} else {
		fmt.Println("soak: the generator kept the rate")
	}
}

// judge compares the last quarter's mean with the mean of the samples
// from 10% to 25% of the run (after the warm-up), and tests the trend
// from 10% on. It prints the verdict; 0 when flat.
func judge(ts, rss []float64, tol float64) int {
	if len(ts) < 6 {
		fmt.Println("soak: too few samples to judge")
		return 1
	}
	end := ts[len(ts)-1]
	var early, late []float64
	var xs, ys []float64
	for i, t := range ts {
		switch {
		case t >= 0.1*end && t < 0.25*end:
			early = append(early, rss[i])
		case t >= 0.75*end:
			late = append(late, rss[i])
		}
		if t >= 0.1*end {
			xs, ys = append(xs, t), append(ys, rss[i])
		}
	}
	if len(early) == 0 || len(late) == 0 {
		fmt.Println("soak: too few samples to judge")
		return 1
	}
	if first, lo, hi, ok := afterMinute(ts, rss); ok {
		fmt.Printf("soak: resident memory at the first minute %.1f MB; after it min %.1f, max %.1f, last %.1f MB (band %.1f%% of the first minute's)\n",
			first, lo, hi, rss[len(rss)-1], 100*(hi-lo)/first)
	}
	e, l := mean(early), mean(late)
	tr := stats.TrendTest(xs, ys, 0.99)
	slope, p := tr.Slope, tr.P
	growth := (l - e) / e
	trendGrowth := slope * (xs[len(xs)-1] - xs[0]) / e
	fmt.Printf("soak: resident memory %.1f MB after the warm-up, %.1f MB in the last quarter (%+.1f%%); trend %+.3f MB/min (p=%.2g, %+.1f%% over the run)\n",
		e, l, 100*growth, 60*slope, p, 100*trendGrowth)
	if growth > tol || (p < 0.01 && trendGrowth > tol) {
		fmt.Printf("soak: FAIL: the generator's memory grew more than %.0f%%\n", 100*tol)
		return 1
	}
	fmt.Printf("soak: PASS: flat within %.0f%%\n", 100*tol)
	return 0
}

// afterMinute is the first sample at or past one minute, and the least
// and greatest samples from it on.
func afterMinute(ts, rss []float64) (first, lo, hi float64, ok bool) {
	for i, t := range ts {
		if t < 60 {
			continue
		}
		if !ok {
			first, lo, hi, ok = rss[i], rss[i], rss[i], true
		}
		lo, hi = min(lo, rss[i]), max(hi, rss[i])
	}
	return first, lo, hi, ok
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// residentMB reads VmRSS of a process from /proc.
func residentMB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseFloat(f[0], 64)
				return kb / 1024, err
			}
		}
	}
	return 0, errors.New("no VmRSS")
}

func freeLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListening(ctx context.Context, addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not listening on %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond) // polling a child's port: nothing to wait on
	}
}
