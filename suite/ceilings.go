package suite

import (
	"context"
	"fmt"
	"maps"
	"os"

	"github.com/stampede-perf/stampede/internal/devprobe"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/watch"
)

// Before any load, the device ceilings the bandwidth rules need
// (analysis: disk_mbps, net_mbps) are filled when the plan watches the
// system and does not state them: the disk's is measured
// (devprobe.DiskWrite, a few seconds and a few tens of MB) on the device
// that holds the service's files — in system.disk when the plan names
// it, else in the watched process's working directory (/proc/PID/cwd),
// else in the temporary directory — once per device for the run
// (devprobe.Cache); the network's is left unknown — a target on loopback
// crosses no link. The protocol measures before its first phase
// (`stampede test`); a single load (`stampede run`, LoadOptions.ProbeDisk)
// when the plan watches a process, whose disk reads and writes the
// watch samples. The Run records each ceiling with its source and where
// it was probed, and its analysis settings carry the measured one, so a
// report made later concludes the same way.

// diskDir is where the disk's ceiling of the system sys watches is
// probed, and why there.
func diskDir(sys *plan.System) (dir, from string, err error) {
	switch {
	case sys.Disk != "":
		return sys.Disk, "system.disk", nil
	case sys.Process != nil:
		d, err := watch.ProcessDir(sys.Process)
		if err != nil {
			return "", "", fmt.Errorf("cannot read the watched process's working directory: %w", err)
		}
		return d, "process cwd", nil
	}
	return os.TempDir(), "temporary directory", nil
}

// deviceCeilings are the ceilings of p's run and its analysis settings
// with the measured ones added; warn is told what could not be measured.
// Nil ceilings when the plan watches nothing.
func deviceCeilings(ctx context.Context, p *plan.Plan, disks *devprobe.Cache, report func(string), warn func(string)) (*result.Ceilings, map[string]float64) {
	cfg := p.Analysis
	if p.System == nil {
		return nil, cfg
	}
	c := &result.Ceilings{}
	if v := p.Analysis["net_mbps"]; v > 0 {
		c.NetMbps, c.NetSource = v, "plan"
	}
	if v := p.Analysis["disk_mbps"]; v > 0 {
		c.DiskMBps, c.DiskSource = v, "plan"
	} else if dir, from, err := diskDir(p.System); err != nil {
		warn(fmt.Sprintf("the disk's ceiling is unknown (%v): disk_throughput is not judged; set system: { disk: DIR } (a directory on the service's disk) or analysis: { disk_mbps: … }", err))
	} else {
		report(fmt.Sprintf("measuring the write throughput of the disk of %s (%s)", dir, from))
		d, err := disks.DiskWrite(ctx, dir)
		if err != nil {
			warn(fmt.Sprintf("the disk's ceiling is unknown (%v, in %s, the %s): disk_throughput is not judged; set system: { disk: DIR } (a writable directory on the service's disk) or analysis: { disk_mbps: … }", err, dir, from))
		} else {
			c.DiskMBps, c.DiskSource = round3(d.MBps), "measured"
			c.DiskDir, c.DiskDirFrom, c.DiskBytes, c.DiskSeconds = d.Dir, from, d.Bytes, round3(d.Seconds)
			cfg = maps.Clone(p.Analysis)
			if cfg == nil {
				cfg = map[string]float64{}
			}
			cfg["disk_mbps"] = c.DiskMBps
		}
	}
	if *c == (result.Ceilings{}) {
		return nil, cfg
	}
	return c, cfg
}

// measureCeilings sets pr.ceil and pr.cfg.
func (pr *protocol) measureCeilings(ctx context.Context) {
	pr.ceil, pr.cfg = deviceCeilings(ctx, pr.p, &pr.disks, func(s string) { pr.report(Progress{Detail: s}) }, pr.warn)
}

// probedCeilings are a single load's ceilings (LoadOptions.ProbeDisk):
// measured when the plan watches a process, whose disk I/O the watch
// samples; the warnings go into the run.
func probedCeilings(ctx context.Context, p *plan.Plan, o LoadOptions) (*result.Ceilings, map[string]float64, []string) {
	if !o.ProbeDisk || p.System == nil || p.System.Process == nil {
		return nil, p.Analysis, nil
	}
	disks := o.Disks
	if disks == nil {
		disks = &devprobe.Cache{}
	}
	var warns []string
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	c, cfg := deviceCeilings(ctx, p, disks, func(s string) { logf("%s", s) }, func(s string) { warns = append(warns, s) })
	return c, cfg, warns
}
