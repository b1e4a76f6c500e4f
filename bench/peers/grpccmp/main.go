// Command grpccmp measures stampede's CPU per gRPC call as a ratio to a
// plain grpc-go client loop on the same loopback server (the approach of
// ghz: a closed loop per connection). It serves grpc.health.v1.Health
// with server reflection in its own process, then runs, in turn for each
// round, `stampede run` with a plan of one grpc step (types by
// reflection) and itself in -plain mode (the generated Health client in a
// loop), each a child process, each with one connection per virtual user.
// A client's CPU is its child's user + system time (wait4's rusage); its
// calls come from stampede's Run JSON and from the loop's own count. It
// prints each round and the medians. Every load is on loopback and ends
// after -duration.
//
//	go build -o /tmp/stampede ./cmd/stampede
//	go run ./bench/peers/grpccmp -stampede /tmp/stampede -duration 5s -conns 10 -rounds 3
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

func main() {
	stampede := flag.String("stampede", "", "the stampede binary")
	duration := flag.Duration("duration", 5*time.Second, "each client's run")
	conns := flag.Int("conns", 10, "connections (virtual users), each a closed loop")
	rounds := flag.Int("rounds", 3, "rounds; each runs both clients")
	plain := flag.String("plain", "", "run the plain grpc-go loop against this address and print its call count")
	flag.Parse()
	if *duration <= 0 || *duration > 10*time.Minute || *conns < 1 || *conns > 1000 || *rounds < 1 || *rounds > 20 {
		fail("-duration must be in (0, 10m], -conns in [1, 1000], -rounds in [1, 20]")
	}
	if *plain != "" {
		fmt.Println(plainLoop(*plain, *duration, *conns))
		return
	}
	if *stampede == "" {
		fail("set -stampede to the stampede binary")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	go srv.Serve(ln)
	defer srv.Stop()
	addr := ln.Addr().String()

	dir, err := os.MkdirTemp("", "grpccmp")
	check(err)
	defer os.RemoveAll(dir)
	planFile := filepath.Join(dir, "plan.yaml")
	check(os.WriteFile(planFile, []byte(fmt.Sprintf(`name: grpc health
target: {timeout: 5s}
load: {vus: %d, duration: %s}
scenarios:
  - name: check
    steps:
      - name: Health/Check
        grpc: {url: "grpc://%s", method: grpc.health.v1.Health/Check}
`, *conns, duration.String(), addr)), 0o600))
	self, err := os.Executable()
	check(err)
	var st, pl []float64
	fmt.Printf("%-6s %-10s %10s %12s %14s\n", "round", "client", "calls", "calls/s", "CPU µs/call")
	for r := 1; r <= *rounds; r++ {
		out := filepath.Join(dir, "run.json")
		cpu := run(exec.Command(*stampede, "run", planFile, "-q", "--no-store", "--out", "json="+out))
		calls := stampedeCalls(out)
		st = append(st, report(r, "stampede", calls, cpu, *duration))
		cmd := exec.Command(self, "-plain", addr, "-duration", duration.String(), "-conns", strconv.Itoa(*conns))
		var b strings.Builder
		cmd.Stdout = &b
		cpu = run(cmd)
		n, err := strconv.ParseInt(strings.TrimSpace(b.String()), 10, 64)
		check(err)
		pl = append(pl, report(r, "grpc-go", n, cpu, *duration))
	}
	ms, mp := median(st), median(pl)
	fmt.Printf("\nmedian CPU per call: stampede %.1f µs, plain grpc-go loop %.1f µs, ratio %.2f\n", ms, mp, ms/mp)
}

// run runs cmd to its end and returns its CPU time.
func run(cmd *exec.Cmd) time.Duration {
	cmd.Stderr = os.Stderr
	check(cmd.Run())
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(round int, name string, calls int64, cpu, d time.Duration) float64 {
	if calls == 0 {
		fail(name + " made no calls")
	}
	per := float64(cpu.Microseconds()) / float64(calls)
	fmt.Printf("%-6d %-10s %10d %12.0f %14.1f\n", round, name, calls, float64(calls)/d.Seconds(), per)
	return per
}

// stampedeCalls reads the successful calls of a Run JSON.
func stampedeCalls(path string) int64 {
	b, err := os.ReadFile(path)
	check(err)
	var r struct {
		Steps []struct {
			Requests int64 `json:"requests"`
			Errors   int64 `json:"errors"`
		} `json:"steps"`
	}
	check(json.Unmarshal(b, &r))
	if len(r.Steps) != 1 {
		fail("the run has no step")
	}
	if r.Steps[0].Errors > 0 {
		fail(fmt.Sprintf("stampede's calls failed %d times", r.Steps[0].Errors))
	}
	return r.Steps[0].Requests
}

// plainLoop calls Health/Check in a closed loop on conns connections for
// d and returns the number of calls.
func plainLoop(addr string, d time.Duration, conns int) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var calls atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		check(err)
		defer cc.Close()
		c := healthpb.NewHealthClient(cc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &healthpb.HealthCheckRequest{}
			for ctx.Err() == nil {
				cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := c.Check(cctx, req)
				ccancel()
				if err == nil {
					calls.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return calls.Load()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "grpccmp:", msg)
	os.Exit(2)
}
