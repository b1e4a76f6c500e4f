package devprobe

import (
	"context"
	"math"
	"os"
	"testing"
	"time"
)

// TestDiskWrite writes a real file in a temporary directory: within the
// bounds, the throughput the bytes over the seconds, and nothing left
// behind.
func TestDiskWrite(t *testing.T) {
	dir := t.TempDir()
	d, err := DiskWrite(context.Background(), dir, 8<<20, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes in %.3f s: %.1f MB/s", d.Bytes, d.Seconds, d.MBps)
	if d.Bytes < syncEvery || d.Bytes > 8<<20 || d.Bytes%syncEvery != 0 || d.Dir != dir {
		t.Errorf("probe %+v: want whole 4 MiB syncs, at most 8 MiB, in %s", d, dir)
	}
	if want := float64(d.Bytes) / d.Seconds / 1e6; math.Abs(d.MBps-want) > 1e-9*want || d.MBps <= 0 {
		t.Errorf("MB/s %v, bytes/seconds %v", d.MBps, want)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestDiskWriteBounds: the time bound stops the probe after the first
// sync on a clock that runs fast, the byte bound is capped, and a
// directory that cannot be written is an error, not a panic.
func TestDiskWriteBounds(t *testing.T) {
	dir := t.TempDir()
	var calls int
	fast := func() time.Time { calls++; return time.Unix(0, 0).Add(time.Duration(calls) * time.Second) }
	d, err := DiskWrite(context.Background(), dir, 1<<40, time.Hour, fast)
	if err != nil {
		t.Fatal(err)
	}
	// The start reads the clock once, each sync once more, a second
	// later each time: 3 s (MaxTime) have passed at the third sync.
	if d.Bytes != 3*syncEvery || d.Seconds != 4 {
		t.Errorf("%d bytes: the time bound (capped at %v) did not stop the probe", d.Bytes, MaxTime)
	}
	if _, err := DiskWrite(context.Background(), dir+"/missing/dir", 0, 0, nil); err == nil {
		t.Error("no error for a directory that does not exist")
	}
}

// TestCache probes a device once: a second directory on it gets the
// first probe, a directory on another device (a tmpfs, where there is
// one) its own, and a file or a missing path an error.
func TestCache(t *testing.T) {
	var c Cache
	base := t.TempDir()
	a, b := base+"/a", base+"/b"
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	first, err := c.DiskWrite(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.DiskWrite(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || !second.Cached || second.Dir != a || second.MBps != first.MBps || second.Bytes != first.Bytes || first.Device == 0 || second.Device != first.Device {
		t.Errorf("first %+v, second %+v: want the second from the first's probe", first, second)
	}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dev, err := device("/dev/shm"); err == nil && dev != first.Device {
			other, err := c.DiskWrite(ctx, "/dev/shm")
			if err != nil {
				t.Fatal(err)
			}
			if other.Cached || other.Device != dev || other.Dir != "/dev/shm" {
				t.Errorf("another device: %+v, want a probe of its own", other)
			}
		}
	}
	if err := os.WriteFile(base+"/f", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{base + "/f", base + "/missing"} {
		if _, err := c.DiskWrite(ctx, bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
