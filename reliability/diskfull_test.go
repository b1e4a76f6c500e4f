package reliability

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stampede-perf/stampede/store"
)

// smallDisk mounts a tmpfs of size on a new directory for the test's
// lifetime. Mounting needs root, which CI has; elsewhere the test skips.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a full disk is a small tmpfs, and mounting one needs root (CI runs the suite as root)")
	}
	mnt := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount -t tmpfs -o size=%s: %v: %s", size, err, out)
	}
	t.Cleanup(func() { // before TempDir's removal (cleanups run last first)
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

// fill takes every free byte of the disk holding dir but room, with a
// file it returns.
func fill(t *testing.T, dir string, room int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	if room > 0 {
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(max(st.Size()-room, 0)); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// oneLineError checks that a command failed on a full disk the way every
// command fails on an output it cannot write: exit 2, one line naming the
// path, no panic.
func oneLineError(t *testing.T, what string, res cliResult, path string) {
	t.Helper()
	if res.code != 2 {
		t.Errorf("%s: exit %d, want 2\n%s%s", what, res.code, res.stdout, res.stderr)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(res.stderr), "\n") {
		if strings.HasPrefix(l, "stampede:") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], path) || !strings.Contains(lines[0], "no space left on device") {
		t.Errorf("%s: want one line naming %s and the full disk, got\n%s", what, path, res.stderr)
	}
	if strings.Contains(res.stderr+res.stdout, "panic") || strings.Contains(res.stderr, "goroutine ") {
		t.Errorf("%s panicked:\n%s", what, res.stderr)
	}
}

// Every output on a full disk: a one-line error, exit 2, and nothing left
// behind, not even half a document.
func TestFullDiskOutputs(t *testing.T) {
	a := newArrivals(t)
	room := t.TempDir()
	db := filepath.Join(room, "history.db")
	full := smallDisk(t, "1m")
	filler := fill(t, full, 0)

	// Inputs on a roomy disk: the two parts of one test.
	parts := [2]string{filepath.Join(room, "p1.json"), filepath.Join(room, "p2.json")}
	for i, p := range parts {
		res := stampede(t, "run", "--url", a.srv.URL+"/", "--rate", "20", "--iterations", "20", "--segment", fmt.Sprintf("%d/2", i+1),
			"--store", db, "-q", "--out", "json="+p)
		if res.code != 0 {
			t.Fatalf("part %d: exit %d\n%s%s", i+1, res.code, res.stdout, res.stderr)
		}
	}
	run := func(out ...string) []string {
		return append([]string{"run", "--url", a.srv.URL + "/", "--rate", "20", "--iterations", "10", "--store", db, "-q"}, out...)
	}
	for _, tc := range []struct {
		what string
		file string
		args func(path string) []string
	}{
		{"run --out json=", "run.json", func(p string) []string { return run("--out", "json="+p) }},
		{"run --report html=", "report.html", func(p string) []string { return run("--report", "html="+p) }},
		{"merge --out json=", "merged.json", func(p string) []string { return []string{"merge", parts[0], parts[1], "--out", "json=" + p} }},
		{"compare --out json=", "comparison.json", func(p string) []string { return []string{"compare", parts[0], parts[1], "--out", "json=" + p} }},
		{"bench --out json=", "bench.json", func(p string) []string {
			return []string{"bench", "--no-store", "--runs", "2", "--out", "json=" + p, "--", "true"}
		}},
	} {
		path := filepath.Join(full, tc.file)
		args := tc.args(path)
		oneLineError(t, tc.what, stampede(t, args...), path)
		left, err := os.ReadDir(full)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range left {
			if filepath.Join(full, e.Name()) != filler {
				t.Errorf("%s left %s on the full disk", tc.what, e.Name())
			}
		}
	}
}

// A history on a disk that fills: opening it full is a one-line error
// with exit 2; filling up during a run says the run was not recorded (and
// never that it was); and once there is room again the history is whole:
// the next run is recorded, every stored run readable.
func TestFullDiskHistory(t *testing.T) {
	a := newArrivals(t)
	full := smallDisk(t, "4m")
	db := filepath.Join(full, "history.db")
	runArgs := func(iterations int) []string {
		return []string{"run", "--url", a.srv.URL + "/", "--rate", "50", "--iterations", fmt.Sprint(iterations), "--store", db, "-q",
			"--threshold", "error_rate <= 100%"}
	}
	dir := t.TempDir()
	// Separate processes, as users run them: a run whose writer is gone is
	// recovered by the next stampede that opens the history.
	if res := stampedeIn(t, dir, runArgs(10)...); res.code != 0 && res.code != 1 {
		t.Fatalf("the first run: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	filler := fill(t, full, 0)
	res := stampedeIn(t, dir, runArgs(10)...)
	if res.code != 2 || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 || !strings.Contains(res.stderr, db) ||
		strings.Contains(res.stderr, "panic") {
		t.Errorf("a run on a full history: exit %d, want 2 and one line naming the history\n%s", res.code, res.stderr)
	}

	// Room for the start of a run, not for all of it.
	for _, room := range []int64{120 << 10, 200 << 10} {
		os.Remove(filler)
		filler = fill(t, full, room)
		res = stampedeIn(t, dir, runArgs(200)...)
		if strings.Contains(res.stderr, "panic") {
			t.Fatalf("a run filling its history panicked:\n%s", res.stderr)
		}
		if strings.Contains(res.stderr, "not recorded") && strings.Contains(res.stdout, "recorded as run") {
			t.Errorf("with %d KiB left: the run says it was not recorded, and that it was:\n%s%s", room>>10, res.stdout, res.stderr)
		}
		t.Logf("with %d KiB left for the history: exit %d; %s", room>>10, res.code, strings.TrimSpace(res.stderr))
	}

	os.Remove(filler)
	res = stampedeIn(t, dir, runArgs(10)...)
	if (res.code != 0 && res.code != 1) || !strings.Contains(res.stdout, "recorded as run") {
		t.Fatalf("a run once there is room again: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 2 {
		t.Errorf("the history holds %d runs, want the first and the last at least", len(list))
	}
	for _, e := range list {
		if e.State == store.StateRunning {
			t.Errorf("run %s still running", e.ID)
		}
		run, err := s.Get(context.Background(), e.ID)
		if err != nil {
			t.Errorf("run %s: %v", e.ID, err)
			continue
		}
		if e.State == store.StateFinished && run.Summary.Requests != 10 && run.Summary.Requests != 200 {
			t.Errorf("run %s: %d requests", e.ID, run.Summary.Requests)
		}
	}
}
