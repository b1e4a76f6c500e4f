package watch

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/result"
)

const (
	// profileTimeout bounds a heap, mutex or block profile request; a heap
	// profile with gc=1 of a large heap takes a while.
	profileTimeout = 30 * time.Second
	maxProfile     = 256 << 20
)

// pprofSource is a Go program's /debug/pprof endpoint.
type pprofSource struct {
	base   string // with no trailing slash
	client *http.Client
}

// get fetches base+rel and returns the response for a 200 answer.
func (s *pprofSource) get(ctx context.Context, rel string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+rel, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// goroutines reads the count from the first line of the text goroutine
// profile, "goroutine profile: total N".
func (s *pprofSource) goroutines(ctx context.Context) (int, error) {
	resp, err := s.get(ctx, "/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(io.LimitReader(resp.Body, 4096)).ReadString('\n')
	if err != nil && line == "" {
		return 0, err
	}
	// Drain a little so that the connection can be reused; a large dump is
	// cut off instead.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 256<<10))
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("unexpected first line %q", line)
	}
	return strconv.Atoi(rest)
}

// goroutineSampler counts a Go target's goroutines through pprof, for
// targets whose Prometheus endpoint does not give go_goroutines.
type goroutineSampler struct {
	src     *pprofSource
	timeout time.Duration
	ts      func(time.Time) float64
}

var _ sampler = (*goroutineSampler)(nil)

func (g *goroutineSampler) sample(ctx context.Context, now time.Time, pt *result.SystemPoint) error {
	if pt.Goroutines > 0 { // Prometheus, sampled before, gave it
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	n, err := g.src.goroutines(ctx)
	if err != nil {
		return warnf("pprof-goroutines", "pprof: cannot count goroutines at %s at %.1f s: %v", g.src.base, g.ts(now), err)
	}
	pt.Goroutines = float64(n)
	return nil
}

// takeProfile fetches one profile and saves it under Dir as
// Prefix+file. A fetch that fails is a warning. When onlyWithSamples is set
// (mutex, block), a profile whose samples are all zero is not saved: the
// program did not enable that profile, or nothing waited. dur is how long
// a CPU profile runs; zero means the fetch has its own timeout.
func (w *Watcher) takeProfile(ctx context.Context, kind, file, rel string, dur time.Duration, onlyWithSamples bool) {
	if w.pprof == nil || w.opts.Dir == "" {
		return
	}
	start := w.opts.Now()
	timeout := profileTimeout
	if dur > 0 {
		timeout = dur + profileTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path := filepath.Join(w.opts.Dir, w.opts.Prefix+file)
	saved, err := w.saveProfile(ctx, rel, path, onlyWithSamples)
	if err != nil {
		w.warn.add("profile-"+kind, redact.Text(fmt.Sprintf("pprof: %s profile not saved: %v", kind, err)))
		return
	}
	if !saved {
		return
	}
	w.opts.Logf("watch: %s profile saved to %s", kind, path)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.profiles = append(w.profiles, result.Profile{Kind: kind, Path: path, TS: w.ts(start), DurationS: dur.Seconds()})
}

// fetch reads base+rel whole, refusing more than limit bytes.
func (s *pprofSource) fetch(ctx context.Context, rel string, limit int) ([]byte, error) {
	resp, err := s.get(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("larger than %d MB", limit/mb)
	}
	return data, nil
}

func (w *Watcher) saveProfile(ctx context.Context, rel, path string, onlyWithSamples bool) (bool, error) {
	data, err := w.pprof.fetch(ctx, rel, maxProfile)
	if err != nil {
		return false, err
	}
	p, err := profile.ParseData(data)
	if err != nil {
		return false, fmt.Errorf("not a profile: %w", err)
	}
	if onlyWithSamples && !hasSamples(p) {
		return false, nil
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b { // not gzipped: re-encode
		var buf bytes.Buffer
		if err := p.Write(&buf); err != nil {
			return false, err
		}
		data = buf.Bytes()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return false, err
	}
	return true, nil
}

func hasSamples(p *profile.Profile) bool {
	for _, s := range p.Sample {
		for _, v := range s.Value {
			if v != 0 {
				return true
			}
		}
	}
	return false
}
