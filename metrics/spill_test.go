package metrics

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
)

// collect feeds samples to a collector made with cfg the way its goroutine
// does — drain, then close every window two seconds old — and checks at
// each step that no more than keep+batch closed windows are in memory.
// It returns the collector before Finish.
func collect(t *testing.T, cfg Config, samples []Sample) *Collector {
	t.Helper()
	t0 := time.Unix(1000, 0)
	cfg.Layout, cfg.Start, cfg.Now = layout2(), t0, func() time.Time { return t0 }
	c := NewCollector(cfg)
	pushAll(c, samples, 2, 100, func(last *Sample) {
		c.drainAll()
		c.closeWindows(last.EndNS/int64(time.Second)-2, 0)
		if c.keep > 0 && c.spillErr == nil && len(c.series) > c.keep+max(1, c.keep/5) {
			t.Fatalf("%d closed windows in memory, keeping %d", len(c.series), c.keep)
		}
	})
	return c
}

// encode is the Run document's bytes.
func encode(t *testing.T, r *result.Run) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := result.Encode(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Windows spilled to disk come back equal to the ones kept in memory:
// the same series, the same Run JSON byte for byte, the same summary.
func TestSpilledWindowsReadBackEqual(t *testing.T) {
	samples, _ := randomSamples(30000, 7, 60)
	dir := t.TempDir()
	mem := collect(t, Config{KeepWindows: -1}, samples)
	disk := collect(t, Config{KeepWindows: 5, SpillDir: dir}, samples)
	if disk.spill == nil || disk.spill.n < 40 {
		t.Fatalf("the collector keeping 5 windows spilled none or few: %+v", disk.spill)
	}
	if mem.spill != nil {
		t.Fatal("the collector keeping every window spilled some")
	}
	// The file is unlinked while open: nothing is left in the directory.
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("spill file left in %s: %v", dir, ents)
	}
	var a, b result.Run
	mem.Finish(&a, 60)
	disk.Finish(&b, 60)
	if len(b.Series) != 60 || len(b.Warnings) != 0 {
		t.Fatalf("series of %d windows, warnings %q", len(b.Series), b.Warnings)
	}
	if !reflect.DeepEqual(a.Series, b.Series) {
		for i := range a.Series {
			if !reflect.DeepEqual(a.Series[i], b.Series[i]) {
				t.Fatalf("window %d differs:\n%+v\n%+v", i, a.Series[i], b.Series[i])
			}
		}
		t.Fatal("series differ")
	}
	if !bytes.Equal(encode(t, &a), encode(t, &b)) {
		t.Fatal("the Run JSON with spilled windows differs from the one kept in memory")
	}
	sa, errA := Summarize(a.Series)
	sb, errB := Summarize(b.Series)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if !reflect.DeepEqual(sa, sb) {
		t.Fatalf("summaries differ:\n%+v\n%+v", sa, sb)
	}
	if sb.Summary.Requests != 30000 {
		t.Fatalf("summary of the spilled run counts %d requests of 30000", sb.Summary.Requests)
	}
}

// A run interrupted midway, with most of its windows on disk, still has
// every window in its Run: each second up to the interrupt, their
// requests adding up to every sample recorded.
func TestInterruptedRunKeepsSpilledWindows(t *testing.T) {
	samples, _ := randomSamples(20000, 3, 40)
	cut := len(samples) * 3 / 4 // interrupted at about 30 s, mid-window
	c := collect(t, Config{KeepWindows: 2, SpillDir: t.TempDir()}, samples[:cut])
	if c.spill == nil || c.spill.n == 0 {
		t.Fatal("nothing was spilled")
	}
	endS := float64(samples[cut-1].EndNS)/1e9 + 0.3
	r := result.Run{Version: result.Version}
	c.Finish(&r, endS)
	doc := encode(t, &r)
	back, err := result.Decode(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if want := int(endS) + 1; len(back.Series) != want {
		t.Fatalf("%d windows written, want %d (one per second up to %.1f s)", len(back.Series), want, endS)
	}
	var n int64
	for i, w := range back.Series {
		if w.TS != float64(i) {
			t.Fatalf("window %d starts at %g s", i, w.TS)
		}
		n += w.Requests
	}
	if n != int64(cut) || back.Summary.Requests != int64(cut) {
		t.Fatalf("windows hold %d requests, summary %d, recorded %d", n, back.Summary.Requests, cut)
	}
}

// Where no file can be made the windows stay in memory: the series is
// complete and the Run says why nothing was spilled.
func TestSpillFailureKeepsWindowsInMemory(t *testing.T) {
	samples, _ := randomSamples(5000, 5, 20)
	missing := filepath.Join(t.TempDir(), "gone")
	c := collect(t, Config{KeepWindows: 2, SpillDir: missing}, samples)
	if c.spillErr == nil {
		t.Fatal("spilling into a missing directory did not fail")
	}
	var r result.Run
	c.Finish(&r, 20)
	if len(r.Series) != 20 {
		t.Fatalf("%d windows, want 20", len(r.Series))
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "kept in memory") {
		t.Fatalf("warnings %q", r.Warnings)
	}
}
