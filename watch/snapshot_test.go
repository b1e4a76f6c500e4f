package watch

import (
	"bytes"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/gotext"
)

// TestSnapshotPaceFollowsGoroutines: the pause after a goroutine snapshot
// grows with the goroutines it held, so a large program is snapshotted
// less often; a small one every snapshotEvery.
func TestSnapshotPaceFollowsGoroutines(t *testing.T) {
	take := func() time.Duration {
		var buf bytes.Buffer
		if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
			t.Fatal(err)
		}
		p, err := gotext.Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return snapshotWait(p)
	}
	if w := take(); w != snapshotEvery {
		t.Errorf("a test binary's few goroutines: pause %v, want %v", w, snapshotEvery)
	}
	const parked = 4000
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range parked {
		wg.Add(1)
		go func() { defer wg.Done(); <-stop }()
	}
	defer func() { close(stop); wg.Wait() }()
	// At least the parked goroutines' share, and not far above it: the
	// test binary has a handful of its own.
	want := parked * snapshotPerGoroutine
	if w := take(); w < want || w > want+50*snapshotPerGoroutine {
		t.Errorf("%d parked goroutines: pause %v, want about %v", parked, w, want)
	}
}
