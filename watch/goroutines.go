package watch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/internal/gotext"
	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/result"
)

// Goroutine snapshots: while the CPU profile runs, the watch also takes a
// goroutine profile every snapshotEvery and sums them into one profile
// (kind "goroutines"). The CPU profile sees only time on a CPU; the
// snapshots see every goroutine wherever it is — running, waiting on a
// lock, a channel, a network read of a dependency's answer, or a file
// system call such as fsync — so the analysis can tell where the time of
// a request goes when it is not spent computing (a wall-clock profile, as
// fgprof takes from inside a program, taken here from outside through the
// standard endpoint). Snapshots are fetched in the text form, the
// cheapest for the target (see gotext; its stop of the world is short
// since Go 1.19), and the rate is low; the count is bounded by
// maxSnapshots. Writing the profile costs the target time in proportion
// to its goroutines: measured on 2 cores, 2–18 µs each, 180 ms for ten
// thousand. So the pace follows the goroutine count of the last
// snapshot: the next one waits snapshotPerGoroutine for each (at least
// snapshotEvery). Up to a thousand goroutines (most services, idle
// keep-alive connections included) that is every 100 ms, the rate the
// wait analysis needs to see a few milliseconds per request; beyond, the
// snapshots stay near 5% of the target's time at 5 µs a goroutine
// instead of growing with it. The count, not the fetch's round trip,
// sets the pace: a busy generator's round trips are slow for reasons of
// its own.
const (
	snapshotEvery        = 100 * time.Millisecond
	snapshotPerGoroutine = 100 * time.Microsecond
	maxSnapshots         = 600
	// maxSnapshotProfile bounds one snapshot's encoded size (a program
	// with a million goroutines gives a large profile).
	maxSnapshotProfile = 32 << 20
)

// snapshotGoroutines takes goroutine profiles every snapshotEvery for d
// (at most maxSnapshots) and saves their sum as goroutines.pb.gz. A
// snapshot that fails is skipped; none at all is a warning.
func (w *Watcher) snapshotGoroutines(ctx context.Context, d time.Duration) {
	if w.pprof == nil || w.opts.Dir == "" {
		return
	}
	start := w.opts.Now()
	deadline := time.Now().Add(d)
	var sum *profile.Profile
	taken := 0
	var lastErr error
	wait := snapshotEvery
	t := time.NewTimer(wait)
	defer t.Stop()
	for tries := 0; tries < maxSnapshots && time.Until(deadline) >= wait; tries++ {
		select {
		case <-ctx.Done():
			tries = maxSnapshots
			continue
		case <-t.C:
		}
		p, err := w.goroutineProfile(ctx)
		if err == nil {
			wait = snapshotWait(p)
		}
		t.Reset(wait)
		if err != nil {
			lastErr = err
			continue
		}
		if sum == nil {
			sum = p
		} else if m, err := profile.Merge([]*profile.Profile{sum, p}); err == nil {
			sum = m
		} else {
			lastErr = err
			continue
		}
		taken++
	}
	if taken == 0 {
		if lastErr != nil && ctx.Err() == nil {
			w.warn.add("profile-goroutines", redact.Text(fmt.Sprintf("pprof: goroutine snapshots not taken: %v", lastErr)))
		}
		return
	}
	var buf bytes.Buffer
	if err := sum.Write(&buf); err != nil {
		w.warn.add("profile-goroutines", fmt.Sprintf("pprof: goroutine snapshots not saved: %v", err))
		return
	}
	path := filepath.Join(w.opts.Dir, w.opts.Prefix+"goroutines.pb.gz")
	err := os.MkdirAll(filepath.Dir(path), 0o755)
	if err == nil {
		err = os.WriteFile(path, buf.Bytes(), 0o600)
	}
	if err != nil {
		w.warn.add("profile-goroutines", fmt.Sprintf("pprof: goroutine snapshots not saved: %v", err))
		return
	}
	w.opts.Logf("watch: %d goroutine snapshots saved to %s", taken, path)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.profiles = append(w.profiles, result.Profile{Kind: "goroutines", Path: path, TS: w.ts(start),
		DurationS: w.opts.Now().Sub(start).Seconds(), Snapshots: taken})
}

// snapshotWait is the pause after a snapshot of p: snapshotPerGoroutine
// for each of its goroutines, at least snapshotEvery.
func snapshotWait(p *profile.Profile) time.Duration {
	var n int64
	for _, s := range p.Sample {
		if len(s.Value) > 0 {
			n += s.Value[0]
		}
	}
	return max(snapshotEvery, time.Duration(min(n, 1<<30))*snapshotPerGoroutine)
}

// goroutineProfile fetches one goroutine profile in its text form (see
// gotext: the cheapest for the target) as a profile.
func (w *Watcher) goroutineProfile(ctx context.Context) (*profile.Profile, error) {
	ctx, cancel := context.WithTimeout(ctx, profileTimeout)
	defer cancel()
	data, err := w.pprof.fetch(ctx, "/goroutine?debug=1", maxSnapshotProfile)
	if err != nil {
		return nil, err
	}
	return gotext.Parse(data)
}

// saveGoroutines takes one goroutine profile (text form) and saves it as
// file under Dir, kind "goroutines_start" or "goroutines_end": the two
// tell which stacks grew over the run (a goroutine leak). A fetch that
// fails is a warning.
func (w *Watcher) saveGoroutines(ctx context.Context, kind, file string) {
	if w.pprof == nil || w.opts.Dir == "" {
		return
	}
	start := w.opts.Now()
	p, err := w.goroutineProfile(ctx)
	var buf bytes.Buffer
	if err == nil {
		err = p.Write(&buf)
	}
	path := filepath.Join(w.opts.Dir, w.opts.Prefix+file)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o755)
	}
	if err == nil {
		err = os.WriteFile(path, buf.Bytes(), 0o600)
	}
	if err != nil {
		w.warn.add("profile-"+kind, redact.Text(fmt.Sprintf("pprof: %s profile not saved: %v", kind, err)))
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.profiles = append(w.profiles, result.Profile{Kind: kind, Path: path, TS: w.ts(start), Snapshots: 1})
}
