package result

// Ceilings are the device ceilings the bandwidth rules judged against,
// each with its source: "plan" (analysis: disk_mbps / net_mbps) or
// "measured" (a short probe before the test; see internal/devprobe).
type Ceilings struct {
	DiskMBps   float64 `json:"disk_mbps,omitempty"`
	DiskSource string  `json:"disk_source,omitempty"`
	// DiskDir is where the probe wrote, and DiskBytes and DiskSeconds
	// what it wrote and how long that took, syncs included.
	DiskDir string `json:"disk_dir,omitempty"`
	// DiskDirFrom says why there: "system.disk" (the plan's), "process
	// cwd" (the watched process's working directory) or "temporary
	// directory".
	DiskDirFrom string  `json:"disk_dir_from,omitempty"`
	DiskBytes   int64   `json:"disk_bytes,omitempty"`
	DiskSeconds float64 `json:"disk_seconds,omitempty"`
	NetMbps     float64 `json:"net_mbps,omitempty"`
	NetSource   string  `json:"net_source,omitempty"`
}
