package analyze

import (
	"fmt"

	"github.com/stampede-perf/stampede/result"
)

// Bounds of the bandwidth rules that are not settings.
const (
	bwMinPoints = 5    // fewest samples with traffic a bandwidth rule judges
	bwHighShare = 0.95 // of the ceiling, sustained: high
)

// The bandwidth rules judge the bytes the watch sampled against a
// ceiling the plan states — the disk's measured throughput (disk_mbps,
// from fio or the vendor's sheet), the network link's capacity
// (net_mbps). stampede cannot know either (a virtual disk, a shared link,
// a rate-limited cloud volume all lie about it), so without the setting
// the rules stay silent: bytes/s alone are not a problem. They complement
// disk_bound (the host's I/O wait) and disk_io (request goroutines in
// file calls), which show waiting; these show volume at the limit, which
// is why the waiting happens.
//
// "Sustained" is the median of the samples: half the run or more at the
// share bw_share (default 0.8) of the ceiling is medium, at 95% high; a
// burst — a backup, a log upload — is not enough.

// ruleDiskThroughput: the watched process reads and writes its disk at a
// sustained share of the disk's ceiling.
func ruleDiskThroughput(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	ceiling := ev.cfg["disk_mbps"] * 1e6 // B/s
	if ceiling <= 0 {
		return nil, nil
	}
	var read, write, total []float64
	for _, p := range timelineOf(ev.run) {
		read = append(read, p.ReadBPS)
		write = append(write, p.WriteBPS)
		total = append(total, p.ReadBPS+p.WriteBPS)
	}
	f, ne := bandwidthFinding(ev, total, ceiling, "disk", "the run did not watch the target's process (its disk bytes come from /proc/PID/io)", addProcess)
	if f == nil {
		return nil, ne
	}
	f.Title = fmt.Sprintf("The target moves its disk at %.0f%% of the disk's %s MB/s: %s/s read and written (median of the samples)",
		100*quantile(total, 0.5)/ceiling, num(ceiling/1e6), bytesText(quantile(total, 0.5)))
	f.Evidence = append(f.Evidence,
		result.Evidence{Metric: "process_read_median", Value: quantile(read, 0.5), Unit: "B/s", Source: "timeline"},
		result.Evidence{Metric: "process_write_median", Value: quantile(write, 0.5), Unit: "B/s", Source: "timeline"})
	f.Detail = "The disk, not the CPU, sets the pace: every request that reads or writes queues behind the others at the device. Read less (cache, smaller pages), write less (batch, compress), or give the service a faster volume."
	return []result.Finding{*f}, nil
}

// ruleNetworkBound: the host's network interfaces (loopback left out)
// carry a sustained share of the link's capacity, in one direction or
// the other (a link is full duplex).
func ruleNetworkBound(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	ceiling := ev.cfg["net_mbps"] * 1e6 / 8 // B/s
	if ceiling <= 0 {
		return nil, nil
	}
	var in, out, busier []float64
	for _, p := range timelineOf(ev.run) {
		in = append(in, p.NetInBPS)
		out = append(out, p.NetOutBPS)
		busier = append(busier, max(p.NetInBPS, p.NetOutBPS))
	}
	f, ne := bandwidthFinding(ev, busier, ceiling, "network", "the run did not watch the host (its interfaces' bytes come from /proc/net/dev)", addProcess)
	if f == nil {
		return nil, ne
	}
	dir, med := "out", quantile(out, 0.5)
	if quantile(in, 0.5) > med {
		dir, med = "in", quantile(in, 0.5)
	}
	f.Title = fmt.Sprintf("The network link runs at %.0f%% of its %s Mbit/s: %s Mbit/s %s (median of the samples)",
		100*quantile(busier, 0.5)/ceiling, num(ceiling*8/1e6), num(med*8/1e6), dir)
	f.Evidence = append(f.Evidence,
		result.Evidence{Metric: "net_in_median", Value: quantile(in, 0.5), Unit: "B/s", Source: "timeline"},
		result.Evidence{Metric: "net_out_median", Value: quantile(out, 0.5), Unit: "B/s", Source: "timeline"})
	f.Detail = "The link, not the service, limits throughput: responses queue in the network and their transfer time grows with load. Send fewer bytes (compression, smaller responses, caching at the client or a CDN) or give the host a faster link."
	return []result.Finding{*f}, nil
}

// timelineOf is the run's system timeline (nil without a watch).
func timelineOf(run *result.Run) []result.SystemPoint {
	if run.System == nil {
		return nil
	}
	return run.System.Timeline
}

// bandwidthFinding judges bytes/s samples against a ceiling in B/s: nil
// when they are too few (with why) or under bw_share of it at the median.
func bandwidthFinding(ev *evaluation, bps []float64, ceiling float64, subject, missing, add string) (*result.Finding, *result.NotEvaluated) {
	busy := 0
	for _, b := range bps {
		if b > 0 {
			busy++
		}
	}
	if busy < bwMinPoints {
		return nil, notEvaluated(fmt.Sprintf("%s: %s with traffic (at least %d are needed)", missing, plural(busy, "sample", "samples"), bwMinPoints), add)
	}
	share := ev.cfg["bw_share"]
	med := quantile(bps, 0.5)
	if med < share*ceiling {
		return nil, nil
	}
	f := &result.Finding{
		Severity: SeverityMedium,
		Subject:  subject,
		Evidence: []result.Evidence{
			{Metric: subject + "_median", Value: med, Unit: "B/s", Source: "timeline", Threshold: share * ceiling},
			{Metric: subject + "_p90", Value: quantile(bps, 0.9), Unit: "B/s", Source: "timeline"},
			{Metric: subject + "_ceiling", Value: ceiling, Unit: "B/s", Source: "analysis settings"},
		},
		Confidence: confidence(med/(share*ceiling), len(bps)),
	}
	if med >= bwHighShare*ceiling {
		f.Severity = SeverityHigh
	}
	return f, nil
}
