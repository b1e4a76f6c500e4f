package reliability

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/internal/cli"
	"github.com/stampede-perf/stampede/result"
)

type cliResult struct {
	code           int
	stdout, stderr string
}

// stampede runs the command line in-process, as cmd/stampede does.
func stampede(t *testing.T, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), strings.NewReader(""), &out, &errb, args)
	return cliResult{code, out.String(), errb.String()}
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readRun(t *testing.T, path string) *result.Run {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := result.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// errorsByKind sums a Run's errors by kind and status ("http_5xx 503").
func errorsByKind(r *result.Run) map[string]int64 {
	m := map[string]int64{}
	for _, e := range r.Errors {
		k := e.Kind
		if e.Status != 0 {
			k += " " + itoa(e.Status)
		}
		m[k] += e.Count
	}
	return m
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func tempPath(t *testing.T, name string) string { return filepath.Join(t.TempDir(), name) }

// stampedeIn runs the command line of the built binary in dir.
func stampedeIn(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	var stdout strings.Builder
	cmd, stderr := childOut(t, dir, &stdout, args...)
	err := cmd.Wait()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}
