package analyze

import (
	"fmt"
	"math"

	"github.com/stampede-perf/stampede/result"
)

// Bounds of the I/O rules that are not settings.
const (
	ioMinPoints       = 5       // fewest host samples disk_bound judges
	ioSmallWritesBPS  = 1 << 20 // under this many bytes written per second, waiting for the disk is for syncs, not volume
	ioMinRequests     = 50      // fewest requests of a step large_responses judges
	ioMinReceiveMS    = 1.0     // a receive phase shorter than this is no transfer cost
	ioHighWaitFactor  = 2       // io_wait_percent × this, with the target's own disk traffic: high
	ioMinTargetIOFrac = 0.5     // … in at least this share of the samples
)

// ruleDiskBound: the host spends a sustained share of its CPU time
// waiting for disk I/O (iowait, the median of the watch's samples: half
// the run or more) above io_wait_percent (default 20%); a burst — a
// checkpoint, a log rotation — is not enough. Medium; high at twice
// the threshold when the watched process itself read or wrote the disk
// in most samples (the waiting is the target's, not a neighbour's).
// When the process wrote little (under 1 MiB/s) while the host waited,
// the waiting is for synchronous writes (fsync) rather than volume, and
// the finding says so. Disk bytes/s alone are never judged: stampede
// does not know the device's ceiling, so it claims no "near the limit".
func ruleDiskBound(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	sys := ev.run.System
	if sys == nil || len(sys.Timeline) == 0 {
		return nil, notEvaluated("the run did not watch the host (I/O wait comes from /proc/stat)", addProcess)
	}
	var waits, writes []float64
	hostSamples, targetIO := 0, 0
	for _, p := range sys.Timeline {
		if p.HostCPU <= 0 && p.HostIOWait <= 0 {
			continue // no host reading in this sample
		}
		hostSamples++
		waits = append(waits, p.HostIOWait)
		writes = append(writes, p.WriteBPS)
		if p.ReadBPS+p.WriteBPS > 0 {
			targetIO++
		}
	}
	if hostSamples < ioMinPoints {
		return nil, notEvaluated(fmt.Sprintf("the watch read the host %s (at least %d are needed)", plural(hostSamples, "time", "times"), ioMinPoints), addProcess)
	}
	limit := ev.cfg["io_wait_percent"]
	med := quantile(waits, 0.5)
	if med <= limit {
		return nil, nil
	}
	ratio := ratioOver(med, limit)
	f := result.Finding{
		Severity: SeverityMedium,
		Subject:  "disk",
		Title:    fmt.Sprintf("The host waits for its disks: I/O wait %s%% of CPU time (median of the samples)", num(med)),
		Evidence: []result.Evidence{
			{Metric: "host_iowait_median", Value: med, Unit: "%", Source: "timeline", Threshold: limit},
			{Metric: "host_iowait_max", Value: quantile(waits, 1), Unit: "%", Source: "timeline"},
			{Metric: "target_disk_samples", Value: float64(targetIO), Source: "timeline", Note: fmt.Sprintf("of %d samples with the process reading or writing", hostSamples)},
		},
		Confidence: confidence(ratio, hostSamples),
	}
	ownIO := float64(targetIO) >= ioMinTargetIOFrac*float64(hostSamples)
	if ownIO && ratio >= ioHighWaitFactor {
		f.Severity = SeverityHigh
	}
	meanWrite := mean(writes)
	f.Evidence = append(f.Evidence, result.Evidence{Metric: "process_write_mean", Value: meanWrite, Unit: "B/s", Source: "timeline"})
	switch {
	case ownIO && meanWrite > 0 && meanWrite < ioSmallWritesBPS:
		f.Detail = fmt.Sprintf("The process writes little (%s/s on average) yet the host waits for the disk: small synchronous writes — fsync on every commit or log line — are the likely cause.", bytesText(meanWrite))
	case ownIO:
		f.Detail = "Requests wait for the disk: the process reads or writes while the host's CPUs sit idle waiting for I/O."
	default:
		f.Detail = "The host waits for its disks, but the watched process barely touches them: another process on the host (or swapping) may be what slows the target."
	}
	return []result.Finding{f}, nil
}

// ruleLargeResponses: a step's responses are big enough that moving
// them takes most of the response time — the receive phase (first byte
// to last) is at least receive_share (default 0.5) of time to first
// byte plus receive, and the step's responses average response_kib
// (default 64 KiB) or more (summary bytes_in over requests). Medium when
// receiving takes half the step's whole mean latency, else low: never
// high, since a large page may be what was asked for.
func ruleLargeResponses(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	run := ev.run
	share, minKiB := ev.cfg["receive_share"], ev.cfg["response_kib"]
	var out []result.Finding
	judged := 0
	for i := range run.Steps {
		s := &run.Steps[i]
		if s.Kind == "sql" || s.Requests < ioMinRequests {
			continue
		}
		judged++
		t := s.Phases
		if t.Receive < ioMinReceiveMS || t.TTFB+t.Receive <= 0 || s.BytesIn <= 0 {
			continue
		}
		got := t.Receive / (t.TTFB + t.Receive)
		perResp := float64(s.BytesIn) / float64(s.Requests)
		if got < share || perResp < minKiB*1024 {
			continue
		}
		subject := s.Scenario + "/" + s.Step
		f := result.Finding{
			Severity: SeverityLow,
			Subject:  subject,
			Title: fmt.Sprintf("Responses of %s are large (%s each): receiving them takes %s ms of %s ms",
				subject, bytesText(perResp), num(t.Receive), num(t.TTFB+t.Receive)),
			Detail: "Transfer, not processing, is most of this step's time: compress the responses, page or trim them, or cache them nearer the clients.",
			Evidence: []result.Evidence{
				{Metric: "receive_share", Value: got, Source: "step " + subject, Threshold: share},
				{Metric: "bytes_per_response", Value: perResp, Unit: "B", Source: "step " + subject, Threshold: minKiB * 1024},
				{Metric: "receive_mean", Value: t.Receive, Unit: "ms", Source: "step " + subject},
				{Metric: "ttfb_mean", Value: t.TTFB, Unit: "ms", Source: "step " + subject},
			},
			Confidence: confidence(math.Min(got/share, perResp/(minKiB*1024)), int(min(s.Requests, math.MaxInt32))),
		}
		if s.Latency.Mean > 0 && t.Receive >= 0.5*s.Latency.Mean {
			f.Severity = SeverityMedium
		}
		out = append(out, f)
	}
	if judged == 0 {
		return nil, notEvaluated(fmt.Sprintf("the run has no HTTP step with %d or more requests (the receive phase comes from their traces)", ioMinRequests),
			"scenarios: [ { steps: [ { path: / } ] } ]")
	}
	return out, nil
}

// bytesText prints a size in B, KiB, MiB or GiB.
func bytesText(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}
