package suite

import (
	"context"
	"fmt"
	"maps"
	"os"

	"github.com/stampede-perf/stampede/internal/devprobe"
	"github.com/stampede-perf/stampede/result"
)

// The protocol's first step, before any load, fills the device ceilings
// the bandwidth rules need (analysis: disk_mbps, net_mbps) when the plan
// watches the system and does not state them: the disk's is measured
// (devprobe.DiskWrite in the temporary directory, a few seconds and a
// few tens of MB), the network's is left unknown — a target on loopback
// crosses no link. The Run records each ceiling with its source, and its
// analysis settings carry the measured one, so a report made later
// concludes the same way.

// measureCeilings sets pr.ceil and pr.cfg.
func (pr *protocol) measureCeilings(ctx context.Context) {
	p := pr.p
	pr.cfg = p.Analysis
	if p.System == nil {
		return
	}
	c := &result.Ceilings{}
	if v := p.Analysis["net_mbps"]; v > 0 {
		c.NetMbps, c.NetSource = v, "plan"
	}
	if v := p.Analysis["disk_mbps"]; v > 0 {
		c.DiskMBps, c.DiskSource = v, "plan"
	} else {
		pr.report(Progress{Detail: "measuring the disk's write throughput"})
		d, err := devprobe.DiskWrite(ctx, os.TempDir(), devprobe.MaxBytes, devprobe.MaxTime, nil) // the device's own time
		if err != nil {
			pr.warn(fmt.Sprintf("the disk's ceiling is unknown (%v): disk_throughput is not judged; set analysis: { disk_mbps: … }", err))
		} else {
			c.DiskMBps, c.DiskSource = round3(d.MBps), "measured"
			c.DiskDir, c.DiskBytes, c.DiskSeconds = d.Dir, d.Bytes, round3(d.Seconds)
			pr.cfg = maps.Clone(p.Analysis)
			if pr.cfg == nil {
				pr.cfg = map[string]float64{}
			}
			pr.cfg["disk_mbps"] = c.DiskMBps
		}
	}
	if *c != (result.Ceilings{}) {
		pr.ceil = c
	}
}
