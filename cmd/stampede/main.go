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
	boot.Done() // the initialisers are done (see selfmem)
	os.Exit(cli.Run(context.Background(), os.Stdin, os.Stdout, os.Stderr, os.Args[1:]))
}
