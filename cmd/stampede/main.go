// Command stampede is a performance-testing system: load tests, the whole
// test protocol, benchmarks, history and reports. See README.md.
package main

import (
	"context"
	"os"

	"github.com/stampede-perf/stampede/internal/cli"
	"github.com/stampede-perf/stampede/internal/selfmem/boot"
)

func main() {
	// The initialisers are done. run goes on dropping start-up's pages
	// through its command line and the plan's compilation, until it trims
	// before its VUs start (see selfmem); every other command stops here.
	if !boot.Load {
		boot.Done()
	}
	os.Exit(cli.Run(context.Background(), os.Stdin, os.Stdout, os.Stderr, os.Args[1:]))
}
