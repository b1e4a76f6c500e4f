package image

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadOnlyImage(t *testing.T) {
	const exe = "/usr/bin/stampede"
	for _, c := range []struct {
		line string
		ok   bool
		lo   uint64
	}{
		{"00400000-01998000 r-xp 00000000 fe:00 10633714    /usr/bin/stampede", true, 0x400000},
		{"01998000-03096000 r--p 01598000 fe:00 10633714    /usr/bin/stampede", true, 0x1998000},
		{"01998000-03096000 r--p 01598000 fe:00 10633714    /usr/bin/stampede  ", true, 0x1998000},
		{"03096000-03199000 rw-p 02c96000 fe:00 10633714    /usr/bin/stampede", false, 0},         // written: never dropped
		{"7f00-8f00 r-xp 00026000 fe:00 326269    /usr/lib/x86_64-linux-gnu/libc.so.6", false, 0}, // not ours
		{"7f00-8f00 r--s 00000000 fe:00 1    /usr/bin/stampede", false, 0},                        // shared
		{"7f00-8f00 r--p 00000000 fe:00 1    /usr/bin/stampede (deleted)", false, 0},              // another file
		{"35b2f8800000-35b2f9800000 rw-p 00000000 00:00 0", false, 0},
		{"zz-8f00 r-xp 0 fe:00 1 /usr/bin/stampede", false, 0},
		{"8f00-7f00 r-xp 0 fe:00 1 /usr/bin/stampede", false, 0},
		{"8f00 r-xp 0 fe:00 1 /usr/bin/stampede", false, 0},
		{"11112222333344445-ffffffffffffffffff r-xp 0 fe:00 1 /usr/bin/stampede", false, 0},
		{"", false, 0},
	} {
		s, ok := readOnlyImage(c.line, exe)
		if ok != c.ok || s.Lo != c.lo {
			t.Errorf("%q: %#x %v, want %#x %v", c.line, s.Lo, ok, c.lo, c.ok)
		}
	}
	// A path with spaces is one field.
	if s, ok := readOnlyImage("1000-2000 r-xp 0 fe:00 1   /opt/my tools/stampede", "/opt/my tools/stampede"); !ok || s.Size() != 0x1000 {
		t.Errorf("a path with spaces: %+v %v", s, ok)
	}
}

// The test binary's own image: after start-up it holds pages it no longer
// uses; Drop lets them go, and the process runs on.
func TestDropLetsTheImageGo(t *testing.T) {
	before := rssFileKB(t)
	n, err := Drop()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFileKB(t)
	if n <= 0 || after >= before {
		t.Fatalf("Drop let go of %d bytes of image; file-backed resident memory %d kB before, %d kB after: want less", n, before, after)
	}
	// Code and read-only data come back on use: the test goes on running.
	if s := strconv.Itoa(len(strings.Repeat("x", 10))); s != "10" {
		t.Fatal(s)
	}
}

// rssFileKB is the process's file-backed resident memory.
func rssFileKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// DropEvery drops until stopped, and stop ends it for good.
func TestDropEveryDropsUntilStopped(t *testing.T) {
	drops := make(chan struct{}, 1)
	stop := every(time.Millisecond, 0, func(spans []Span) bool {
		if len(spans) == 0 {
			t.Error("no spans")
		}
		select {
		case drops <- struct{}{}:
		default:
		}
		return true
	})
	for range 3 {
		<-drops
	}
	stop()
	stop() // a second stop is harmless
	select {
	case <-drops: // a drop that was under way when stop was called
	default:
	}
	select {
	case <-drops:
		t.Fatal("a drop after stop returned")
	default:
	}
	// A failing drop ends the loop; stop still returns.
	failed := make(chan struct{})
	stop = every(time.Millisecond, 0, func([]Span) bool { close(failed); return false })
	<-failed
	stop()
	// And the real one lets pages go while it runs.
	before := rssFileKB(t)
	stop = DropEvery(time.Millisecond, 0, 0)
	deadline := time.Now().Add(10 * time.Second)
	for rssFileKB(t) >= before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	stop()
	if after := rssFileKB(t); after >= before {
		t.Fatalf("file-backed resident memory %d kB before, %d kB while dropping: want less", before, after)
	}
}

// The file-backed resident memory statm reports is /proc/self/status's.
func TestFileResident(t *testing.T) {
	n, ok := fileResident()
	if !ok || n <= 0 {
		t.Fatalf("fileResident() = %d, %v", n, ok)
	}
	// Both move as the process runs: they agree within a few megabytes.
	if kb := int64(rssFileKB(t)); n/1024 < kb-4096 || n/1024 > kb+4096 {
		t.Fatalf("statm says %d kB file-backed, status %d kB", n/1024, kb)
	}
}

// After Evict, a page of the executable that nothing maps comes back
// alone when touched: not with the 64 KB around it that fault-around
// maps from the page cache, nor the 100-200 KB of a large folio (what a
// drop alone leaves: a 50-VU run's binary pages came back at 15-20 MB,
// 6-7 MB since). The test maps the executable once more, read at random
// as Evict marks the image, and touches its last third (debugging data
// and tables the running code does not pin), one page every 64 KB,
// before and after Evict.
func TestEvictBringsPagesBackAlone(t *testing.T) {
	if !uncaches {
		t.Skip("posix_fadvise is not used on this architecture")
	}
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip(err)
	}
	defer syscall.Munmap(m)
	if err := syscall.Madvise(m, syscall.MADV_RANDOM); err != nil {
		t.Fatal(err)
	}
	touch := func() float64 {
		before := rssFileKB(t)
		n := 0
		for off := len(m) / 3 * 2 &^ 4095; off < len(m); off += 64 << 10 {
			sink += m[off]
			n++
		}
		after := rssFileKB(t)
		_ = syscall.Madvise(m, syscall.MADV_DONTNEED)
		if n == 0 {
			t.Skip("an executable too small to touch")
		}
		return float64(after-before) / float64(n)
	}
	before := touch()
	if _, err := Evict(); err != nil {
		t.Fatal(err)
	}
	after := touch()
	t.Logf("resident a page touched: %.1f kB before Evict, %.1f kB after", before, after)
	if before < 16 {
		t.Skipf("the page cache held little around the pages touched (%.1f kB a page): nothing to compare", before)
	}
	// Pages the kernel could not let go at once (a batch it still
	// holds) keep a little of fault-around: one 4 kB page each for most.
	if after*2 > before {
		t.Fatalf("each page touched brought back %.1f kB after Evict, %.1f kB before: want at most half", after, before)
	}
}

// sink keeps the touches from being optimised away.
var sink byte
