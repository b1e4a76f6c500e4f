package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Measurement is what one run of a process cost.
type Measurement struct {
	Wall   time.Duration // from just before the process is started to just after it is reaped
	User   time.Duration
	System time.Duration
	MaxRSS int64 // peak resident set size in bytes (wait4 rusage)
	// RSSFloor is the spawning process's own peak RSS when the command was
	// started. The kernel charges a forked child with its parent's peak
	// (the child shares or copies its memory until exec), so a MaxRSS not
	// above RSSFloor only says the command used at most that much.
	RSSFloor int64
	ExitCode int // 128 + signal number when killed by a signal
}

// Exec runs argv to completion and measures it. A process that ran and
// exited non-zero is a Measurement with its ExitCode and a nil error; the
// error is for a process that could not be started, or was stopped by ctx.
// Implementations must be safe to call again as soon as they return.
type Exec func(ctx context.Context, argv []string) (Measurement, error)

// ErrStart reports a command that could not be started at all.
var ErrStart = errors.New("cannot start command")

// RunProcess is the real Exec: it starts argv[0] with the remaining
// arguments, its standard streams connected to the null device (output is
// not what is measured, and a terminal would slow it down), and reads user
// time, system time and peak memory from the wait4 rusage.
func RunProcess(ctx context.Context, argv []string) (Measurement, error) {
	return runProcess(ctx, argv, nil)
}

// runProcess is RunProcess with the null device already open (nil: open
// it for this run), which saves three opens and closes a run.
func runProcess(ctx context.Context, argv []string, devnull *os.File) (Measurement, error) {
	if len(argv) == 0 {
		return Measurement{}, fmt.Errorf("%w: empty command", ErrStart)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	if devnull != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	}
	var self syscall.Rusage
	var floor int64
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil {
		floor = int64(self.Maxrss) * 1024
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Measurement{}, fmt.Errorf("%w %q: %v", ErrStart, argv[0], err)
	}
	waitErr := cmd.Wait()
	wall := time.Since(start)
	if ctx.Err() != nil {
		return Measurement{}, ctx.Err()
	}
	ps := cmd.ProcessState
	if ps == nil {
		return Measurement{}, fmt.Errorf("%w %q: %v", ErrStart, argv[0], waitErr)
	}
	m := Measurement{Wall: wall, User: ps.UserTime(), System: ps.SystemTime(), ExitCode: ps.ExitCode(), RSSFloor: floor}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		m.ExitCode = 128 + int(ws.Signal())
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		m.MaxRSS = int64(ru.Maxrss) * 1024 // Linux reports kilobytes
	}
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return m, fmt.Errorf("%q: %w", argv[0], waitErr)
	}
	return m, nil
}

// argv is how a command line is run: through shell (`shell -c line`), or,
// when shell is "none", split into words and started directly.
func argv(shell, line string) ([]string, error) {
	if shell == "none" {
		w, err := SplitWords(line)
		if err != nil {
			return nil, err
		}
		if len(w) == 0 {
			return nil, fmt.Errorf("%w: empty command", ErrStart)
		}
		return w, nil
	}
	if shell == "" {
		shell = "sh"
	}
	return []string{shell, "-c", line}, nil
}

// SplitWords splits a command line into words for running it without a
// shell: words are separated by blanks; single quotes keep everything
// literally, double quotes keep blanks and allow \" and \\, and a backslash
// outside quotes escapes the next character. Nothing is expanded.
func SplitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated double quote in %q", s)
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("trailing backslash in %q", s)
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
