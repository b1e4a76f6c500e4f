// Command zoo serves one service of the fault zoo (internal/zoo) on a
// loopback port until interrupted:
//
//	zoo --service cpu-own --addr 127.0.0.1:0
//	zoo --list
//
// It prints "zoo listening on http://ADDR (service NAME, pid N)" once it
// accepts requests.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/stampede-perf/stampede/internal/zoo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("zoo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("service", "", "the service to serve (see --list)")
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback; port 0 picks a free one)")
	list := fs.Bool("list", false, "list the services and what each plants")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		for _, s := range zoo.Services() {
			fmt.Fprintf(stdout, "%-18s %s\n", s.Name, s.About)
		}
		return 0
	}
	if *name == "" {
		fmt.Fprintln(stderr, "zoo: --service NAME is required (see --list)")
		return 2
	}
	err := zoo.Serve(ctx, *name, *addr, zoo.Options{Stdout: stdout, Logf: func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) }})
	if err != nil {
		fmt.Fprintln(stderr, "zoo:", err)
		return 1
	}
	return 0
}
