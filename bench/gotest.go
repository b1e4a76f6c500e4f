package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
)

// DefaultCount is how many times `go test` runs each benchmark: enough for
// a 95% interval of the median and for the U test to see a difference.
const DefaultCount = 10

// GoOptions configure RunGo.
type GoOptions struct {
	Packages  []string // default ["."]
	Bench     string   // benchmark regexp, default "."
	Count     int      // default DefaultCount
	Benchtime string   // go test -benchtime (e.g. "1s", "100x"); empty for go's default
	Dir       string   // working directory; empty for the current one
	Label     string   // the set's label; default "go test"
	// Output receives `go test`'s output as it is produced; nil discards it.
	Output io.Writer
	// GoTest runs the go command; nil runs the real one.
	GoTest GoTest
}

// GoTest runs `go` with args in dir, writing its standard output and
// standard error to out, and returns when it exits.
type GoTest func(ctx context.Context, dir string, args []string, out io.Writer) error

// RunGoCommand is the real GoTest.
func RunGoCommand(ctx context.Context, dir string, args []string, out io.Writer) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	return cmd.Run()
}

// Args are the arguments RunGo passes to the go command.
func (o GoOptions) Args() []string {
	o = o.withDefaults()
	args := []string{"test", "-run", "^$", "-bench", o.Bench, "-benchmem", "-count", strconv.Itoa(o.Count)}
	if o.Benchtime != "" {
		args = append(args, "-benchtime", o.Benchtime)
	}
	return append(args, o.Packages...)
}

func (o GoOptions) withDefaults() GoOptions {
	if len(o.Packages) == 0 {
		o.Packages = []string{"."}
	}
	if o.Bench == "" {
		o.Bench = "."
	}
	if o.Count == 0 {
		o.Count = DefaultCount
	}
	if o.Label == "" {
		o.Label = "go test"
	}
	if o.GoTest == nil {
		o.GoTest = RunGoCommand
	}
	return o
}

// ErrGoTest reports a `go test` run that failed (a build error, a failing
// or panicking benchmark).
var ErrGoTest = errors.New("go test failed")

// RunGo runs `go test -run '^$' -bench REGEX -benchmem -count N packages`,
// streaming its output to o.Output, and reads the results. When go test
// fails or ctx is cancelled, the results printed until then are returned
// with the error, so an interrupted run still reports what it measured.
func RunGo(ctx context.Context, o GoOptions) (*Set, error) {
	if o.Count < 0 {
		return nil, fmt.Errorf("%w: count must be ≥ 0, got %d", ErrInvalid, o.Count)
	}
	o = o.withDefaults()
	var buf bytes.Buffer
	out := io.Writer(&buf)
	if o.Output != nil {
		out = io.MultiWriter(&buf, o.Output)
	}
	runErr := o.GoTest(ctx, o.Dir, o.Args(), out)
	set := NewSet(o.Label)
	// go test prints more than results ("--- SKIP" after a benchmark's
	// name, logs): a line that does not parse is skipped with a warning.
	for _, err := range set.readBenchfmt(&buf, o.Label) {
		set.Warnings = append(set.Warnings, "skipped "+err.Error())
	}
	switch {
	case ctx.Err() != nil:
		return set, ctx.Err()
	case runErr != nil:
		return set, fmt.Errorf("%w: %v", ErrGoTest, runErr)
	case set.Len() == 0:
		return set, fmt.Errorf("%w: no benchmark matched %q", ErrGoTest, o.Bench)
	}
	return set, nil
}
