// Package devprobe measures the ceilings of this machine's devices that
// the bandwidth rules judge against when a plan does not state them.
//
// The disk's ceiling is sequential write throughput with fsync: a file
// in the given directory is written in 1 MiB blocks, synced every 4 MiB,
// until MaxBytes are written or MaxTime has passed, then removed; the
// throughput is the bytes over the time including the syncs, so a page
// cache does not pass for a disk. It is a short, bounded estimate — a
// few seconds and a few tens of MB — of what fio would measure at
// length. Loopback has no network ceiling to measure.
//
// A Cache keeps one probe per device (the st_dev of the directory) for a
// run: the phases of a test, or loads side by side, that name
// directories on one device measure it once.
package devprobe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// Bounds of the disk probe.
const (
	MaxBytes  = 32 << 20        // written at most
	MaxTime   = 3 * time.Second // spent at most (a block in flight finishes)
	blockSize = 1 << 20
	syncEvery = 4 << 20
)

// Disk is the outcome of a disk probe.
type Disk struct {
	Dir     string  // where the file was written
	Bytes   int64   // written and synced
	Seconds float64 // from the first write to the last sync
	MBps    float64 // Bytes / Seconds, in 10^6 bytes per second
	Device  uint64  // st_dev of Dir (0 when unknown)
	Cached  bool    // taken from a Cache: an earlier probe of the device
}

// Cache holds the probes of a run, one per device. The zero value is
// ready; it is safe for concurrent use, and a probe in progress holds
// the others back (probes running together would measure each other).
type Cache struct {
	mu    sync.Mutex // held through a probe
	byDev map[uint64]Disk
}

// DiskWrite is the probe of dir's device: an earlier one's outcome when
// the cache has it (Cached set, Dir the probed one's), else DiskWrite's
// with MaxBytes and MaxTime, kept when it succeeds.
func (c *Cache) DiskWrite(ctx context.Context, dir string) (Disk, error) {
	dev, err := device(dir)
	if err != nil {
		return Disk{Dir: dir}, fmt.Errorf("disk probe: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.byDev[dev]; ok {
		d.Cached = true
		return d, nil
	}
	d, err := DiskWrite(ctx, dir, MaxBytes, MaxTime, nil) // the device's own time
	if err != nil {
		return d, err
	}
	if c.byDev == nil {
		c.byDev = map[uint64]Disk{}
	}
	c.byDev[dev] = d
	return d, nil
}

// device is the st_dev of dir, which must be a directory.
func device(dir string) (uint64, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return 0, err
	}
	if !fi.IsDir() {
		return 0, fmt.Errorf("%s is not a directory", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, errors.New("no device number on this system")
	}
	return uint64(st.Dev), nil //nolint:unconvert // int32 on some systems
}

// DiskWrite measures sequential write-and-fsync throughput in dir, at
// most maxBytes (≤ MaxBytes) and about maxTime (≤ MaxTime); now is the
// clock (time.Now when nil).
func DiskWrite(ctx context.Context, dir string, maxBytes int64, maxTime time.Duration, now func() time.Time) (Disk, error) {
	if now == nil {
		now = time.Now
	}
	maxBytes = min(max(maxBytes, syncEvery), MaxBytes)
	maxTime = min(max(maxTime, 100*time.Millisecond), MaxTime)
	d := Disk{Dir: dir}
	d.Device, _ = device(dir)
	f, err := os.CreateTemp(dir, ".stampede-diskprobe-*")
	if err != nil {
		return d, fmt.Errorf("disk probe: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, blockSize)
	for i := range block {
		block[i] = byte(i*7 + i>>8) // not all zeros: no filesystem shortcut for them
	}
	start := now()
	var unsynced int64
	for d.Bytes < maxBytes {
		if err := ctx.Err(); err != nil {
			return d, err
		}
		n, err := f.Write(block)
		unsynced += int64(n)
		if err != nil {
			return d, fmt.Errorf("disk probe: %w", err)
		}
		if unsynced >= syncEvery {
			if err := f.Sync(); err != nil {
				return d, fmt.Errorf("disk probe: %w", err)
			}
			d.Bytes += unsynced
			unsynced = 0
			if now().Sub(start) >= maxTime {
				break
			}
		}
	}
	if unsynced > 0 {
		if err := f.Sync(); err != nil {
			return d, fmt.Errorf("disk probe: %w", err)
		}
		d.Bytes += unsynced
	}
	d.Seconds = now().Sub(start).Seconds()
	if d.Seconds <= 0 || d.Bytes == 0 {
		return d, errors.New("disk probe: nothing measured")
	}
	d.MBps = float64(d.Bytes) / d.Seconds / 1e6
	return d, nil
}
