package analyze

import (
	"math/rand/v2"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// ioTimeline is n host samples with I/O wait around wait % and the
// process writing about write bytes/s.
func ioTimeline(n int, wait, write float64) []result.SystemPoint {
	tl := make([]result.SystemPoint, n)
	for i := range tl {
		tl[i] = result.SystemPoint{TS: float64(i), CPUPercent: 40, HostCPU: 50, HostIOWait: wait, WriteBPS: write, HostMemPct: 40}
	}
	return tl
}

// noisyTimeline draws n samples of a host whose I/O wait is exponential
// around waitMean with bursts, and whose process writes in most samples.
func noisyTimeline(rng *rand.Rand, n int, waitMean, write float64, burstProb float64) []result.SystemPoint {
	tl := make([]result.SystemPoint, n)
	for i := range tl {
		w := rng.ExpFloat64() * waitMean
		if rng.Float64() < burstProb {
			w += 30 + 50*rng.Float64() // a checkpoint, a log rotation
		}
		tl[i] = result.SystemPoint{TS: float64(i), CPUPercent: 30 + 20*rng.Float64(), HostCPU: 40 + 20*rng.Float64(),
			HostIOWait: min(w, 100), WriteBPS: write * (0.5 + rng.Float64()), HostMemPct: 50}
	}
	return tl
}

func ioFindings(t *testing.T, rule func(*evaluation) ([]result.Finding, *result.NotEvaluated), run *result.Run) []result.Finding {
	t.Helper()
	fs, ne := rule(&evaluation{run: run, cfg: settingsFrom(nil)})
	if ne != nil {
		t.Fatalf("not evaluated: %s", ne.Reason)
	}
	return fs
}

// TestDiskBoundPopulations: healthy hosts (I/O wait a few percent, with
// the odd burst of a checkpoint) give no medium or high finding; hosts
// that wait for their disks most of the time give one nearly always,
// high only when the wait is far past the threshold and the process
// does the I/O; small writes with much waiting are called syncs.
func TestDiskBoundPopulations(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const count = 500
	var healthy, loud, fired, high, fsync, neighbours int
	for range count {
		n := 10 + rng.IntN(120)
		tl := noisyTimeline(rng, n, 1+4*rng.Float64(), float64(rng.IntN(50<<20)), 0.1)
		for _, f := range ioFindings(t, ruleDiskBound, &result.Run{System: &result.System{Timeline: tl}}) {
			healthy++
			if f.Severity != SeverityLow {
				loud++
			}
		}
	}
	for range count {
		n := 10 + rng.IntN(120)
		write := float64(rng.IntN(8 << 20))
		tl := noisyTimeline(rng, n, 40+40*rng.Float64(), write, 0.1)
		for _, f := range ioFindings(t, ruleDiskBound, &result.Run{System: &result.System{Timeline: tl}}) {
			fired++
			if f.Severity == SeverityHigh {
				high++
			}
			if write < ioSmallWritesBPS/2 && !contains(f.Detail, "fsync") {
				t.Errorf("%.0f B/s written with I/O wait: %q", write, f.Detail)
			}
			if contains(f.Detail, "fsync") {
				fsync++
			}
		}
	}
	// The target does no disk I/O while the host waits: never high.
	for range count / 5 {
		tl := noisyTimeline(rng, 60, 60, 0, 0)
		for _, f := range ioFindings(t, ruleDiskBound, &result.Run{System: &result.System{Timeline: tl}}) {
			if f.Severity == SeverityHigh || !contains(f.Detail, "another process") {
				t.Errorf("waiting not the target's: %s %q", f.Severity, f.Detail)
			}
			neighbours++
		}
	}
	t.Logf("healthy: %d findings (%d medium or high) of %d; disk-bound: %d of %d (%d high, %d named fsync); a neighbour's I/O: %d of %d",
		healthy, loud, count, fired, count, high, fsync, neighbours, count/5)
	if loud > 0 {
		t.Errorf("%d medium or high findings on healthy hosts", loud)
	}
	if fired < count*95/100 {
		t.Errorf("disk-bound hosts: found %d of %d", fired, count)
	}
	// An old run, or a host without iowait in /proc/stat: nothing claimed.
	tl := ioTimeline(60, 0, 200<<20)
	if fs := ioFindings(t, ruleDiskBound, &result.Run{System: &result.System{Timeline: tl}}); len(fs) != 0 {
		t.Errorf("bytes/s alone (no ceiling known) made a finding: %+v", fs)
	}
}

// TestLargeResponsesPopulations: steps with small responses, or large
// ones whose time goes to the server's work, give no finding; steps
// whose large bodies take most of the time give one, never high.
func TestLargeResponsesPopulations(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	const count = 500
	step := func(reqs int64, perResp, ttfb, receive float64) result.StepResult {
		return result.StepResult{Scenario: "s", Step: "get", Kind: "http", Requests: reqs, BytesIn: int64(perResp * float64(reqs)),
			Latency: result.Latency{Mean: ttfb + receive + 0.5}, Phases: result.Timing{Connect: 0.1, TTFB: ttfb, Receive: receive}}
	}
	var quiet, loud, fired int
	for range count {
		reqs := int64(50 + rng.IntN(10000))
		var s result.StepResult
		switch rng.IntN(3) {
		case 0: // small JSON, any timing
			s = step(reqs, 200+rng.Float64()*30000, 1+rng.Float64()*100, rng.Float64()*5)
		case 1: // large, but the server's work dominates
			s = step(reqs, 100e3+rng.Float64()*5e6, 50+rng.Float64()*200, rng.Float64()*40)
		default: // loopback: large bodies arrive in well under a millisecond
			s = step(reqs, 64e3+rng.Float64()*1e6, 1+rng.Float64()*10, rng.Float64()*0.9)
		}
		for _, f := range ioFindings(t, ruleLargeResponses, &result.Run{Steps: []result.StepResult{s}}) {
			quiet++
			if f.Severity != SeverityLow {
				loud++
			}
		}
	}
	for range count {
		ttfb := 1 + rng.Float64()*30
		s := step(int64(50+rng.IntN(10000)), 128e3+rng.Float64()*10e6, ttfb, ttfb*(1.1+5*rng.Float64()))
		for _, f := range ioFindings(t, ruleLargeResponses, &result.Run{Steps: []result.StepResult{s}}) {
			fired++
			if f.Severity == SeverityHigh {
				t.Errorf("a high finding for large responses: %s", f.Title)
			}
		}
	}
	t.Logf("healthy steps: %d findings (%d medium or high) of %d; transfer-bound: %d of %d", quiet, loud, count, fired, count)
	if loud > 0 || quiet > count/50 {
		t.Errorf("healthy steps: %d findings, %d medium or high", quiet, loud)
	}
	if fired != count {
		t.Errorf("transfer-bound steps: found %d of %d", fired, count)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
