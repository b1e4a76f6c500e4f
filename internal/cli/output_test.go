package cli

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
)

// Every command that writes an output writes a FIFO through instead of
// replacing it with a regular file.
func TestOutputsWriteFIFOsThrough(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	runFile := writeFaultyRun(t)
	for _, tc := range []struct {
		name string
		args func(out string) []string
		want string // in what the reader gets
	}{
		{"run --out", func(o string) []string {
			return []string{"run", "--url", srv.URL, "--rate", "5", "--duration", "1s", "--no-store", "-q", "--out", "json=" + o}
		}, `"version": 1`},
		{"run --report", func(o string) []string {
			return []string{"run", "--url", srv.URL, "--rate", "5", "--duration", "1s", "--no-store", "-q", "--report", "md=" + o}
		}, "#"},
		{"report -o", func(o string) []string { return []string{"report", runFile, "--format", "md", "-o", o} }, "#"},
		{"compare --out", func(o string) []string { return []string{"compare", runFile, runFile, "--out", "json=" + o} }, `"rows"`},
		{"merge --out", func(o string) []string { return []string{"merge", runFile, "--out", "json=" + o} }, `"version": 1`},
		{"bench --out", func(o string) []string {
			return []string{"bench", "-N", "--runs", "2", "--no-store", "--out", "json=" + o, "--", "true"}
		}, `"benchmarks"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skip("no FIFOs here:", err)
			}
			got := make(chan string, 1)
			go func() {
				f, err := os.Open(fifo) // blocks until the writer opens it
				if err != nil {
					got <- err.Error()
					return
				}
				b, _ := io.ReadAll(f)
				f.Close()
				got <- string(b)
			}()
			res := runCLI(t, context.Background(), tc.args(fifo)...)
			if res.code != 0 {
				// Let the reader go if the command never opened the FIFO.
				if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			select {
			case s := <-got:
				if !strings.Contains(s, tc.want) {
					t.Errorf("the reader got %.200q, want %q in it", s, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Error("nothing was written into the FIFO")
				if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close() // let the reader go
				}
			}
			if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
				t.Errorf("the FIFO was replaced: %v %v", fi.Mode(), err)
			}
		})
	}
}

// An output that cannot be written (a full device) is a one-line error and
// exit 2, never 1 (kept for failed gates); the device stays a device. The
// test makes its own /dev/full (root only), so a regression can only
// replace that copy.
func TestOutputWriteErrorExit2(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	if err := syscall.Mknod(full, syscall.S_IFCHR|0o666, 1<<8|7); err != nil {
		t.Skip("cannot make a device node (not root?):", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	runFile := writeFaultyRun(t)
	for _, args := range [][]string{
		{"run", "--url", srv.URL, "--rate", "5", "--duration", "1s", "--no-store", "-q", "--out", "json=" + full},
		{"report", runFile, "--format", "md", "-o", full},
		{"compare", runFile, runFile, "--out", "json=" + full},
		{"merge", runFile, "--out", "json=" + full},
		{"bench", "-N", "--runs", "2", "--no-store", "--out", "json=" + full, "--", "true"},
	} {
		res := runCLI(t, context.Background(), args...)
		errLine := strings.TrimSpace(res.stderr)
		if i := strings.LastIndex(errLine, "\n"); i >= 0 {
			errLine = errLine[i+1:]
		}
		if res.code != ExitInvalid || !strings.Contains(errLine, "cannot write "+full+": no space left on device") {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line naming the file", args[0], res.code, res.stderr)
		}
		if fi, _ := os.Lstat(full); fi.Mode()&fs.ModeCharDevice == 0 {
			t.Fatalf("%s: the device became %v", args[0], fi.Mode())
		}
	}
}

// "-" is standard output: the Run document alone, the summary on stderr.
func TestOutputDashIsStdout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	res := runCLI(t, context.Background(), "run", "--url", srv.URL, "--rate", "5", "--duration", "1s", "--no-store", "-q", "--out", "json=-")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	r, err := result.Decode(strings.NewReader(res.stdout))
	if err != nil || r.Summary.Requests == 0 {
		t.Fatalf("stdout is not the run: %v\n%s", err, res.stdout)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Error(`a file named "-" was written`)
	}
	if !strings.Contains(res.stderr, "requests") && !strings.Contains(res.stderr, "REQUESTS") && !strings.Contains(strings.ToLower(res.stderr), "p95") {
		t.Errorf("the summary is not on stderr:\n%s", res.stderr)
	}
}

// A new output is private to its owner, as the history is.
func TestOutputsArePrivate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.html")
	res := runCLI(t, context.Background(), "report", writeFaultyRun(t), "-o", out)
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("report mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

// bench --out json=- puts the Run document alone on standard output.
func TestBenchOutputDashIsStdout(t *testing.T) {
	code, out, errOut := benchRun(t, context.Background(), "bench", "-N", "--runs", "2", "--no-store", "--out", "json=-", "--", "true")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	r, err := result.Decode(strings.NewReader(out))
	if err != nil || len(r.Benchmarks) != 1 {
		t.Fatalf("stdout is not the run: %v\n%s", err, out)
	}
	if !strings.Contains(errOut, "Benchmark 1: true") {
		t.Errorf("the table is not on stderr:\n%s", errOut)
	}
}
