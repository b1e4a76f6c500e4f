// Package cli is the stampede command line: flags, subcommands, exit codes
// and terminal progress. Everything here is reachable through Run, which
// takes the process's streams and arguments so commands are testable end to
// end in-process. Exit codes are chosen here and nowhere else:
//
//	0 passed · 1 a threshold, SLO or regression gate failed ·
//	2 invalid input (usage, plan, file, an output that cannot be
//	written) · 130 interrupted.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitInvalid     = 2
	ExitInterrupted = 130
)

// env is the process state handed to every command.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// doc, when set, is the real standard output: an output named "-"
	// goes there while messages written to stdout go to stderr.
	doc    io.Writer
	getenv func(string) string
	now    func() time.Time
	// interactive reports whether stderr is a terminal (live progress).
	interactive bool
	// self is how to start this program again (the demo runs its shop in
	// a child process): the executable and extra environment.
	self func() (string, []string, error)
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// invalid wraps err as invalid input (exit 2).
func invalid(err error) error { return &exitError{code: ExitInvalid, err: err} }

// invalidf is invalid with a formatted message.
func invalidf(format string, a ...any) error { return invalid(fmt.Errorf(format, a...)) }

// failed marks a failed gate (exit 1); msg may be empty when the summary
// already said why.
func failed(msg string) error {
	if msg == "" {
		return &exitError{code: ExitFailed}
	}
	return &exitError{code: ExitFailed, err: errors.New(msg)}
}

// interrupted is exit 130 after results were written.
var errInterrupted = &exitError{code: ExitInterrupted, err: errors.New("interrupted: partial results were written")}

// Run executes the stampede command line and returns the process exit code.
// SIGINT and SIGTERM cancel the context handed to commands; a second signal
// is left to the default handler.
func Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now,
		interactive: isTerminal(stderr),
		self: func() (string, []string, error) {
			exe, err := os.Executable()
			return exe, nil, err
		}}
	return run(ctx, e, args)
}

func run(ctx context.Context, e *env, args []string) int {
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var xe *exitError
	if errors.As(err, &xe) {
		if xe.err != nil && xe.err.Error() != "" {
			fmt.Fprintf(e.stderr, "stampede: %s\n", firstLine(xe.err.Error(), xe.code))
		}
		return xe.code
	}
	// Cobra's own errors are usage errors: unknown flag, bad arguments.
	fmt.Fprintf(e.stderr, "stampede: %s (see 'stampede --help')\n", err)
	return ExitInvalid
}

// firstLine keeps invalid-input messages to the lines they were given;
// validation errors are already one problem a line.
func firstLine(s string, code int) string {
	if code == ExitInvalid {
		return s
	}
	return strings.TrimRight(s, "\n")
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "stampede",
		Short: "Performance testing: load, stress, soak, benchmarks, history and analysis in one tool",
		Long: `stampede measures whether a system is fast enough and what breaks first.

  stampede demo                      run the quick protocol against the built-in shop
  stampede run plan.yaml             run a load test from a plan
  stampede run --url URL --rate 500  ad-hoc open-model load
  stampede test plan.yaml            the whole protocol: baseline, load, stress, soak…`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return invalidf("%s: %v (see 'stampede %s --help')", c.Name(), err, c.Name())
	})
	for _, add := range commands {
		root.AddCommand(add(e))
	}
	return root
}

// commands lists every subcommand constructor; each lives in its own file.
var commands = []func(*env) *cobra.Command{
	newRunCmd,
	newTestCmd,
	newMergeCmd,
	newDemoCmd,
	newBenchCmd,
	newHistoryCmd,
	newBaselineCmd,
	newCompareCmd,
	newReportCmd,
	newImportCmd,
	newServeCmd,
	newMonitorCmd,
	newAgentCmd,
	newKubernetesCmd,
	newVersionCmd,
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintln(e.stdout, "stampede", version)
			return nil
		},
	}
}

// version is the release this binary was built as.
var version = "0.1.0-dev"

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
