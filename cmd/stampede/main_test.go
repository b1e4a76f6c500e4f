package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stampede-perf/stampede/internal/racedetect"
	"github.com/stampede-perf/stampede/internal/selfmem/boot"
)

// TestMain runs main itself when the tests start this binary as the
// command (STAMPEDE_TEST_MAIN=1): it links exactly what cmd/stampede
// links, so its start-up is the command's.
func TestMain(m *testing.M) {
	if os.Getenv("STAMPEDE_TEST_MAIN") == "1" {
		main()
	}
	boot.Done()
	os.Exit(m.Run())
}

type initTrace struct {
	pkg   string
	bytes int64
}

// inits starts this binary with GODEBUG=inittrace=1 and reads, in order,
// the packages whose initialisers ran and what they allocated.
func inits(t *testing.T) []initTrace {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var tr []initTrace
	for _, l := range strings.Split(string(out), "\n") {
		// init PKG @T ms, C ms clock, N bytes, A allocs
		f := strings.Fields(l)
		if len(f) < 10 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		n, err := strconv.ParseInt(f[7], 10, 64)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		tr = append(tr, initTrace{f[1], n})
	}
	if len(tr) < 10 {
		t.Fatalf("only %d initialisers traced: %s", len(tr), out)
	}
	return tr
}

// Package boot drops start-up's pages while the packages initialise, so
// it must initialise before the libraries whose registrations touch the
// most (an import that orders it later, such as fmt or runtime/debug,
// fails this), and the initialisers' garbage stays within bounds.
func TestBootInitialisesEarly(t *testing.T) {
	tr := inits(t)
	const bootPkg = "github.com/stampede-perf/stampede/internal/selfmem/boot"
	booted := false
	var total, own int64
	for _, p := range tr {
		total += p.bytes
		if strings.HasPrefix(p.pkg, "github.com/stampede-perf/stampede/") {
			own += p.bytes
		}
		if p.pkg == bootPkg {
			booted = true
		}
		if !booted && p.bytes >= 32<<10 {
			t.Errorf("%s (%d bytes at init) initialised before %s: its pages pile up before the drops start", p.pkg, p.bytes, bootPkg)
		}
	}
	if !booted {
		t.Fatalf("%s did not initialise", bootPkg)
	}
	// Today about 3.6 MB in all, 0.14 MB of them this module's: a
	// library that registers much more at init, or a package-level
	// value of ours that should be built on first use, fails here.
	if total > 6<<20 {
		t.Errorf("the initialisers allocate %d bytes; want at most %d", total, 6<<20)
	}
	if own > 256<<10 {
		t.Errorf("this module's initialisers allocate %d bytes; want at most %d: build package-level values on first use (sync.OnceValue)", own, 256<<10)
	}
}

// A 50-VU run's peak resident memory stays near what the command holds:
// 17-18 MB on a quiet machine, up to 27 MB with builds and tests beside
// it (the start-up drops wait for the CPU). Before a run let go of its
// binary's page cache (selfmem), its pages came back with the 64-200 KB
// around them that the kernel maps from the cache, and it peaked at
// 31-33 MB on a quiet machine.
// The run is a copy of this binary: this process maps the file too, and
// the kernel keeps the pages a process maps.
func TestRunPeakMemory(t *testing.T) {
	racedetect.Skip(t, "the detector's shadow memory is most of the process")
	if testing.Short() {
		t.Skip("a 3-second load")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "stampede")
	if err := copyFile(exe, cp); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cp, "run", "--url", srv.URL+"/", "--vus", "50", "--duration", "3s", "-q", "--no-store", "--no-default-slo")
	cmd.Env = append(os.Environ(), "STAMPEDE_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	peakKB := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	t.Logf("peak RSS %.1f MB", float64(peakKB)/1024)
	if peakKB > 28<<10 {
		t.Fatalf("peak RSS %.1f MB at 50 VUs; want at most 28 MB (17-18 MB on a quiet machine since a run lets go of its binary's page cache)", float64(peakKB)/1024)
	}
}

// copyFile copies the executable src to dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
